# TriggerMark moved to the campaigns app (campaigns 0004 takes it over): the table stays, only
# Django's state forgets the model here.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0006_no_event_fk_constraints"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="TriggerMark")],
            database_operations=[],
        ),
    ]
