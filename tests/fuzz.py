"""A seeded mutator for import files: the same seed always gives the same broken file.

Used by the fuzz tests (tests/core/test_ingest_fuzz.py, tests/web/test_import_fuzz.py): each mutation
is a kind of damage seen in real exports (line endings, stray quotes, huge fields, empty or
non-finite coordinates, wrong bytes, cut-off files) applied at a random place.
"""

from __future__ import annotations

import gzip
import random
from collections.abc import Callable

Mutation = Callable[[random.Random, bytes], bytes]

#: Field values that have broken readers before (non-finite numbers, huge text, odd quoting).
NASTY_VALUES = [
    b"",
    b" ",
    b"inf",
    b"-inf",
    b"nan",
    b"NaN",
    b"1e400",
    b"-1e-400",
    b"0x10",
    b"1_000",
    b"\xc3\xa9t\xc3\xa9",
    b"\xff\xfe",
    b"\x00",
    b'"',
    b'"a,b"',
    b'"multi\nline"',
    b"=HYPERLINK(1)",
    b"x" * 140_000,
    b"9" * 400,
    b"2024-13",
    b"2024-02-30 25:61",
    b"31/12/2024",
    b"-0",
    b"1,5",
]


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def _set_field(rng: random.Random, data: bytes) -> bytes:
    lines = _lines(data)
    if len(lines) < 2:
        return data
    i = rng.randrange(1, len(lines))
    fields = lines[i].split(b",")
    fields[rng.randrange(len(fields))] = rng.choice(NASTY_VALUES)
    lines[i] = b",".join(fields)
    return b"\n".join(lines)


def _header_field(rng: random.Random, data: bytes) -> bytes:
    lines = _lines(data)
    fields = lines[0].split(b",")
    j = rng.randrange(len(fields))
    fields[j] = rng.choice([b"", fields[j].upper(), fields[j] + b" ", fields[0], b"Extra"])
    lines[0] = b",".join(fields)
    return b"\n".join(lines)


def _line_endings(rng: random.Random, data: bytes) -> bytes:
    return data.replace(b"\n", rng.choice([b"\r", b"\r\n", b"\n\n", b"\r\r\n"]))


def _drop_line(rng: random.Random, data: bytes) -> bytes:
    lines = _lines(data)
    del lines[rng.randrange(len(lines))]
    return b"\n".join(lines)


def _duplicate_line(rng: random.Random, data: bytes) -> bytes:
    lines = _lines(data)
    i = rng.randrange(len(lines))
    lines.insert(rng.randrange(len(lines) + 1), lines[i])
    return b"\n".join(lines)


def _truncate(rng: random.Random, data: bytes) -> bytes:
    return data[: rng.randrange(len(data) + 1)]


def _insert_byte(rng: random.Random, data: bytes) -> bytes:
    i = rng.randrange(len(data) + 1)
    return data[:i] + bytes([rng.choice(b'",\r\n\x00\xff;\t ')]) + data[i:]


def _delete_byte(rng: random.Random, data: bytes) -> bytes:
    if not data:
        return data
    i = rng.randrange(len(data))
    return data[:i] + data[i + 1 :]


def _empty_coordinates(rng: random.Random, data: bytes) -> bytes:
    """Blank one or both coordinates of a row (the ``inf`` bug: empty lon/lat counted as located)."""
    lines = _lines(data)
    if len(lines) < 2:
        return data
    header = lines[0].split(b",")
    cols = [j for j, h in enumerate(header) if h.strip().lower() in (b"longitude", b"latitude", b"x", b"y")]
    i = rng.randrange(1, len(lines))
    fields = lines[i].split(b",")
    for j in cols:
        if j < len(fields) and rng.random() < 0.7:
            fields[j] = rng.choice([b"", b" ", b"nan", b"inf"])
    lines[i] = b",".join(fields)
    return b"\n".join(lines)


def _bom_and_blank(rng: random.Random, data: bytes) -> bytes:
    return rng.choice([b"\xef\xbb\xbf", b"\n", b" \n", b""]) + data + rng.choice([b"", b"\n\n", b"\x1a"])


MUTATIONS: list[Mutation] = [
    _set_field,
    _set_field,
    _set_field,
    _header_field,
    _line_endings,
    _drop_line,
    _duplicate_line,
    _truncate,
    _insert_byte,
    _delete_byte,
    _empty_coordinates,
    _empty_coordinates,
    _bom_and_blank,
]


def mutate(data: bytes, seed: int, *, gz: bool = False) -> bytes:
    """``data`` damaged by one to three random mutations chosen by ``seed``; gzip-compressed when
    ``gz`` (and then sometimes with the gzip stream itself damaged)."""
    rng = random.Random(seed)
    for _ in range(rng.randint(1, 3)):
        data = rng.choice(MUTATIONS)(rng, data)
    if not gz:
        return data
    packed = gzip.compress(data, mtime=0)
    if rng.random() < 0.2:
        packed = rng.choice([_truncate, _delete_byte, _insert_byte])(rng, packed)
    return packed
