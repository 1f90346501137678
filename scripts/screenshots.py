"""Take a screenshot of every screen at phone size (390 × 844) and desktop size (1440 × 900).

    .venv/bin/python scripts/screenshots.py               # seed a fresh demo, serve it, shoot, stop it
    .venv/bin/python scripts/screenshots.py --base http://127.0.0.1:8000   # against a running `rasure demo`

Every screen goes to ``var/screenshots/all/<screen>-<phone|desktop>.png`` (full page) to be looked at;
the few kept in the repository (``KEEP`` below) are copied to ``docs/screenshots/`` as palette PNGs
(256 colours, Pillow) so the repository stays small. The data is the demo's synthetic city (invented
crimes and people); the demo users sign in with their published demo passwords.

Real headless Chromium (Debian's /usr/bin/chromium, or RASURE_CHROMIUM), driven by Playwright. Requests
to other hosts (map tiles, maps apps) are answered empty so the pictures do not depend on the network.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RASURE = Path(sys.executable).with_name("rasure")
CHROMIUM = os.environ.get("RASURE_CHROMIUM", "/usr/bin/chromium")
SIZES: dict[str, dict[str, Any]] = {
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "device_scale_factor": 1,
        "is_mobile": True,
        "has_touch": True,
    },
    "desktop": {"viewport": {"width": 1440, "height": 900}, "device_scale_factor": 1},
}
# (screen, size) pairs copied to docs/screenshots/ as <screen>-<size>.png
KEEP = [
    ("sign-in", "phone"),
    ("overview", "desktop"),
    ("overview", "phone"),
    ("map", "desktop"),
    ("hotspot", "phone"),
    ("briefing-sheet", "desktop"),
    ("trial", "desktop"),
    ("trial-results", "phone"),
    ("imports", "desktop"),
    ("institution", "desktop"),
    ("people-monitor", "phone"),
    ("patrol-monitoring", "desktop"),
    ("partner-portal", "desktop"),
    ("delivery", "desktop"),
    ("patrol-list", "phone"),
    ("patrol-briefing", "phone"),
    ("patrol-visit", "phone"),
    ("patrol-form", "phone"),
    ("patrol-recorded", "phone"),
    ("patrol-offline", "phone"),
    ("refused-403", "phone"),
    ("refused-403", "desktop"),
    ("locked-out", "phone"),
    ("not-found-404", "desktop"),
]


# What a look at the picture would catch, measured in the page: the page wider than the screen (and the
# outermost elements that stick out), chart labels drawn under 12 px (an SVG scales its text with it), no
# h1, no main landmark, and in the patrol app at phone size tap targets under 44 × 44 CSS px (inline text
# links excepted).
PROBLEMS = """(patrol) => {
  const out = [];
  const vw = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth > vw + 1) {
    const wide = [...document.querySelectorAll('body *')].filter((el) => {
      const r = el.getBoundingClientRect();
      if (r.right <= vw + 1 || r.width === 0) return false;
      for (let p = el.parentElement; p; p = p.parentElement) {
        if (p.scrollWidth > p.clientWidth + 1 && getComputedStyle(p).overflowX !== 'visible') return false;
      }
      return !el.parentElement || el.parentElement.getBoundingClientRect().right <= vw + 1;
    });
    const name = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
      + (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
    out.push(`page ${document.documentElement.scrollWidth} px wide on a ${vw} px screen: `
      + wide.slice(0, 5).map(name).join(', '));
  }
  const tiny = [...document.querySelectorAll('svg[viewBox] text')].filter((t) => {
    const svg = t.closest('svg'); const r = svg.getBoundingClientRect();
    return r.width > 0 && parseFloat(getComputedStyle(t).fontSize) * r.width / svg.viewBox.baseVal.width < 12;
  });
  if (tiny.length) out.push(`${tiny.length} chart labels drawn under 12 px`);
  if (!document.querySelector('h1')) out.push('no h1');
  if (!document.querySelector('main, [role=main]')) out.push('no main landmark');
  if (patrol) {
    const small = [...document.querySelectorAll('button, a.btn, a.directions, input:not([type=hidden]):not([type=checkbox]):not([type=radio]), select, textarea, summary')]
      .filter((el) => el.offsetParent !== null)
      .filter((el) => { const r = el.getBoundingClientRect(); return r.height < 44 || r.width < 44; });
    if (small.length) out.push('tap targets under 44 px: ' + small.slice(0, 5).map((el) => el.outerHTML.slice(0, 60)).join(' | '));
  }
  return out;
}"""


# The demo trial starts today, so it has no results. For the results page's picture, a fresh demo gets an
# evaluation of simulated outcomes on the demo trial's own schedule (trial_evaluation_simulate; the page
# says the trial is a synthetic demonstration).
SIMULATED_RESULTS = """
import django, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rasure_web.settings")
django.setup()
from rasure_web.trials.evaluation import trial_evaluation_simulate
from rasure_web.trials.models import Trial
trial = Trial.objects.filter(synthetic=True).order_by("pk").first()
if trial is not None:
    trial_evaluation_simulate(trial=trial)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def demo_server() -> Iterator[str]:
    """A fresh data folder, ``rasure demo --no-serve`` (the synthetic city), then ``rasure serve`` with
    DEBUG off (the pages officers see, e.g. the 404 page) until the block ends."""
    home = Path(tempfile.mkdtemp(prefix="rasure-shots-"))
    env = {**os.environ, "RASURE_HOME": str(home), "RASURE_DEBUG": "0"}
    env.pop("DATABASE_URL", None)
    print(f"Seeding the demo's synthetic city in {home} ...", flush=True)
    subprocess.run([str(RASURE), "demo", "--no-serve"], env=env, check=True, stdout=subprocess.DEVNULL)
    subprocess.run([sys.executable, "-c", SIMULATED_RESULTS], env=env, check=True, cwd=REPO)
    port = free_port()
    log = (home / "serve.log").open("w")
    server = subprocess.Popen(
        [str(RASURE), "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):  # collectstatic first, on a busy machine
            try:
                urllib.request.urlopen(f"{base}/accounts/login/", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        else:
            raise SystemExit(f"the demo server did not start on {base}:\n{(home / 'serve.log').read_text()}")
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
        shutil.rmtree(home, ignore_errors=True)


class Shooter:
    def __init__(self, browser: Any, base: str, out: Path) -> None:
        self.browser, self.base, self.out = browser, base, out
        self.taken: list[Path] = []
        self.problems: list[str] = []

    def context(self, size: str, role: str | None, **extra: Any) -> Any:
        ctx = self.browser.new_context(locale="en-GB", timezone_id="Europe/London", **SIZES[size], **extra)
        # the people monitoring page rebuilds a year of month-end lists: 30-60 s on the demo, on a busy machine
        ctx.set_default_navigation_timeout(180_000)
        ctx.route(
            re.compile(r"^https?://(?!127\.0\.0\.1)"),
            lambda route: route.fulfill(status=204, body=""),
        )
        if role:
            page = ctx.new_page()
            page.goto(f"{self.base}/accounts/login/")
            page.get_by_label("Username").fill(role)
            page.get_by_label("Password").fill(f"rasure-demo-{role}")
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_load_state()
            page.close()
        return ctx

    def shot(self, page: Any, screen: str, size: str, *, full: bool = True) -> None:
        path = self.out / f"{screen}-{size}.png"
        page.wait_for_timeout(300)  # fonts, map layers and transitions settle
        page.screenshot(path=str(path), full_page=full)
        self.taken.append(path)
        print(f"  {path.relative_to(REPO) if path.is_relative_to(REPO) else path}", flush=True)
        for problem in page.evaluate(PROBLEMS, size == "phone" and "/patrol/" in page.url):
            print(f"    ! {problem}", flush=True)
            self.problems.append(f"{screen}-{size}: {problem}")

    def pages(
        self, size: str, role: str | None, screens: list[tuple[str, str, Callable[[Any], None]]]
    ) -> None:
        ctx = self.context(size, role)
        page = ctx.new_page()
        for screen, path, ready in screens:
            page.goto(f"{self.base}{path}")
            ready(page)
            self.shot(page, screen, size)
        ctx.close()

    def first_link(
        self, role: str, path: str, pattern: str, before: Callable[[Any], None] | None = None
    ) -> str:
        ctx = self.context("desktop", role)
        page = ctx.new_page()
        page.goto(f"{self.base}{path}")
        if before:
            before(page)
        hrefs = page.eval_on_selector_all("a[href]", "els => els.map((e) => e.getAttribute('href'))")
        ctx.close()
        for href in hrefs:
            if re.match(pattern, href):
                return str(href)
        raise SystemExit(f"no link matching {pattern} on {path}")


def heading(name: str | None = None) -> Callable[[Any], None]:
    def ready(page: Any) -> None:
        if name:
            page.get_by_role("heading", name=name).first.wait_for()
        else:
            page.get_by_role("heading", level=1).first.wait_for()

    return ready


def give_reason(page: Any) -> None:
    """The people pages ask why first (each look is logged): the first reason."""
    page.locator("form.reasons button").first.click()
    page.locator("table.people").wait_for()


def map_ready(page: Any) -> None:
    page.locator("#status").filter(has_text="crimes in view").wait_for()


def dashboard(shooter: Shooter, size: str) -> None:
    hotspot = shooter.first_link("analyst", "/dashboard/", r"/dashboard/hotspots/\d+/")
    trial = shooter.first_link("analyst", "/trials/", r"/trials/\d+/$")
    institution = shooter.first_link("analyst", "/dashboard/institutions/", r"/dashboard/institutions/\d+/")
    person = shooter.first_link("analyst", "/dashboard/people/", r"/dashboard/people/\d+/", give_reason)
    operation = shooter.first_link("analyst", "/programme/", r"/programme/operations/\d+/")
    area = shooter.first_link("analyst", "/programme/delivery/", r"/programme/delivery/area/")
    team = shooter.first_link("analyst", area, r"/programme/delivery/team/\d+/")
    officer = shooter.first_link("analyst", team, r"/programme/delivery/officer/\d+/")
    shooter.pages(
        size,
        "analyst",
        [
            ("overview", "/dashboard/", heading("Serious violence overview")),
            ("map", "/dashboard/map/", map_ready),
            ("hotspot", hotspot, heading("Why it is hot")),
            ("briefing-sheet", f"{hotspot}sheet/", heading("Why it is hot")),
            ("review", "/dashboard/review/", heading()),
            ("patrol-monitoring", "/dashboard/patrols/", heading("Patrol monitoring")),
            ("trials", "/trials/", heading()),
            ("trial", trial, heading()),
            ("trial-results", f"{trial}results/", heading()),
            ("imports", "/dashboard/imports/", heading()),
            ("institutions", "/dashboard/institutions/", heading()),
            ("institution", institution, heading()),
            ("people-reason", "/dashboard/people/", heading()),
            ("people", "/dashboard/people/", give_reason),
            ("person", person, heading()),
            ("people-monitor", "/dashboard/people/monitor/", heading()),
            ("partner-data", "/partners/data/", heading()),
            ("programme", "/programme/", heading()),
            ("operation", operation, heading()),
            ("delivery", "/programme/delivery/", heading()),
            ("delivery-area", area, heading()),
            ("delivery-team", team, heading()),
            ("delivery-officer", officer, heading()),
            ("not-found-404", "/no-such-page/", heading()),
        ],
    )
    shooter.pages(size, "admin", [("people-erase", "/dashboard/people/erase/", heading())])
    shooter.pages(size, "partner", [("partner-portal", "/partners/", heading())])
    shooter.pages(
        size,
        "officer",
        [("refused-403", "/dashboard/", heading()), ("my-patrols", "/programme/me/", heading())],
    )
    shooter.pages(size, None, [("sign-in", "/accounts/login/", heading())])
    locked_out(shooter, size)


def locked_out(shooter: Shooter, size: str) -> None:
    """Five wrong passwords for a made-up username: the lock is per username and address, so the demo
    users can still sign in."""
    ctx = shooter.context(size, None)
    page = ctx.new_page()
    username = "a-jones"
    for i in range(5):
        page.goto(f"{shooter.base}/accounts/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(f"not-the-password-{i}")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()
    page.get_by_role("heading", name="Sign-in locked for now").wait_for()
    shooter.shot(page, "locked-out", size)
    ctx.close()


def patrol_app(shooter: Shooter, size: str) -> None:
    """The officer's screens (the screen as seen: the action bar stays at the bottom): list, briefing (with Directions), visit timer, after-the-visit form, visit
    recorded, and the list reopened without signal. The directions open the phone's maps app, outside
    Rasure, so they have no screen of their own."""
    ctx = shooter.context(
        size,
        "officer",
        permissions=["geolocation"],
        geolocation={"latitude": 51.43, "longitude": -1.13, "accuracy": 6},
    )
    page = ctx.new_page()
    page.goto(f"{shooter.base}/patrol/")
    first = page.locator("ol.spots > li").first
    first.wait_for()
    shooter.shot(page, "patrol-list", size, full=False)
    first.get_by_role("button").click()
    page.get_by_role("heading", name="Why it is a hot spot").wait_for()
    href = page.get_by_role("link", name=re.compile("^Directions to")).get_attribute("href") or ""
    lat, lon = (float(v) for v in re.search(r"destination=([-\d.]+),([-\d.]+)", href).groups())  # type: ignore[union-attr]
    shooter.shot(page, "patrol-briefing", size, full=False)
    ctx.set_geolocation({"latitude": lat, "longitude": lon, "accuracy": 6})
    page.get_by_role("button", name="Start visit").click()
    page.wait_for_function("() => Number(document.querySelector('#ping-count')?.textContent) >= 1")
    page.wait_for_function("() => document.querySelector('#sync')?.dataset.waiting === '0'")
    shooter.shot(page, "patrol-visit", size, full=False)
    page.get_by_role("button", name="End visit").click()
    page.get_by_role("spinbutton", name="People spoken to").wait_for()
    shooter.shot(page, "patrol-form", size, full=False)
    page.get_by_role("button", name="Send", exact=True).click()
    page.locator("#result").wait_for()
    page.wait_for_load_state("networkidle")  # the next nearest hot spots, if any are left today
    shooter.shot(page, "patrol-recorded", size, full=False)
    page.goto(f"{shooter.base}/patrol/")
    page.locator("ol.spots > li").first.wait_for()
    saved = "caches.open('rasure-data-v1').then((c) => c.keys()).then((k) => k.some((r) => r.url.endsWith('/nearest')))"
    for _ in range(100):
        if page.evaluate(saved):
            break
        page.wait_for_timeout(200)
    ctx.set_offline(True)
    page.reload()
    page.locator("ol.spots > li").first.wait_for()
    shooter.shot(page, "patrol-offline", size, full=False)
    ctx.close()


def optimise(src: Path, dest: Path) -> None:
    """A 256-colour palette PNG: a few times smaller than Chromium's and plenty for screens of text."""
    from PIL import Image

    with Image.open(src) as im:
        im.convert("RGB").quantize(
            colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
        ).save(dest, optimize=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", help="a running `rasure demo` (default: seed and serve a fresh one)")
    parser.add_argument("--out", type=Path, default=REPO / "var" / "screenshots" / "all")
    parser.add_argument("--docs", type=Path, default=REPO / "docs" / "screenshots")
    parser.add_argument("--no-docs", action="store_true", help="do not copy the kept set to docs/")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    with demo_server() if not args.base else _given(args.base) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        shooter = Shooter(browser, base, args.out)
        for size in SIZES:
            print(f"{size}:", flush=True)
            dashboard(shooter, size)
            patrol_app(shooter, size)
        browser.close()
    if not args.no_docs:
        args.docs.mkdir(parents=True, exist_ok=True)
        for screen, size in KEEP:
            optimise(args.out / f"{screen}-{size}.png", args.docs / f"{screen}-{size}.png")
        print(f"{len(KEEP)} kept in {args.docs}")
    if shooter.problems:
        print(f"{len(shooter.problems)} screens to look at again:\n  " + "\n  ".join(shooter.problems))
    return 0


@contextmanager
def _given(base: str) -> Iterator[str]:
    yield base.rstrip("/")


if __name__ == "__main__":
    raise SystemExit(main())
