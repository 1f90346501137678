"""The web project's one clock.

Every "now" and "today" in :mod:`rasure_web` comes from here, and only where no time was given:
services and selectors take an explicit ``when`` (or ``today``, ``end``, ``start``) and fall back to
:func:`now` at the edge, in a request handler, a command or the demo. The pure core
(:mod:`rasure`) never reads the clock at all; it is handed dates.

Why one place: a trial day, a cap week, "the newest complete month" of the synthetic city and the
demo trial's start all change at midnight, on the first of a month and when the clocks change.
With one clock, a test pins time once (``time-machine``, see ``tests/conftest.py``'s ``clock``
fixture) and everything agrees; CI also runs the date-sensitive tests with the system clock moved
(libfaketime) to prove nothing reads the calendar behind this module's back.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone


def now() -> datetime:
    """The current instant, timezone-aware (UTC)."""
    return timezone.now()


def local_today(tz: str | None = None) -> date:
    """Today's calendar date in ``tz`` (default: the install's ``TIME_ZONE``)."""
    return now().astimezone(ZoneInfo(tz or settings.TIME_ZONE)).date()
