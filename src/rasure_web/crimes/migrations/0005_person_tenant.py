# Written by hand (Django 5.2): a person belongs to a force, and person ids are unique within a force
# (each force's records system numbers its own people). People already here go to the force of the
# records that name them, else as in 0003_tenant.

import django.db.models.deletion
from django.db import migrations, models

import rasure_web.accounts.tenancy
from rasure_web.accounts import tenant_migration


def _from_records(apps, schema_editor):  # type: ignore[no-untyped-def]
    schema_editor.execute(
        "UPDATE person SET tenant_id = (SELECT c.tenant_id FROM crime_person_link l "
        "JOIN crime_record c ON c.id = l.record_id WHERE l.person_id = person.id LIMIT 1) "
        "WHERE tenant_id IS NULL"
    )


FIELD = {
    "help_text": "the force whose records name this person (a force's person ids are its own)",
    "null": True,
    "on_delete": django.db.models.deletion.PROTECT,
    "related_name": "+",
    "to": "accounts.force",
    "verbose_name": "force",
}


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0009_access_log_erase_action"),
        ("crimes", "0004_importrun_trigger"),
    ]

    operations = [
        migrations.AlterField(model_name="person", name="person_id", field=models.CharField(max_length=64)),
        migrations.AddField(model_name="person", name="tenant", field=models.ForeignKey(**FIELD)),
        migrations.RunPython(_from_records, migrations.RunPython.noop),
        tenant_migration.fill("person"),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="person",
                    name="tenant",
                    field=models.ForeignKey(default=rasure_web.accounts.tenancy.default_force_pk, **FIELD),
                ),
            ],
        ),
        migrations.AddConstraint(
            model_name="person",
            constraint=models.UniqueConstraint(fields=("tenant", "person_id"), name="person_force_id_unique"),
        ),
    ]
