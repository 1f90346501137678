"""Serious-violence scope (requirement D2; docs/methods.md §9): which records count, and knife/gun flags.

Two bases, never mixed silently:

- ``offence_code``: the record has a Home Office offence code. It is in scope when the
  code is in the scope table with ``counts_as = always``, or ``with_weapon`` and a
  weapon (knife, firearm, other) was present. Lower-level offences therefore count only
  with a weapon.
- ``policeuk_approximation``: the record has no offence code (police.uk files). Its
  broad crime type stands in, by the table ``serious_violence_policeuk.csv``. Every
  result computed from such records must say "police.uk approximation".

Knife-enabled = in scope and weapon is a knife or sharp instrument; gun crime = in scope
and weapon is a firearm. Neither can be known for the police.uk approximation.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from rasure.errors import ConfigError
from rasure.records import Weapon
from rasure.tables import Table, load_table, lookup, table_from_text

APPROXIMATION_LABEL = (
    "police.uk approximation: police.uk has no offence codes or weapon flags, so serious violence is "
    "approximated by the 'Violence and sexual offences' crime type"
)

BASIS_CODE = "offence_code"
BASIS_POLICEUK = "policeuk_approximation"
BASIS_NONE = "none"

_WEAPON_PRESENT = {Weapon.KNIFE.value, Weapon.FIREARM.value, Weapon.OTHER.value}


@dataclass(frozen=True)
class Scope:
    """The serious-violence scope in force: offence-code rules plus the police.uk approximation."""

    codes: Table
    policeuk: Table

    @property
    def label(self) -> str:
        where = "built-in default" if self.codes.builtin else self.codes.path
        return f"serious-violence scope: {where}"


SCOPE_COLUMNS = ["offence_code", "sv_group", "counts_as"]


def load_scope(codes_path: str | Path | None = None, policeuk_path: str | Path | None = None) -> Scope:
    """Load the scope tables (built-in defaults unless a force's own files are given)."""
    codes = load_table(codes_path, builtin="serious_violence.csv", required=SCOPE_COLUMNS)
    return _scope(codes, policeuk_path)


def scope_from_text(text: str, *, source: str, policeuk_path: str | Path | None = None) -> Scope:
    """A force's scope from the CSV text of its table (any offence-code system: Home Office,
    IUCR, NIBRS ...), as stored when it was loaded; ``source`` names it in labels and errors."""
    return _scope(table_from_text(text, path=source, required=SCOPE_COLUMNS), policeuk_path)


def _scope(codes: Table, policeuk_path: str | Path | None) -> Scope:
    bad = sorted(set(codes.frame["counts_as"]) - {"always", "with_weapon"})
    if bad:
        raise ConfigError(f"{codes.path}: column counts_as must be 'always' or 'with_weapon', found {bad}.")
    empty = codes.frame["offence_code"].str.strip() == ""
    if empty.any():
        line = int(empty.to_numpy().nonzero()[0][0]) + 2 + len(codes.header.splitlines())
        raise ConfigError(f"{codes.path}, line {line}: field 'offence_code' is empty; give the code.")
    dup = codes.frame["offence_code"].str.strip().duplicated()
    if dup.any():
        code = codes.frame["offence_code"][dup].iloc[0]
        raise ConfigError(
            f"{codes.path}: offence code {code!r} appears more than once; keep one row per code."
        )
    policeuk = load_table(
        policeuk_path, builtin="serious_violence_policeuk.csv", required=["category", "in_scope", "sv_group"]
    )
    return Scope(codes=codes, policeuk=policeuk)


def classify(records: pd.DataFrame, *, scope: Scope | None = None) -> pd.DataFrame:
    """Classify canonical records. Returns a frame aligned with ``records`` with columns
    ``serious_violence`` (bool), ``sv_group``, ``sv_basis``, ``knife_enabled``, ``gun_crime``.

    >>> recs = pd.DataFrame({
    ...     "offence_code": ["8N", "34B", "34B", None, None],
    ...     "weapon": ["none", "knife", "none", None, None],
    ...     "category": ["Violence and sexual offences", "Robbery", "Robbery",
    ...                  "Violence and sexual offences", "Burglary"]})
    >>> out = classify(recs)
    >>> out["serious_violence"].tolist()
    [True, True, False, True, False]
    >>> out["sv_basis"].tolist()
    ['offence_code', 'offence_code', 'offence_code', 'policeuk_approximation', 'policeuk_approximation']
    >>> out["knife_enabled"].tolist()
    [False, True, False, False, False]
    """
    scope = scope or load_scope()
    n = len(records)
    code = records["offence_code"].astype("string").str.strip() if "offence_code" in records else None
    if code is None:
        code = pd.Series(pd.NA, index=records.index, dtype="string")
    has_code = code.notna() & (code != "")
    weapon = records["weapon"].astype("string").str.lower() if "weapon" in records else None
    if weapon is None:
        weapon = pd.Series(pd.NA, index=records.index, dtype="string")
    weapon_present = weapon.isin(list(_WEAPON_PRESENT)).fillna(False).astype(bool)

    codes = scope.codes.frame.set_index(scope.codes.frame["offence_code"].str.strip())
    counts_as = lookup(code, codes["counts_as"]).astype("string")
    group_by_code = lookup(code, codes["sv_group"]).astype("string")
    in_by_code = ((counts_as == "always") | ((counts_as == "with_weapon") & weapon_present)).fillna(False)

    pu = scope.policeuk.frame
    in_pu = pu.set_index("category")["in_scope"].str.lower().eq("true")
    category = (
        records["category"].astype("string")
        if "category" in records
        else pd.Series(pd.NA, index=records.index, dtype="string")
    )
    # each distinct crime type (a few dozen) looked up once (tables.lookup), the answers spread back.
    # isin, not map + fillna: under pandas 3 mapping a pyarrow-backed string series whose values
    # are all missing from the table gives a null[pyarrow] series, and fillna(False) raises.
    cat_code, cats = pd.factorize(category, use_na_sentinel=False)
    in_cat = pd.Series(cats, dtype="string").isin(list(in_pu.index[in_pu.to_numpy(dtype=bool)]))
    in_by_cat = pd.Series(in_cat.to_numpy(dtype=bool)[cat_code], index=records.index)
    group_by_cat = lookup(category, pu.set_index("category")["sv_group"]).astype("string")

    sv = pd.Series(False, index=records.index).mask(has_code, in_by_code).mask(~has_code, in_by_cat)
    sv = sv.astype(bool)
    basis = pd.Series(BASIS_POLICEUK, index=records.index, dtype="string").mask(has_code, BASIS_CODE)
    group = group_by_code.where(has_code, group_by_cat).where(sv)
    out = pd.DataFrame(
        {
            "serious_violence": sv,
            "sv_group": group.astype("string"),
            "sv_basis": basis,
            "knife_enabled": (sv & has_code & weapon.eq(Weapon.KNIFE.value).fillna(False)).astype(bool),
            "gun_crime": (sv & has_code & weapon.eq(Weapon.FIREARM.value).fillna(False)).astype(bool),
        },
        index=records.index,
    )
    assert len(out) == n
    return out


def basis_label(bases: pd.Series) -> str:
    """A label for a result computed from records with these ``sv_basis`` values.

    >>> basis_label(pd.Series(["offence_code", "policeuk_approximation"]))
    "mixed: some records by offence code, some by police.uk approximation: police.uk has no offence codes or weapon flags, so serious violence is approximated by the 'Violence and sexual offences' crime type"
    """
    kinds = set(bases.dropna().unique())
    if kinds == {BASIS_CODE}:
        return "serious violence by Home Office offence code"
    if BASIS_POLICEUK in kinds and BASIS_CODE in kinds:
        return "mixed: some records by offence code, some by " + APPROXIMATION_LABEL
    if BASIS_POLICEUK in kinds:
        return APPROXIMATION_LABEL
    return "no serious-violence records"
