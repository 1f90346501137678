"""One migrated SQLite test database per set of migrations, copied by every test process.

Each pytest-xdist worker makes its own test database, and migrating one took 70-90 s on the 2-core
machine under load, in each of CI's four SQLite passes (the plain run and the three moved clocks). A
file test database (settings: ``TEST["NAME"]``) is instead copied from a template migrated once, kept
in ``var/test-databases/`` under a key made of the Django version and every migration file's path
and bytes (a new or edited migration gives a new template; the old ones are removed). The copy is
then handed to Django as a kept database (``keepdb``): its ``migrate`` finds nothing to apply but
still runs every post-migrate step, and the test run goes on exactly as after a fresh migration.
The template's only clock-written value is ``django_migrations.applied`` (read by no test).
``RASURE_TESTS_FRESH_MIGRATIONS=1`` migrates every test database afresh.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
from pathlib import Path
from typing import Any

TEMPLATES = Path(__file__).resolve().parents[1] / "var" / "test-databases"


def migrations_key() -> str:
    """A digest of the Django version and of every installed app's migration files."""
    import django
    from django.apps import apps

    digest = hashlib.sha256(django.get_version().encode())
    for app in sorted(apps.get_app_configs(), key=lambda a: a.label):
        folder = Path(app.path) / "migrations"
        for path in sorted(folder.rglob("*.py")) if folder.is_dir() else []:
            digest.update(f"{app.label}/{path.relative_to(folder).as_posix()}\0".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:20]


def install() -> None:
    """Make SQLite's ``create_test_db`` copy the template (building it first if it is missing)."""
    from django.db.backends.sqlite3.creation import DatabaseCreation

    original = DatabaseCreation.create_test_db
    if getattr(original, "from_template", False):
        return

    def create_test_db(
        self: Any, verbosity: int = 1, autoclobber: bool = False, serialize: bool = True, keepdb: bool = False
    ) -> str:
        name = self._get_test_db_name()
        if keepdb or self.is_in_memory_db(name) or os.environ.get("RASURE_TESTS_FRESH_MIGRATIONS") == "1":
            return original(self, verbosity, autoclobber, serialize, keepdb)
        TEMPLATES.mkdir(parents=True, exist_ok=True)
        template = TEMPLATES / f"migrated-{migrations_key()}.sqlite3"
        with (TEMPLATES / "lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # one process builds it, the others wait and copy
            if not template.exists():
                made = original(self, verbosity, autoclobber, serialize, keepdb)
                partial = template.with_suffix(".partial")
                partial.unlink(missing_ok=True)
                with self.connection.cursor() as cur:
                    cur.execute("VACUUM INTO %s", [str(partial)])
                partial.replace(template)
                for old in TEMPLATES.glob("migrated-*.sqlite3"):
                    if old != template:
                        old.unlink(missing_ok=True)
                return made
        for leftover in (name, f"{name}-wal", f"{name}-shm", f"{name}-journal"):
            Path(leftover).unlink(missing_ok=True)
        shutil.copyfile(template, name)
        return original(self, verbosity, autoclobber, serialize, keepdb=True)

    create_test_db.from_template = True  # type: ignore[attr-defined]
    DatabaseCreation.create_test_db = create_test_db  # type: ignore[method-assign]
