"""Migration helper: give rows written before forces were tenants to a force.

Used by the migrations that added the ``tenant`` field. Rows already in a table go to the only force;
with none, to a new default force (the one :func:`rasure_web.accounts.tenancy.resolve_force` would
create); with several (forces added for users before their data was scoped), to the first force by
code, and the migration says so.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

DEFAULT_FORCE_CODE = "LOCAL"
DEFAULT_FORCE_NAME = "This installation"


def fill(*tables: str) -> migrations.RunPython:
    """A RunPython operation that sets ``tenant_id`` on the rows of ``tables`` that have none."""

    def forwards(apps: Any, schema_editor: Any) -> None:
        conn = schema_editor.connection
        q = conn.ops.quote_name
        with conn.cursor() as cur:
            todo = []
            for t in tables:
                cur.execute(f"SELECT 1 FROM {q(t)} WHERE tenant_id IS NULL LIMIT 1")
                if cur.fetchone():
                    todo.append(t)
        if not todo:
            return
        Force = apps.get_model("accounts", "Force")
        forces = list(Force.objects.order_by("code"))
        if not forces:
            force = Force.objects.create(code=DEFAULT_FORCE_CODE, name=DEFAULT_FORCE_NAME)
        else:
            force = forces[0]
            if len(forces) > 1:
                print(
                    f"\n  Rows of {', '.join(todo)} written before forces were tenants go to force "
                    f"{force.code}; several forces exist, so check this is right."
                )
        with conn.cursor() as cur:
            for t in todo:
                cur.execute(f"UPDATE {q(t)} SET tenant_id = %s WHERE tenant_id IS NULL", [force.pk])

    return migrations.RunPython(forwards, migrations.RunPython.noop)
