"""The access log as a hash chain, its checkpoints and its verification (issue 16).

Each entry carries ``seq`` (1, 2, 3 ... with no gaps), ``prev_hash`` (the previous entry's
``row_hash``; 64 zeros for the first) and ``row_hash = SHA-256(canonical_json(fields))`` where the
fields are ``seq``, ``prev_hash``, ``at`` (UTC, ISO 8601 with microseconds), ``user_id``,
``username``, ``action``, ``resource``, ``object_ref``, ``detail``, ``path`` and ``ip_address``
(canonical JSON: keys sorted, no whitespace, UTF-8; :func:`rasure.trial.commitment.canonical_json`).
So an entry commits to every entry before it: editing, deleting or reordering one breaks the chain
at that entry, and :func:`verify_chain` names it.

What the chain alone cannot show is a cut **tail** (the newest entries deleted, or the whole table
emptied): what is left is still a valid chain. That is what **checkpoints** are for: ``rasure audit
checkpoint`` appends the head (``seq``, ``row_hash``) to a file outside the database, signed with
HMAC-SHA256 under ``RASURE_AUDIT_KEY`` (a key the database does not hold), and can also print it for
syslog or the force's SIEM. :func:`verify_chain` then checks every checkpoint is still in the chain
with the same hash; a tail cut after the last checkpoint is the one loss it cannot see, so
checkpoints should be written often (every few minutes: the worker's ``audit-checkpoint`` job, :mod:`rasure_web.jobs.tasks`).

Someone who can write to the database can also recompute the whole chain after an edit (SHA-256 is
not keyed): checkpoints catch that too, for every entry up to the newest checkpoint.

Two writers never fork the chain: on PostgreSQL an append takes a transaction-level advisory lock
before it reads the head, so appends are serialised until each writer's transaction ends; on SQLite
the connection begins transactions IMMEDIATE (one writer at a time). A unique constraint on ``seq``
backs both: a fork could only be two entries with one ``seq``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from rasure.errors import RasureError
from rasure.trial.commitment import canonical_json
from rasure_web.accounts.models import AccessLog

GENESIS = "0" * 64
LOCK_SQL = "SELECT pg_advisory_xact_lock(hashtext('rasure_access_log_chain'))"
CHAINED_FIELDS = (
    "seq",
    "prev_hash",
    "at",
    "user_id",
    "username",
    "action",
    "resource",
    "object_ref",
    "detail",
    "path",
    "ip_address",
)


class CheckpointError(RasureError):
    """A checkpoint file cannot be read or its signature does not match."""


def _at_text(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def row_hash(entry: AccessLog) -> str:
    """SHA-256 over the canonical serialisation of one entry (module docstring)."""
    fields: dict[str, Any] = {name: getattr(entry, name) for name in CHAINED_FIELDS}
    fields["at"] = _at_text(entry.at)
    return hashlib.sha256(canonical_json(fields)).hexdigest()


def append(**values: Any) -> AccessLog:
    """Write one entry at the head of the chain (the only way entries are written)."""
    field = AccessLog._meta.get_field("ip_address")
    if values.get("ip_address"):
        values["ip_address"] = field.get_prep_value(values["ip_address"])  # as stored, e.g. IPv6 compressed
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cur:
                cur.execute(LOCK_SQL)
        head = AccessLog.objects.filter(seq__isnull=False).order_by("-seq").values("seq", "row_hash").first()
        entry = AccessLog(**values)
        entry.seq = head["seq"] + 1 if head else 1
        entry.prev_hash = head["row_hash"] if head else GENESIS
        entry.row_hash = row_hash(entry)
        entry.save()
    return entry


# --------------------------------------------------------------------------------------------------
# Checkpoints: the head, signed, kept outside the database


def _key() -> bytes:
    key = os.environ.get("RASURE_AUDIT_KEY", "")
    if key:
        return key.encode("utf-8")
    # Without a dedicated key the checkpoints are signed with a key derived from the secret key: it
    # still stops a forged file, but whoever reads the settings can sign. docs/deploy.md says to set one.
    return hashlib.sha256(b"rasure-audit-checkpoint|" + settings.SECRET_KEY.encode("utf-8")).digest()


def _signature(body: dict[str, Any]) -> str:
    return hmac.new(_key(), canonical_json(body), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    row_hash: str
    written_at: str

    def to_line(self) -> str:
        body = {"seq": self.seq, "row_hash": self.row_hash, "written_at": self.written_at}
        return json.dumps({**body, "hmac": _signature(body)}, sort_keys=True)


def head_checkpoint(*, written_at: datetime) -> Checkpoint:
    """The chain's head now (``seq`` 0 and the genesis hash for an empty log)."""
    from rasure_web.accounts.refusals import pending_flush

    pending_flush()  # refusals logged to the pending file (SQLite, in a transaction) go in first
    head = AccessLog.objects.filter(seq__isnull=False).order_by("-seq").values("seq", "row_hash").first()
    return Checkpoint(
        seq=head["seq"] if head else 0,
        row_hash=head["row_hash"] if head else GENESIS,
        written_at=_at_text(written_at),
    )


def checkpoint_append(path: Path, *, written_at: datetime) -> str:
    """Append the chain head's signed checkpoint line to ``path`` (``rasure audit checkpoint --out``
    and the scheduled checkpoint job); returns the line."""
    line = head_checkpoint(written_at=written_at).to_line()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as f:
        f.write(line + "\n")
    return line


def read_checkpoints(path: Path) -> list[tuple[int, Checkpoint]]:
    """(line number, checkpoint) for each line; a bad line or signature names the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot read the checkpoint file ({exc.strerror}).") from exc
    out = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
            body = {
                "seq": int(doc["seq"]),
                "row_hash": str(doc["row_hash"]),
                "written_at": str(doc["written_at"]),
            }
            sig = str(doc["hmac"])
        except (ValueError, KeyError, TypeError) as exc:
            raise CheckpointError(
                f"{path}, line {n}: not a checkpoint (expected JSON with seq, row_hash, written_at, hmac)."
            ) from exc
        if not hmac.compare_digest(sig, _signature(body)):
            raise CheckpointError(
                f"{path}, line {n}: the signature does not match. The line was edited, or it was signed with "
                "another RASURE_AUDIT_KEY."
            )
        out.append((n, Checkpoint(**body)))
    return out


# --------------------------------------------------------------------------------------------------
# Verification


@dataclass(frozen=True)
class ChainReport:
    """What :func:`verify_chain` found: ``problems`` in chain order, the first one first."""

    entries: int
    head_seq: int
    checkpoints: int
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    def text(self, *, max_problems: int = 20) -> str:
        verdict = "INTACT" if self.ok else "BROKEN"
        lines = [
            f"access log: {verdict} ({self.entries:,} entries, head seq {self.head_seq}, "
            f"{self.checkpoints} checkpoint(s) checked)"
        ]
        if self.problems:
            lines.append(f"first problem: {self.problems[0]}")
            lines.extend(f"  {p}" for p in self.problems[1:max_problems])
            if len(self.problems) > max_problems:
                lines.append(f"  ... and {len(self.problems) - max_problems} more")
        if self.checkpoints == 0:
            lines.append(
                "note: no checkpoints given, so entries cut from the end (or an emptied table) cannot be "
                "seen; pass --checkpoints FILE."
            )
        return "\n".join(lines)


def _entries() -> Iterator[AccessLog]:
    return AccessLog.objects.order_by("seq", "id").iterator(chunk_size=5000)


def verify_chain(checkpoints: Sequence[tuple[int, Checkpoint]] = (), *, source: str = "") -> ChainReport:
    """Walk the chain in ``seq`` order and check every link, then every checkpoint."""
    problems: list[str] = []
    expected_seq, prev = 1, GENESIS
    hashes: dict[int, str] = {}
    want = {c.seq for _, c in checkpoints}
    count = 0
    last_id = 0
    for e in _entries():
        count += 1
        if e.seq is None:
            problems.append(f"entry id {e.id} ({e}) is outside the chain (no seq): inserted around the chain")
            continue
        if e.seq != expected_seq:
            if e.seq < expected_seq:
                problems.append(f"seq {e.seq} (id {e.id}) appears twice: the chain was forked or copied")
            else:
                gap = (
                    f"seq {expected_seq}"
                    if e.seq == expected_seq + 1
                    else f"seq {expected_seq} to {e.seq - 1}"
                )
                problems.append(f"{gap} missing before id {e.id}: entries deleted")
        if e.prev_hash != prev:
            problems.append(
                f"seq {e.seq} (id {e.id}): does not follow the entry before it (prev_hash differs): "
                "reordered, or an entry before it was deleted or rewritten"
            )
        recomputed = row_hash(e)
        if recomputed != e.row_hash:
            problems.append(f"seq {e.seq} (id {e.id}): its content was edited (hash differs)")
        if e.id < last_id:
            problems.append(
                f"seq {e.seq} (id {e.id}): written before the entry ahead of it in the chain: reordered"
            )
        last_id = max(last_id, e.id)
        if e.seq in want:
            hashes[e.seq] = e.row_hash
        expected_seq, prev = e.seq + 1, e.row_hash
    head = expected_seq - 1
    where = f"{source}, " if source else ""
    for line, c in checkpoints:
        if c.seq == 0:
            continue
        if c.seq > head:
            problems.append(
                f"{where}line {line}: checkpoint at seq {c.seq} ({c.written_at}) but the log ends at seq {head}: "
                f"entries {head + 1} to {c.seq} or more were cut from the end (or the table was emptied)"
            )
        elif c.seq not in hashes:
            problems.append(f"{where}line {line}: checkpoint at seq {c.seq}: no such entry (deleted)")
        elif hashes[c.seq] != c.row_hash:
            problems.append(
                f"{where}line {line}: checkpoint at seq {c.seq} ({c.written_at}) has another hash: the chain up "
                "to it was rewritten"
            )
    return ChainReport(entries=count, head_seq=head, checkpoints=len(checkpoints), problems=tuple(problems))
