"""Make the access log append-only in the database itself (DPA 2018 s.62)."""

from django.db import migrations

from rasure_web.accounts.migrations import _append_only


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    _append_only.install(schema_editor.connection)


def backwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    _append_only.remove(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
