"""Specific exception types for the core.

Every error about input says which file, which line and which field was wrong and
how to fix it, so an analyst can correct the file without reading our code.
"""

from __future__ import annotations

from dataclasses import dataclass


class RasureError(Exception):
    """Base class for every error the core raises on purpose."""


@dataclass(frozen=True)
class RowProblem:
    """One rejected input row.

    ``line`` is the 1-based line number in the file as a text editor shows it
    (the header is line 1). ``field`` is the column name, or ``""`` when the whole
    row is wrong.
    """

    file: str
    line: int
    field: str
    value: str
    reason: str
    hint: str = ""

    def __str__(self) -> str:
        where = f"{self.file}, line {self.line}"
        if self.field:
            where += f", field {self.field!r}"
        shown = f" (value {self.value!r})" if self.value else ""
        fix = f" How to fix: {self.hint}" if self.hint else ""
        return f"{where}: {self.reason}{shown}.{fix}"


class InputFileError(RasureError):
    """A whole file cannot be read: wrong header, wrong encoding, not a CSV, empty."""

    def __init__(self, file: str, reason: str, *, hint: str = "", line: int | None = None) -> None:
        self.file = file
        self.reason = reason
        self.hint = hint
        self.line = line
        where = file if line is None else f"{file}, line {line}"
        fix = f" How to fix: {hint}" if hint else ""
        super().__init__(f"{where}: {reason}.{fix}")


class InvalidRowsError(RasureError):
    """One or more rows of a file are invalid; the file is rejected whole.

    ``problems`` lists every rejected row (not just the first), so
    ``--errors-out`` can write them all at once.
    """

    def __init__(self, file: str, problems: list[RowProblem], total_rows: int) -> None:
        self.file = file
        self.problems = problems
        self.total_rows = total_rows
        first = problems[0] if problems else None
        more = f" (and {len(problems) - 1} more rejected rows)" if len(problems) > 1 else ""
        super().__init__(
            f"{file}: {len(problems)} of {total_rows} rows are invalid, so nothing from this file "
            f"was imported. First: {first}{more}"
        )


class ConfigError(RasureError):
    """A rule table or mapping file (TOML/CSV) is wrong."""
