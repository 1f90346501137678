"""Rasure core: pure analysis for hot-spot policing of serious violence.

No Django, no HTTP, no ORM in this package (an import-linter contract checks it).
Functions take data frames or arrays plus keyword-only parameters and return new
frames or small frozen dataclasses.
"""

__version__ = "0.1.0"
