# Written by hand (Django 5.2): harm tables and serious-violence scope tables belong to a force (issue
# 10). Rows already here go to the existing force, as in 0003_tenant (tenant_migration.fill); a harm
# key is unique within a force.

import django.db.models.deletion
from django.db import migrations, models

import rasure_web.accounts.tenancy
from rasure_web.accounts import tenant_migration

FIELD = {
    "help_text": "the force this belongs to (rasure_web.accounts.tenancy)",
    "null": True,
    "on_delete": django.db.models.deletion.PROTECT,
    "related_name": "+",
    "to": "accounts.force",
    "verbose_name": "force",
}
MODELS = ("harmweight", "harmtableinfo", "scopetableinfo")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0009_access_log_erase_action"),
        ("crimes", "0005_person_tenant"),
    ]

    operations = [
        *(migrations.AddField(model_name=m, name="tenant", field=models.ForeignKey(**FIELD)) for m in MODELS),
        tenant_migration.fill("harm_weight", "harm_table_info", "scope_table_info"),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name=m,
                    name="tenant",
                    field=models.ForeignKey(default=rasure_web.accounts.tenancy.default_force_pk, **FIELD),
                )
                for m in MODELS
            ],
        ),
        migrations.RemoveConstraint(model_name="harmweight", name="harm_key_unique"),
        migrations.AddConstraint(
            model_name="harmweight",
            constraint=models.UniqueConstraint(
                fields=("tenant", "key_type", "key"), name="harm_force_key_unique"
            ),
        ),
    ]
