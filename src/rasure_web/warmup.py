"""A web server process made ready before its first request (called by :mod:`rasure_web.wsgi`).

Two costs otherwise land on the first requests a process serves: importing the modules the views
use, and Python's cyclic garbage collector, whose full collections walk every object the process
holds. After start-up that is some 180,000 objects (Django, the project, numpy, shapely, ...) that
live as long as the process, and walking them took 160-240 ms on a 2-core machine: a full
collection falls, sooner or later, on some request (measured: the 52-week patrol-monitoring page,
cold, 554 ms with one such collection of 237 ms in it). So the process imports the project's
modules, collects once, and then moves everything it holds into the collector's permanent
generation (:func:`gc.freeze`, the use the Python documentation describes for long-lived
start-up objects), which later collections skip; what requests allocate is still collected.
"""

from __future__ import annotations

import gc
import importlib
import pkgutil

import rasure_web


def _served(name: str) -> bool:
    """False for what a web request never reaches: migrations, the command line (``cli``,
    ``cli_*``), the demo set-up and the entry points."""
    parts = name.split(".")
    last = parts[-1]
    return (
        "migrations" not in parts
        and last not in {"cli", "demo", "wsgi", "asgi"}
        and not last.startswith("cli_")
    )


def served_modules() -> list[str]:
    """The names of the project's modules a server process imports before its first request."""
    return [m.name for m in pkgutil.walk_packages(rasure_web.__path__, "rasure_web.") if _served(m.name)]


def warm_process() -> None:
    """Import :func:`served_modules` and the URL configuration, collect garbage once, then freeze
    what the process holds out of later collections (:func:`gc.freeze`). Call after
    ``django.setup()``."""
    from django.urls import get_resolver

    for name in served_modules():
        importlib.import_module(name)
    get_resolver().url_patterns  # noqa: B018  (builds the URL configuration, importing every view)
    gc.collect()
    gc.freeze()
