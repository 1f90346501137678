"""Patrol dose: pings → visits → minutes in a hot spot and the mode of presence.

- :mod:`rasure.patrol.dose` — the dose method (docs/methods.md §6.3) for one officer's pings and a geofence.
- :mod:`rasure.patrol.avls` — radio / vehicle location (AVLS, Airwave) CSV files, and presence in every
  hot spot at once with the same dose code (untasked presence, requirement P8).
- :mod:`rasure.patrol.geolife` — the labelled GeoLife GPS tracks, used to score the mode classifier.
"""

from rasure.patrol.dose import (
    MODES,
    MOVEMENTS,
    DoseParams,
    DoseParamsError,
    PingsError,
    PresenceMode,
    Track,
    correct_clock,
    depth_in,
    dose_summary,
    find_visits,
    prepare_track,
    presence_mode,
    visit_rows,
    visits_frame,
    visits_from_depth,
)

__all__ = [
    "MODES",
    "MOVEMENTS",
    "DoseParams",
    "DoseParamsError",
    "PingsError",
    "PresenceMode",
    "Track",
    "correct_clock",
    "depth_in",
    "dose_summary",
    "find_visits",
    "prepare_track",
    "presence_mode",
    "visit_rows",
    "visits_frame",
    "visits_from_depth",
]
