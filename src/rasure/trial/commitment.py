"""Tamper-evident commitment to a trial before it starts, and its verification afterwards.

Protocol ``rasure-commitment-v1`` (docs/reliability.md §3.1; hash commitments as in the verifiable-
randomisation recipe cited there). Before the trial:

1. The **public manifest** is a JSON object with the protocol name, an optional trial label and code
   revision, ``rasure_version`` and ``schedule_algorithm``, the design
   (:meth:`TrialDesign.to_json_dict`), the frozen set (per hot spot: id, stratum, pair or block,
   SHA-256 of its geofence WKT; sorted by id) and a public ``nonce`` (salt). It holds no floats.
   Protocol ``rasure-commitment-v2`` is v1 with one more field, ``analysis_plan``
   (:meth:`rasure.trial.plan.AnalysisPlan.to_json_dict`), so the pre-registered analysis plan is
   committed too; v1 manifests (trials committed before plans existed) still verify.
2. The **commitment** is ``SHA-256(canonical_json(manifest + {"seed": seed}))`` where canonical JSON
   means keys sorted, no whitespace (``","`` and ``":"`` separators), UTF-8, non-ASCII characters
   written as themselves (``json.dumps(obj, sort_keys=True, separators=(",", ":"),
   ensure_ascii=False)``; for these inputs the bytes equal RFC 8785 JCS).
3. Publish the digest and the manifest (e.g. on OSF or ISRCTN). Keep the seed secret: it is at least
   128 bits of randomness, so the digest reveals nothing about it or the schedule.

After the trial (or to an auditor) the seed is revealed; :func:`verify` recomputes the commitment and
the schedule and says exactly what differs. ``docs/trial-verification.md`` gives a stdlib-only script
that does the same check independently of this package.

A commitment stops the schedule being changed after publication. It cannot stop a team trying many
seeds *before* publishing and keeping one they like; to rule that out derive the seed from a public
randomness beacon round fixed in advance (:func:`seed_from_beacon`, docs/reliability.md §3.1 step 3).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from rasure import __version__
from rasure.trial.design import FrozenHotSpot, TrialDesign, TrialError, check_label, validate_hotspots
from rasure.trial.plan import AnalysisPlan
from rasure.trial.schedule import (
    SCHEDULE_ALGORITHM,
    SCHEDULE_ALGORITHMS,
    ScheduleError,
    SeedError,
    check_seed,
    format_trial_day,
    read_schedule_csv,
    schedule_for_entries,
    schedule_sha256,
    schedule_to_csv,
)

COMMITMENT_PROTOCOL = "rasure-commitment-v1"
#: v1 plus the pre-registered analysis plan (``analysis_plan``).
COMMITMENT_PROTOCOL_WITH_PLAN = "rasure-commitment-v2"
_MANIFEST_FIELDS = frozenset(
    {
        "protocol",
        "trial_label",
        "code_revision",
        "rasure_version",
        "schedule_algorithm",
        "design",
        "hotspots",
        "nonce",
    }
)
_PROTOCOL_FIELDS = {
    COMMITMENT_PROTOCOL: _MANIFEST_FIELDS,
    COMMITMENT_PROTOCOL_WITH_PLAN: _MANIFEST_FIELDS | {"analysis_plan"},
}
_HOTSPOT_FIELDS = frozenset({"hotspot_id", "stratum", "pair_or_block", "geofence_sha256"})


class CommitmentError(TrialError):
    """A manifest or published commitment cannot be used (wrong protocol, edited fields, ...)."""


def canonical_json(obj: Any) -> bytes:
    """Canonical JSON bytes: keys sorted, no whitespace, UTF-8, no NaN/Infinity.

    >>> canonical_json({"b": [1, None], "a": "é"})
    b'{"a":"\\xc3\\xa9","b":[1,null]}'
    """
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode(
        "utf-8"
    )


def new_secret_hex(n_bytes: int = 32) -> str:
    """A fresh secret from the operating system's CSPRNG (``secrets.token_hex``), for a seed or nonce.

    This is the one place the trial draws randomness not passed in: a secret seed must not be
    reproducible from anything else. Store it offline until it is revealed.
    """
    if n_bytes < 16:
        raise SeedError("a secret needs at least 16 bytes (128 bits); use the default 32.")
    return secrets.token_hex(n_bytes)


def seed_from_beacon(*, salt: str, beacon_randomness: str) -> str:
    """``SHA-256(salt ‖ beacon)`` as hex: a seed fixed by a public beacon round (e.g. drand).

    Commit to ``SHA-256(salt)`` and the future round number first; once the round is out, anyone can
    check the seed was not chosen (docs/reliability.md §3.1, step 3). Both inputs are hex text.

    >>> seed_from_beacon(salt="00" * 16, beacon_randomness="ff" * 32)[:16]
    'd03d098dd666459f'
    """
    salt_bytes = check_seed(salt, what="salt")
    try:
        beacon = bytes.fromhex(beacon_randomness)
    except (ValueError, TypeError) as exc:
        raise SeedError("beacon_randomness must be the beacon's hex 'randomness' value.") from exc
    return hashlib.sha256(salt_bytes + beacon).hexdigest()


def public_manifest(
    hotspots: Sequence[FrozenHotSpot],
    design: TrialDesign,
    *,
    nonce: str,
    trial_label: str = "",
    code_revision: str = "",
    analysis_plan: AnalysisPlan | None = None,
) -> dict[str, Any]:
    """The public half of the commitment: everything except the seed (module docstring, step 1).

    With ``analysis_plan`` the manifest is protocol ``rasure-commitment-v2`` and carries the plan."""
    ordered = validate_hotspots(hotspots, design)
    check_seed(nonce, what="nonce")
    for value, what in ((trial_label, "trial_label"), (code_revision, "code_revision")):
        if value:
            check_label(value, what=what)
    manifest: dict[str, Any] = {
        "protocol": COMMITMENT_PROTOCOL if analysis_plan is None else COMMITMENT_PROTOCOL_WITH_PLAN,
        "trial_label": trial_label,
        "code_revision": code_revision,
        "rasure_version": __version__,
        "schedule_algorithm": SCHEDULE_ALGORITHM,
        "design": design.to_json_dict(),
        "hotspots": [
            {
                "hotspot_id": h.hotspot_id,
                "stratum": h.stratum,
                "pair_or_block": h.pair_or_block,
                "geofence_sha256": h.geofence_sha256(),
            }
            for h in ordered
        ],
        "nonce": nonce,
    }
    if analysis_plan is not None:
        manifest["analysis_plan"] = analysis_plan.to_json_dict()
    return manifest


def plan_from_manifest(manifest: Mapping[str, Any]) -> AnalysisPlan | None:
    """The committed analysis plan of a v2 manifest, or ``None`` for a v1 manifest (no plan committed)."""
    _manifest_parts(manifest)
    if manifest["protocol"] != COMMITMENT_PROTOCOL_WITH_PLAN:
        return None
    return AnalysisPlan.from_json_dict(manifest["analysis_plan"], where="the manifest's analysis_plan")


def commitment_digest(manifest: Mapping[str, Any], *, seed: str) -> str:
    """``SHA-256(canonical_json(manifest + {"seed": seed}))`` as lowercase hex (step 2)."""
    if "seed" in manifest:
        raise CommitmentError("the public manifest must not contain the seed. Remove the 'seed' field.")
    check_seed(seed)
    return hashlib.sha256(canonical_json({**manifest, "seed": seed})).hexdigest()


@dataclass(frozen=True)
class Commitment:
    """A published commitment: ``digest_hex`` and the public manifest (kept as canonical JSON text,
    so the object cannot be altered after the digest was taken)."""

    digest_hex: str
    manifest_json: str

    @property
    def public_manifest(self) -> dict[str, Any]:
        """A fresh copy of the public manifest."""
        value: dict[str, Any] = json.loads(self.manifest_json)
        return value

    def to_json(self) -> str:
        """The document to publish: ``{"commitment_sha256": ..., "manifest": {...}}``, indented."""
        return json.dumps(
            {"commitment_sha256": self.digest_hex, "manifest": self.public_manifest},
            indent=2,
            sort_keys=True,
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> Commitment:
        """Read a document written by :meth:`to_json` (any JSON formatting)."""
        try:
            doc = json.loads(text)
            digest = doc["commitment_sha256"]
            manifest = doc["manifest"]
        except (ValueError, KeyError, TypeError) as exc:
            raise CommitmentError(
                "not a published commitment: expected JSON with 'commitment_sha256' and 'manifest'."
            ) from exc
        if (
            not isinstance(digest, str)
            or len(digest) != 64
            or any(c not in "0123456789abcdef" for c in digest)
        ):
            raise CommitmentError("commitment_sha256 must be 64 lowercase hex digits.")
        if not isinstance(manifest, dict):
            raise CommitmentError("'manifest' must be a JSON object.")
        return cls(digest_hex=digest, manifest_json=canonical_json(manifest).decode("utf-8"))


def commit(
    hotspots: Sequence[FrozenHotSpot],
    design: TrialDesign,
    *,
    seed: str,
    nonce: str,
    trial_label: str = "",
    code_revision: str = "",
    analysis_plan: AnalysisPlan | None = None,
) -> Commitment:
    """Commit to a trial: the frozen set, the design, the code version and the secret ``seed``.

    ``nonce`` is a public salt (hex, at least 128 bits, e.g. :func:`new_secret_hex`); ``trial_label``
    (e.g. a registry id) and ``code_revision`` (e.g. a git commit) are optional and also committed, and
    so is the pre-registered ``analysis_plan`` when given (protocol ``rasure-commitment-v2``).

    >>> from datetime import date
    >>> spots = [FrozenHotSpot("HS1", "A", "POINT (0 0)"), FrozenHotSpot("HS2", "A", "POINT (1 1)")]
    >>> d = TrialDesign(kind="daily", start=date(2025, 4, 1), end=date(2025, 4, 7), cap_per_day=1)
    >>> c = commit(spots, d, seed="ab" * 32, nonce="cd" * 16)
    >>> len(c.digest_hex), "seed" in c.public_manifest
    (64, False)
    """
    manifest = public_manifest(
        hotspots,
        design,
        nonce=nonce,
        trial_label=trial_label,
        code_revision=code_revision,
        analysis_plan=analysis_plan,
    )
    return Commitment(
        digest_hex=commitment_digest(manifest, seed=seed),
        manifest_json=canonical_json(manifest).decode("utf-8"),
    )


def _manifest_parts(manifest: Mapping[str, Any]) -> tuple[TrialDesign, list[dict[str, Any]]]:
    protocol = manifest.get("protocol")
    if protocol not in _PROTOCOL_FIELDS:
        raise CommitmentError(
            f"manifest protocol {protocol!r} is not one of {sorted(_PROTOCOL_FIELDS)}. Verify it with the "
            "Rasure version named in the manifest (rasure_version)."
        )
    expected_fields = _PROTOCOL_FIELDS[protocol]
    if set(manifest) != expected_fields:
        raise CommitmentError(
            f"manifest fields {sorted(manifest)} differ from {sorted(expected_fields)}: it was edited or made "
            f"by another protocol than {protocol}."
        )
    if protocol == COMMITMENT_PROTOCOL_WITH_PLAN:
        AnalysisPlan.from_json_dict(manifest["analysis_plan"], where="the manifest's analysis_plan")
    if manifest["schedule_algorithm"] not in SCHEDULE_ALGORITHMS:
        raise CommitmentError(
            f"the schedule was made with {manifest['schedule_algorithm']!r}; this Rasure implements "
            f"{list(SCHEDULE_ALGORITHMS)}. Install rasure=={manifest['rasure_version']} to verify it."
        )
    if not isinstance(manifest["design"], dict) or not isinstance(manifest["hotspots"], list):
        raise CommitmentError("manifest 'design' must be an object and 'hotspots' a list.")
    design = TrialDesign.from_json_dict(manifest["design"])
    spots: list[dict[str, Any]] = manifest["hotspots"]
    for h in spots:
        if not isinstance(h, dict) or set(h) != _HOTSPOT_FIELDS:
            raise CommitmentError(
                f"manifest hot spot {h!r} must have exactly the fields {sorted(_HOTSPOT_FIELDS)}."
            )
    ids = [h["hotspot_id"] for h in spots]
    if ids != sorted(ids):
        raise CommitmentError("manifest hot spots are not sorted by hotspot_id: the manifest was edited.")
    return design, spots


def schedule_from_manifest(manifest: Mapping[str, Any], *, seed: str) -> pd.DataFrame:
    """Recompute the schedule from a public manifest and the revealed seed."""
    design, spots = _manifest_parts(manifest)
    entries = [(h["hotspot_id"], h["stratum"], h["pair_or_block"]) for h in spots]
    if design.kind == "blocked":
        sizes: dict[str, int] = {}
        for _, _, block in entries:
            sizes[str(block)] = sizes.get(str(block), 0) + 1
        if any(b is None for _, _, b in entries) or min(sizes.values()) < 2:
            raise CommitmentError(
                "manifest blocks are incomplete (a hot spot without a block, or a single-spot block)."
            )
    return schedule_for_entries(entries, design, seed=seed, algorithm=manifest["schedule_algorithm"])


@dataclass(frozen=True)
class RowDifference:
    """One schedule row that does not match the recomputed schedule.

    ``location`` is ``"line N"`` of the given CSV (header = line 1) or ``"row N"`` (0-based position)
    of a given table; ``field`` is ``"arm"``, ``"stratum"``, ``"missing row"``, ``"unexpected row"``
    or ``"repeated row"``.
    """

    location: str
    trial_day: str
    hotspot_id: str
    shift: str
    field: str
    expected: str
    found: str

    def __str__(self) -> str:
        unit = self.hotspot_id + (f" ({self.shift})" if self.shift else "")
        return f"{self.location}: {self.trial_day} {unit}: {self.field}: expected {self.expected!r}, found {self.found!r}"


@dataclass(frozen=True)
class VerificationResult:
    """What :func:`verify` found. ``ok`` only when the commitment, the schedule and (if given) the set all match."""

    ok: bool
    commitment_ok: bool
    published_digest: str
    recomputed_digest: str | None
    schedule_ok: bool
    expected_schedule_sha256: str | None
    given_schedule_sha256: str | None
    row_differences: tuple[RowDifference, ...]
    hotspot_differences: tuple[str, ...]
    notes: tuple[str, ...]

    def report(self, *, max_rows: int = 20) -> str:
        """A plain-text account for a person: the verdict first, then each difference."""
        lines = [f"verification: {'PASSED' if self.ok else 'FAILED'}"]
        lines.append(
            f"commitment: {'matches' if self.commitment_ok else 'DOES NOT MATCH'} "
            f"(published {self.published_digest}, recomputed {self.recomputed_digest})"
        )
        lines.append(
            f"schedule: {'matches' if self.schedule_ok else 'DIFFERS'} (recomputed sha256 "
            f"{self.expected_schedule_sha256}, given {self.given_schedule_sha256})"
        )
        lines.extend(str(d) for d in self.row_differences[:max_rows])
        if len(self.row_differences) > max_rows:
            lines.append(f"... and {len(self.row_differences) - max_rows} more row differences")
        lines.extend(f"frozen set: {d}" for d in self.hotspot_differences)
        lines.extend(f"note: {n}" for n in self.notes)
        return "\n".join(lines)


_Key = tuple[str, str, str]


def _given_rows(
    schedule: pd.DataFrame | bytes | str,
) -> tuple[list[tuple[str, _Key, str, str]], str | None, bytes | None]:
    """(location, key, stratum, arm) for each given row, the given hash and the given bytes (if CSV)."""
    raw: bytes | None = None
    if isinstance(schedule, bytes | str):
        raw = schedule.encode("utf-8") if isinstance(schedule, str) else schedule
        frame = read_schedule_csv(raw)
        locations = [f"line {n}" for n in frame["line"]]
        given_hash: str | None = hashlib.sha256(raw).hexdigest()
    elif isinstance(schedule, pd.DataFrame):
        frame = schedule
        for c in ("trial_day", "hotspot_id", "stratum", "arm"):
            if c not in frame.columns:
                raise ScheduleError(f"the given schedule lacks column {c!r}.")
        locations = [f"row {i}" for i in range(len(frame))]
        try:
            given_hash = schedule_sha256(frame)
        except TrialError:
            given_hash = None
    else:
        raise ScheduleError("give the schedule as a DataFrame or as the CSV bytes/text.")
    shifts = frame["shift"] if "shift" in frame.columns else pd.Series([""] * len(frame))
    rows = []
    for loc, day, hid, stratum, shift, arm in zip(
        locations,
        frame["trial_day"],
        frame["hotspot_id"],
        frame["stratum"],
        shifts,
        frame["arm"],
        strict=True,
    ):
        rows.append((loc, (format_trial_day(day), str(hid), str(shift)), str(stratum), str(arm)))
    return rows, given_hash, raw


def _compare_rows(
    expected: pd.DataFrame, schedule: pd.DataFrame | bytes | str
) -> tuple[list[RowDifference], str | None, bytes | None]:
    given, given_hash, raw = _given_rows(schedule)
    shifts = expected["shift"] if "shift" in expected.columns else pd.Series([""] * len(expected))
    want: dict[_Key, tuple[str, str]] = {
        (d.isoformat(), h, s): (st, a)
        for d, h, s, st, a in zip(
            expected["trial_day"],
            expected["hotspot_id"],
            shifts,
            expected["stratum"],
            expected["arm"],
            strict=True,
        )
    }
    diffs: list[RowDifference] = []
    seen: dict[_Key, str] = {}
    for loc, key, stratum, arm in given:
        day, hid, shift = key
        if key in seen:
            diffs.append(
                RowDifference(loc, day, hid, shift, "repeated row", f"once (first at {seen[key]})", "again")
            )
            continue
        seen[key] = loc
        if key not in want:
            diffs.append(
                RowDifference(loc, day, hid, shift, "unexpected row", "no such trial day and unit", arm)
            )
            continue
        exp_stratum, exp_arm = want[key]
        if arm != exp_arm:
            diffs.append(RowDifference(loc, day, hid, shift, "arm", exp_arm, arm))
        if stratum != exp_stratum:
            diffs.append(RowDifference(loc, day, hid, shift, "stratum", exp_stratum, stratum))
    for key, (_, exp_arm) in want.items():
        if key not in seen:
            diffs.append(RowDifference("(absent)", key[0], key[1], key[2], "missing row", exp_arm, ""))
    return diffs, given_hash, raw


def verify(
    commitment: Commitment,
    revealed_seed: str,
    schedule: pd.DataFrame | bytes | str,
    *,
    hotspots: Sequence[FrozenHotSpot] | None = None,
) -> VerificationResult:
    """Check a revealed seed against a published commitment and a schedule in use.

    Recomputes ``SHA-256(canonical_json(manifest + seed))`` and compares it with the published digest;
    recomputes the schedule from the manifest and the seed and compares it row by row with
    ``schedule`` (a DataFrame, or CSV bytes/text whose line numbers are then reported); and, when
    ``hotspots`` (e.g. the set as stored now) is given, compares their ids, strata, blocks and geofence
    hashes with the manifest. Every difference is listed, none is raised.
    """
    manifest = commitment.public_manifest
    notes: list[str] = []
    try:
        recomputed: str | None = commitment_digest(manifest, seed=revealed_seed)
    except SeedError as exc:
        recomputed = None
        notes.append(str(exc))
    commitment_ok = recomputed is not None and hmac.compare_digest(recomputed, commitment.digest_hex)
    if manifest.get("rasure_version") != __version__:
        notes.append(
            f"manifest made with rasure {manifest.get('rasure_version')}, checked with {__version__} "
            f"(schedule algorithm {manifest.get('schedule_algorithm')}, which this version implements)."
        )
    expected_hash: str | None = None
    diffs: list[RowDifference] = []
    given_hash: str | None = None
    schedule_ok = False
    if recomputed is not None:
        expected = schedule_from_manifest(manifest, seed=revealed_seed)
        expected_bytes = schedule_to_csv(expected)
        expected_hash = hashlib.sha256(expected_bytes).hexdigest()
        diffs, given_hash, raw = _compare_rows(expected, schedule)
        schedule_ok = not diffs
        if schedule_ok and raw is not None and raw != expected_bytes:
            notes.append(
                "every row matches, but the file's bytes differ from the canonical CSV (line ends, quoting, "
                "order or encoding), so its SHA-256 differs; re-export it with schedule_to_csv to compare hashes."
            )
    hotspot_diffs = _compare_hotspots(manifest, hotspots) if hotspots is not None else []
    return VerificationResult(
        ok=commitment_ok and schedule_ok and not hotspot_diffs,
        commitment_ok=commitment_ok,
        published_digest=commitment.digest_hex,
        recomputed_digest=recomputed,
        schedule_ok=schedule_ok,
        expected_schedule_sha256=expected_hash,
        given_schedule_sha256=given_hash,
        row_differences=tuple(diffs),
        hotspot_differences=tuple(hotspot_diffs),
        notes=tuple(notes),
    )


def _compare_hotspots(manifest: Mapping[str, Any], hotspots: Sequence[FrozenHotSpot]) -> list[str]:
    published = {h["hotspot_id"]: h for h in manifest["hotspots"]}
    current = {h.hotspot_id: h for h in hotspots}
    out = [f"{i}: in the manifest but not in the given set" for i in sorted(set(published) - set(current))]
    out += [f"{i}: in the given set but not in the manifest" for i in sorted(set(current) - set(published))]
    for i in sorted(set(published) & set(current)):
        p, c = published[i], current[i]
        if p["stratum"] != c.stratum:
            out.append(f"{i}: stratum {c.stratum!r}, committed {p['stratum']!r}")
        if p["pair_or_block"] != c.pair_or_block:
            out.append(f"{i}: pair_or_block {c.pair_or_block!r}, committed {p['pair_or_block']!r}")
        if p["geofence_sha256"] != c.geofence_sha256():
            out.append(
                f"{i}: geofence changed since commitment (sha256 {c.geofence_sha256()}, committed {p['geofence_sha256']})"
            )
    return out
