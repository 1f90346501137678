"""PostgreSQL: TRUNCATE of a committed trial's tables is refused (row triggers, migration 0002, do not
fire on TRUNCATE). SQLite has no TRUNCATE; its DELETE is caught by the row triggers."""

from django.db import migrations

TABLES = ("trial", "trial_hotspot", "trial_schedule_entry")
FUNCTION = """CREATE OR REPLACE FUNCTION trial_truncate_guard() RETURNS trigger AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM trial WHERE status <> 'draft') THEN
    RAISE EXCEPTION '%: a committed trial''s design, frozen set and schedule cannot change (TRUNCATE refused)',
      TG_TABLE_NAME;
  END IF;
  RETURN NULL;
END; $$ LANGUAGE plpgsql;"""


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTION, None)
    for t in TABLES:
        schema_editor.execute(
            f"CREATE TRIGGER {t}_no_truncate BEFORE TRUNCATE ON {t} "
            "FOR EACH STATEMENT EXECUTE FUNCTION trial_truncate_guard();"
        )


def backwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "postgresql":
        return
    for t in TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {t}_no_truncate ON {t};")
    schema_editor.execute("DROP FUNCTION IF EXISTS trial_truncate_guard();")


class Migration(migrations.Migration):
    dependencies = [("trials", "0002_tamper_triggers")]
    operations = [migrations.RunPython(forwards, backwards)]
