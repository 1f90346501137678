"""The trial evaluation report as PDF (issue 12, part 7): the same sections and plots as report.html.

Made with fpdf2 (pure Python, no system libraries, so it works wherever the rest does); the text font
is the DejaVu Sans that matplotlib ships (it has £, –, ≤ and ×, which the PDF core fonts lack) and the
plots are the report's matplotlib figures as PNG. Its creation date is the app's clock
(:func:`rasure_web.clock.now`).
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from rasure.trial.evaluation import EvaluationReport
from rasure_web import clock

__all__ = ["write_report_pdf"]

_BLUE = (31, 78, 121)


def _fmt(x: float | None, spec: str = ".3f") -> str:
    return "–" if x is None else format(x, spec)


class _Doc:
    def __init__(self, title: str) -> None:
        import matplotlib
        from fpdf import FPDF

        fonts = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
        pdf = FPDF(format="A4")
        pdf.set_creation_date(clock.now())
        pdf.set_title(f"{title}: evaluation")
        pdf.set_creator("Rasure")
        pdf.add_font("DejaVu", "", str(fonts / "DejaVuSans.ttf"))
        pdf.add_font("DejaVu", "B", str(fonts / "DejaVuSans-Bold.ttf"))
        pdf.add_font("DejaVuMono", "", str(fonts / "DejaVuSansMono.ttf"))
        pdf.set_auto_page_break(auto=True, margin=15)
        pdf.set_margins(15, 15, 15)
        pdf.add_page()
        self.pdf = pdf

    def heading(self, text: str, size: int = 13, *, keep_with: float = 25) -> None:
        """A section heading; a new page first when fewer than ``keep_with`` mm would follow it."""
        if self.pdf.will_page_break(size * 0.5 + 4 + keep_with):
            self.pdf.add_page()
        self.pdf.ln(3)
        self.pdf.set_font("DejaVu", "B", size)
        self.pdf.multi_cell(0, size * 0.5, text, align="L", new_x="LMARGIN", new_y="NEXT")
        self.pdf.ln(1)

    def para(self, text: str, *, bold: bool = False, size: float = 9, mono: bool = False) -> None:
        self.pdf.set_font("DejaVuMono" if mono else "DejaVu", "B" if bold else "", size)
        self.pdf.multi_cell(0, size * 0.5, text, new_x="LMARGIN", new_y="NEXT")
        self.pdf.ln(1)

    def table(
        self, header: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[int] | None = None
    ) -> None:
        from fpdf.fonts import FontFace

        self.pdf.set_font("DejaVu", "", 7.5)
        style = FontFace(emphasis="BOLD", color=(255, 255, 255), fill_color=_BLUE)
        with self.pdf.table(
            col_widths=tuple(widths) if widths else None,
            headings_style=style,
            line_height=4,
            text_align="LEFT",
        ) as table:
            for values in [header, *rows]:
                row = table.row()
                for v in values:
                    row.cell(v)
        self.pdf.ln(2)

    def figure(self, fig: Any, caption: str) -> None:
        import matplotlib.pyplot as plt

        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=150, bbox_inches="tight")
        width, height = fig.get_size_inches()
        plt.close(fig)
        buf.seek(0)
        w = min(self.pdf.epw, width * 25.4)
        if self.pdf.will_page_break(w * height / width + 10):
            self.pdf.add_page()
        self.pdf.image(buf, w=w)
        self.para(caption, size=8)


def write_report_pdf(
    report: EvaluationReport, panel: pd.DataFrame, *, path: str | Path, title: str, synthetic: bool = False
) -> Path:
    """Write the report as a PDF to ``path``: plan, results, CONSORT flow, displacement, patrol time
    (observational), cost–benefit, plots and notes, as in report.html."""
    from rasure_web.trials.evaluation import KOPER_HEADER, bau_rows, koper_rows, koper_text, report_figures

    doc = _Doc(title)
    doc.heading(f"{title}: evaluation", size=16)
    if synthetic:
        doc.para("SYNTHETIC trial: demonstration data.", bold=True)

    doc.heading("Analysis plan")
    doc.para(
        "The analysis plan was pre-registered: it is part of the trial's published commitment."
        if report.pre_registered
        else "NOT pre-registered. The plan below was applied at evaluation time (Rasure's default plan); "
        "treat the results accordingly.",
        bold=not report.pre_registered,
    )
    doc.para(json.dumps(report.plan, separators=(", ", ": ")), mono=True, size=7)

    doc.heading("Results (intention to treat)")
    doc.table(
        [
            "Outcome",
            "Estimand",
            "Estimate",
            "95 % CI",
            "% change",
            "p (model)",
            "p (randomisation)",
            "Place-days",
        ],
        [
            [
                o.name,
                o.estimand,
                _fmt(o.estimate),
                f"{_fmt(o.ci_low)} to {_fmt(o.ci_high)}",
                _fmt(o.percent_change, "+.1f"),
                _fmt(o.p_value, ".4f"),
                _fmt(o.p_randomisation, ".4f"),
                f"{o.n_place_days:,}",
            ]
            for o in report.outcomes
        ],
        widths=(34, 16, 16, 28, 16, 16, 28, 26),
    )
    doc.para(
        "IRR: incidence-rate ratio; RR: risk ratio (any serious violence on the place-day); RoM: ratio of "
        "means (harm). A ratio below 1 means less in treated place-days. Methods: "
        + "; ".join(f"{o.name}: {o.method}" for o in report.outcomes)
        + ".",
        size=8,
    )

    c = report.consort
    if c is not None:

        def n(x: Any) -> str:
            return "no patrol data" if x is None else f"{x:,}"

        known = c.get("outcome_known", {})
        doc.heading("Flow of place-days (CONSORT)")
        doc.table(
            ["", "Treatment", "Control"],
            [
                ["Allocated", f"{c['allocated']['treatment']:,}", f"{c['allocated']['control']:,}"],
                ["Outcome known (analysed)", n(known.get("treatment")), n(known.get("control"))],
                [f"Target dose reached ({c['target_minutes']:g} min)", n(c["treated_full_dose"]), "–"],
                ["Some patrol, below target", n(c["treated_partial_dose"]), "–"],
                ["No recorded patrol", n(c["treated_no_dose"]), "–"],
                ["Visited although control (contamination)", "–", n(c["control_visited"])],
                *bau_rows(c.get("bau")),
            ],
            widths=(80, 50, 50),
        )

    doc.heading("Displacement and diffusion")
    rings = [r for r in report.displacement or [] if r["computed"]]
    if rings:
        rows = []
        for r in rings:
            irr = r.get("buffer_irr") or {}
            rows.append(
                [
                    f"{r['ring_m'][0]}–{r['ring_m'][1]} m",
                    f"{r['buffer_crimes']['treatment']:,.0f} ({_fmt(r['buffer_mean']['treatment'])})",
                    f"{r['buffer_crimes']['control']:,.0f} ({_fmt(r['buffer_mean']['control'])})",
                    f"{_fmt(irr.get('estimate'))} ({_fmt(irr.get('ci_low'))} to {_fmt(irr.get('ci_high'))})",
                    _fmt(irr.get("p_value"), ".4f"),
                    _fmt(r["wdq"], ".2f"),
                    _fmt(r["total_net_effect"], ",.1f"),
                    r["interpretation"],
                ]
            )
        doc.table(
            [
                "Ring",
                "Treated days (per place-day)",
                "Control days (per place-day)",
                "IRR (95 % CI)",
                "p",
                "WDQ",
                "Net prevented",
                "Reading",
            ],
            rows,
            widths=(16, 22, 22, 30, 12, 11, 21, 46),
        )
        doc.para(
            "Serious violence in rings around each hot spot (distance from its edge), outside every hot spot "
            "of the trial. WDQ: weighted displacement quotient (Bowers & Johnson 2003) with control place-days "
            "as 'before' and treated place-days as 'after'; above 0 diffusion of benefit, below 0 displacement, "
            "below −1 displacement larger than the gain.",
            size=8,
        )
    else:
        doc.para("Not computed: the panel has no buffer counts (exported before they existed).")

    doc.heading("Patrol time and crime (observational)")
    dr = report.dose_response
    if dr is None or not dr["computed"]:
        doc.para(f"Not computed: {'not computed' if dr is None else dr['reason']}")
    else:
        doc.para(
            "Exploratory and observational. How long officers stayed was not randomised, and this analysis is "
            "not in the plan: it shows an association, not the effect of patrol.",
            bold=True,
        )

        def cell(x: dict[str, Any]) -> str:
            return f"{x['place_days']:,} ({_fmt(x['mean'])})"

        doc.table(
            ["Presence on the day", "Treatment: place-days (mean)", "Control: place-days (mean)"],
            [[b["band"], cell(b["treatment"]), cell(b["control"])] for b in dr["bands"]],
            widths=(60, 60, 60),
        )
        doc.para(
            f"Rate ratio per {dr['per_minutes']:g} more minutes of recorded presence, same place, weekday and "
            f"arm: {_fmt(dr['rate_ratio'])} (95 % CI {_fmt(dr['ci_low'])} to {_fmt(dr['ci_high'])}, "
            f"p {_fmt(dr['p_value'], '.4f')}; {dr['n_place_days']:,} place-days)."
        )

    doc.heading("Time to the next crime after a patrol (Koper curve, observational)")
    k = report.koper
    lead, note = koper_text(k)
    computed = k is not None and bool(k.get("computed"))
    doc.para(lead, bold=computed)
    if k is not None and computed:
        doc.table(KOPER_HEADER, koper_rows(k), widths=(24, 13, 18, 18, 16, 16, 21, 54))
        doc.para(note, size=8)

    cb = report.cost_benefit
    doc.heading("Cost–benefit (primary estimate)")
    if cb is None:
        doc.para("Not computed: no primary estimate.")
    else:
        doc.para(
            f"Crimes prevented: {cb['prevented']:,.1f} (95 % CI {cb['prevented_low']:,.1f} to "
            f"{cb['prevented_high']:,.1f}); benefit £{cb['benefit']:,.0f}; patrol cost £{cb['cost']:,.0f} "
            f"({cb['patrol_hours']:,.1f} patrol hours); benefit–cost ratio {cb['bcr']:.2f} (interval "
            f"{cb['bcr_low']:.2f} to {cb['bcr_high']:.2f}). A negative number of crimes prevented means more "
            "crime in treated place-days."
        )
        doc.table(
            ["Hourly cost", "Cost per crime", "BCR"],
            [
                [f"{r['hour_cost_factor']:g}×", f"{r['crime_cost_factor']:g}×", f"{r['bcr']:.2f}"]
                for r in cb["sensitivity"]
            ],
            widths=(60, 60, 60),
        )
        doc.para("Assumptions ([U] = unverified default, configurable):", size=8)
        for a in cb["assumptions"]:
            doc.para(f"• {a}", size=8)

    figures = report_figures(report, panel)
    if figures:
        first = figures[0][1].get_size_inches()
        doc.heading("Plots", keep_with=min(doc.pdf.epw, first[0] * 25.4) * first[1] / first[0] + 10)
        for caption, fig in figures:
            doc.figure(fig, caption)

    doc.heading("Notes")
    for note in [*report.notes, *(f"{o.name}: {n}" for o in report.outcomes for n in o.notes)]:
        doc.para(f"• {note}", size=8)

    out = Path(path)
    doc.pdf.output(str(out))
    return out
