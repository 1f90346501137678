"""A force's serious-violence scope: its own table (``rasure scope load --force CODE``) or the built-in one.

Each force has its own: the table's text is stored whole with its source, version, checksum and force;
loading one reclassifies every stored record of that force (and no other) from its offence code,
weapon and category, in one transaction. Reads take the force's pk (``tenant``) or code (``force``),
default the only force.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pandas as pd
from django.db import transaction

from rasure import classify as sv
from rasure.errors import ConfigError
from rasure_web.accounts.tenancy import resolve_force, tenant_id_for
from rasure_web.crimes.models import CrimeRecord, ScopeTableInfo
from rasure_web.crimes.summary import refresh_summary

_CLASS_FIELDS = ["serious_violence", "sv_group", "sv_basis", "knife_enabled", "gun_crime"]
_VERSION = re.compile(r"version\s+([\w.\-]+)", re.IGNORECASE)


def _info(tenant: int | None, force: str | None) -> ScopeTableInfo | None:
    """The force's newest loaded table (None: it uses the built-in one)."""
    if tenant is None:
        tenant = tenant_id_for(force=force)
    if tenant is None:
        return None
    return ScopeTableInfo.objects.filter(tenant_id=tenant).first()


def scope_current(*, tenant: int | None = None, force: str | None = None) -> sv.Scope:
    """A force's scope: its newest loaded table, else the built-in one."""
    info = _info(tenant, force)
    if info is None:
        return sv.load_scope()
    return sv.scope_from_text(info.codes_csv, source=_source(info))


def _source(info: ScopeTableInfo) -> str:
    return f"{info.source}" + (f" version {info.version}" if info.version else "")


def scope_label(*, tenant: int | None = None, force: str | None = None) -> str:
    """What a force's scope is, e.g. "serious-violence scope: the force's own table ... (loaded ...)"."""
    info = _info(tenant, force)
    if info is None:
        return sv.load_scope().label
    return f"serious-violence scope: the force's own table {_source(info)} (loaded {info.loaded_at:%Y-%m-%d})"


def scope_load(
    *, path: str, version: str = "", username: str = "", force: str | None = None
) -> tuple[ScopeTableInfo, int]:
    """Store a force's scope table (``force``: its code, default the only one) and reclassify every
    record of that force with it. Returns the stored table and the number of records whose
    classification changed. A bad table changes nothing."""
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
        tenant = resolve_force(force)
        info = ScopeTableInfo.objects.create(
            tenant=tenant,
            source=str(path),
            version=version[:100],
            sha256=hashlib.sha256(text.encode()).hexdigest(),
            codes_csv=text,
            username=username,
        )
        changed = reclassify(scope, tenant=tenant.pk)
        refresh_summary(tenant.pk)
    return info, changed


def reclassify(scope: sv.Scope, *, tenant: int, chunk: int = 20_000) -> int:
    """Recompute the serious-violence fields of a force's records with ``scope``; returns how many changed."""
    changed = 0
    cols = ["pk", "offence_code", "weapon", "category", *_CLASS_FIELDS]
    qs = CrimeRecord.objects.filter(tenant_id=tenant).order_by("pk").values_list(*cols)
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


def scope_table(*, tenant: int | None = None, force: str | None = None) -> pd.DataFrame:
    """The rows of a force's scope (``rasure scope show``)."""
    return scope_current(tenant=tenant, force=force).codes.frame
