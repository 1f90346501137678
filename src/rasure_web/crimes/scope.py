"""The serious-violence scope in force: a force's own table (``rasure scope load``) or the built-in one.

The table's text is stored whole with its source, version and checksum; loading one reclassifies
every stored record from its offence code, weapon and category, in one transaction.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pandas as pd
from django.db import transaction

from rasure import classify as sv
from rasure.errors import ConfigError
from rasure_web.crimes.models import CrimeRecord, ScopeTableInfo

_CLASS_FIELDS = ["serious_violence", "sv_group", "sv_basis", "knife_enabled", "gun_crime"]
_VERSION = re.compile(r"version\s+([\w.\-]+)", re.IGNORECASE)


def scope_current() -> sv.Scope:
    """The scope in force: the newest loaded table, else the built-in one."""
    info = ScopeTableInfo.objects.first()
    if info is None:
        return sv.load_scope()
    return sv.scope_from_text(info.codes_csv, source=_source(info))


def _source(info: ScopeTableInfo) -> str:
    return f"{info.source}" + (f" version {info.version}" if info.version else "")


def scope_label() -> str:
    info = ScopeTableInfo.objects.first()
    if info is None:
        return sv.load_scope().label
    return f"serious-violence scope: the force's own table {_source(info)} (loaded {info.loaded_at:%Y-%m-%d})"


def scope_load(*, path: str, version: str = "", username: str = "") -> tuple[ScopeTableInfo, int]:
    """Store a force's scope table and reclassify every record with it. Returns the stored table and
    the number of records whose classification changed. A bad table changes nothing."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: file not found. Give a CSV with columns {sv.SCOPE_COLUMNS}.") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text. Save it as CSV UTF-8 and try again.") from exc
    scope = sv.scope_from_text(text, source=path)  # validates before anything is written
    if not version:
        m = _VERSION.search(scope.codes.header)
        version = m.group(1).rstrip(".") if m else ""
    with transaction.atomic():
        info = ScopeTableInfo.objects.create(
            source=str(path),
            version=version[:100],
            sha256=hashlib.sha256(text.encode()).hexdigest(),
            codes_csv=text,
            username=username,
        )
        changed = reclassify(scope)
    return info, changed


def reclassify(scope: sv.Scope, *, chunk: int = 20_000) -> int:
    """Recompute the serious-violence fields of every record with ``scope``; returns how many changed."""
    changed = 0
    cols = ["pk", "offence_code", "weapon", "category", *_CLASS_FIELDS]
    qs = CrimeRecord.objects.order_by("pk").values_list(*cols)
    last = 0
    while True:
        rows = list(qs.filter(pk__gt=last)[:chunk])
        if not rows:
            return changed
        last = rows[-1][0]
        df = pd.DataFrame(rows, columns=cols)
        new = sv.classify(df, scope=scope)
        diff = pd.Series(False, index=df.index)
        for f in _CLASS_FIELDS:
            old_v, new_v = df[f].astype(object), new[f].astype(object)
            diff |= ~((old_v == new_v) | (old_v.isna() & new_v.isna()))
        objs = []
        for i in df.index[diff.to_numpy()]:
            objs.append(
                CrimeRecord(
                    pk=int(df.at[i, "pk"]),
                    **{f: (None if pd.isna(new.at[i, f]) else new.at[i, f]) for f in _CLASS_FIELDS},
                )
            )
        CrimeRecord.objects.bulk_update(objs, _CLASS_FIELDS, batch_size=2000)
        changed += len(objs)


def scope_table() -> pd.DataFrame:
    """The rows of the scope in force (``rasure scope show``)."""
    return scope_current().codes.frame
