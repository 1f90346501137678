"""The access log becomes a hash chain (rasure_web.accounts.chain); existing entries are chained in id
order. On SQLite adding a unique column rebuilds the table, which drops its triggers, so the append-only
triggers are put back. PostgreSQL gets a statement-level guard: row triggers do not see TRUNCATE."""

from django.db import migrations, models

import rasure_web.clock
from rasure_web.accounts.migrations import _append_only

TRUNCATE_GUARD = (
    "CREATE TRIGGER access_log_no_truncate BEFORE TRUNCATE ON access_log "
    "FOR EACH STATEMENT EXECUTE FUNCTION access_log_append_only();"
)


def chain_existing(apps, schema_editor):  # type: ignore[no-untyped-def]
    from rasure_web.accounts.chain import GENESIS, row_hash

    AccessLog = apps.get_model("accounts", "AccessLog")
    connection = schema_editor.connection
    _append_only.remove(connection)
    prev = GENESIS
    for seq, entry in enumerate(AccessLog.objects.order_by("id").iterator(chunk_size=2000), start=1):
        entry.seq, entry.prev_hash = seq, prev
        entry.row_hash = row_hash(entry)
        AccessLog.objects.filter(pk=entry.pk).update(seq=seq, prev_hash=prev, row_hash=entry.row_hash)
        prev = entry.row_hash
    _append_only.install(connection)
    if connection.vendor == "postgresql":
        schema_editor.execute("DROP TRIGGER IF EXISTS access_log_no_truncate ON access_log;")
        schema_editor.execute(TRUNCATE_GUARD)


def triggers_back(apps, schema_editor):  # type: ignore[no-untyped-def]
    """Backwards, last: on SQLite removing the columns rebuilt the table without its triggers."""
    _append_only.install(schema_editor.connection)


def unchain(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP TRIGGER IF EXISTS access_log_no_truncate ON access_log;")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_sso_identity"),
    ]

    operations = [
        migrations.RunPython(migrations.RunPython.noop, triggers_back),
        migrations.AddField(
            model_name="accesslog",
            name="prev_hash",
            field=models.CharField(blank=True, editable=False, max_length=64),
        ),
        migrations.AddField(
            model_name="accesslog",
            name="row_hash",
            field=models.CharField(blank=True, editable=False, max_length=64),
        ),
        migrations.AddField(
            model_name="accesslog",
            name="seq",
            field=models.BigIntegerField(editable=False, null=True, unique=True),
        ),
        migrations.AlterField(
            model_name="accesslog",
            name="at",
            field=models.DateTimeField(db_index=True, default=rasure_web.clock.now),
        ),
        migrations.AlterField(
            model_name="accesslog",
            name="action",
            field=models.CharField(
                choices=[
                    ("view", "Viewed"),
                    ("export", "Exported"),
                    ("search", "Searched"),
                    ("refused", "Refused"),
                    ("import", "Imported"),
                    ("sign_in", "Signed in"),
                    ("sign_in_failed", "Sign-in failed"),
                    ("sign_out", "Signed out"),
                    ("audit", "Audited"),
                    ("delete", "Deleted (retention)"),
                ],
                max_length=16,
            ),
        ),
        migrations.RunPython(chain_existing, unchain),
    ]
