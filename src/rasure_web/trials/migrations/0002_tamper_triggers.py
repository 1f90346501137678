"""Database triggers: a committed trial's design, commitment, frozen set and schedule cannot change.

Whatever path the SQL takes (the ORM, ``QuerySet.update``, raw SQL through the app's connection, a
database shell), the database refuses:

- UPDATE of a committed (or completed) trial's frozen columns, a status change other than
  committed -> completed, or changing ``revealed_seed``/``completed_at`` once set; DELETE of such a trial;
- INSERT, UPDATE or DELETE of ``trial_hotspot`` and ``trial_schedule_entry`` rows of a trial that is not
  a draft (the schedule is written while the trial is still a draft, in the same transaction as commit).

A database superuser can still drop the triggers: the published commitment is what detects that.
"""

from django.db import migrations

FROZEN_TRIAL_COLUMNS = (
    "name",
    "design",
    "strata_rule",
    "analysis_run_id",
    "synthetic",
    "created_at",
    "commitment_sha256",
    "manifest_json",
    "schedule_sha256",
    "code_revision",
    "committed_at",
    "committed_by",
)
CHILD_TABLES = ("trial_hotspot", "trial_schedule_entry")
MESSAGE = "trial is committed: its design, frozen set and schedule cannot change"


def _sqlite() -> list[str]:
    changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in FROZEN_TRIAL_COLUMNS)
    statements = [
        "CREATE TRIGGER trial_frozen_no_update BEFORE UPDATE ON trial "
        f"WHEN OLD.status <> 'draft' AND ({changed} "
        "OR NOT (NEW.status = OLD.status OR (OLD.status = 'committed' AND NEW.status = 'completed')) "
        "OR (OLD.revealed_seed <> '' AND NEW.revealed_seed IS NOT OLD.revealed_seed) "
        "OR (OLD.completed_at IS NOT NULL AND NEW.completed_at IS NOT OLD.completed_at)) "
        f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;",
        "CREATE TRIGGER trial_frozen_no_delete BEFORE DELETE ON trial WHEN OLD.status <> 'draft' "
        f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;",
    ]
    for table in CHILD_TABLES:
        committed = "(SELECT status FROM trial WHERE id = {row}.trial_id) <> 'draft'"
        statements += [
            f"CREATE TRIGGER {table}_frozen_no_insert BEFORE INSERT ON {table} "
            f"WHEN {committed.format(row='NEW')} BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;",
            f"CREATE TRIGGER {table}_frozen_no_update BEFORE UPDATE ON {table} "
            f"WHEN {committed.format(row='OLD')} OR {committed.format(row='NEW')} "
            f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;",
            f"CREATE TRIGGER {table}_frozen_no_delete BEFORE DELETE ON {table} "
            f"WHEN {committed.format(row='OLD')} BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;",
        ]
    return statements


def _postgres() -> list[str]:
    changed = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in FROZEN_TRIAL_COLUMNS)
    return [
        f"""CREATE OR REPLACE FUNCTION trial_frozen_guard() RETURNS trigger AS $$
        BEGIN
          IF OLD.status <> 'draft' THEN
            IF TG_OP = 'DELETE' THEN
              RAISE EXCEPTION 'trial %: {MESSAGE} (DELETE refused)', OLD.id;
            END IF;
            IF {changed}
               OR NOT (NEW.status = OLD.status OR (OLD.status = 'committed' AND NEW.status = 'completed'))
               OR (OLD.revealed_seed <> '' AND NEW.revealed_seed IS DISTINCT FROM OLD.revealed_seed)
               OR (OLD.completed_at IS NOT NULL AND NEW.completed_at IS DISTINCT FROM OLD.completed_at) THEN
              RAISE EXCEPTION 'trial %: {MESSAGE} (UPDATE refused)', OLD.id;
            END IF;
          END IF;
          IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
          RETURN NEW;
        END; $$ LANGUAGE plpgsql;""",
        "CREATE TRIGGER trial_frozen_guard BEFORE UPDATE OR DELETE ON trial "
        "FOR EACH ROW EXECUTE FUNCTION trial_frozen_guard();",
        f"""CREATE OR REPLACE FUNCTION trial_child_frozen_guard() RETURNS trigger AS $$
        DECLARE s text;
        BEGIN
          IF TG_OP IN ('UPDATE', 'DELETE') THEN
            SELECT status INTO s FROM trial WHERE id = OLD.trial_id;
            IF s IS NOT NULL AND s <> 'draft' THEN
              RAISE EXCEPTION '%: row of trial %: {MESSAGE} (% refused)', TG_TABLE_NAME, OLD.trial_id, TG_OP;
            END IF;
          END IF;
          IF TG_OP IN ('INSERT', 'UPDATE') THEN
            SELECT status INTO s FROM trial WHERE id = NEW.trial_id;
            IF s IS NOT NULL AND s <> 'draft' THEN
              RAISE EXCEPTION '%: row of trial %: {MESSAGE} (% refused)', TG_TABLE_NAME, NEW.trial_id, TG_OP;
            END IF;
          END IF;
          IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
          RETURN NEW;
        END; $$ LANGUAGE plpgsql;""",
        *(
            f"CREATE TRIGGER {t}_frozen_guard BEFORE INSERT OR UPDATE OR DELETE ON {t} "
            "FOR EACH ROW EXECUTE FUNCTION trial_child_frozen_guard();"
            for t in CHILD_TABLES
        ),
    ]


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    statements = _postgres() if schema_editor.connection.vendor == "postgresql" else _sqlite()
    for sql in statements:
        schema_editor.execute(sql, None)  # no parameters: the "%" in RAISE messages is literal


def backwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP TRIGGER IF EXISTS trial_frozen_guard ON trial;")
        for t in CHILD_TABLES:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {t}_frozen_guard ON {t};")
        schema_editor.execute("DROP FUNCTION IF EXISTS trial_frozen_guard();")
        schema_editor.execute("DROP FUNCTION IF EXISTS trial_child_frozen_guard();")
    else:
        for name in ("trial_frozen_no_update", "trial_frozen_no_delete"):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name};")
        for t in CHILD_TABLES:
            for op in ("insert", "update", "delete"):
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {t}_frozen_no_{op};")


class Migration(migrations.Migration):
    dependencies = [("trials", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
