# TriggerMark, moved from the events app with its table (events_triggermark) and its rows: a
# change of Django's state only, nothing runs on the database.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0003_vapidkeypair"),
        ("events", "0007_triggermark_to_campaigns"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="TriggerMark",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("app_id", models.BigIntegerField()),
                        ("event_id", models.BigIntegerField()),
                        ("contact_id", models.BigIntegerField()),
                        ("event_type_id", models.BigIntegerField()),
                        ("created_at", models.DateTimeField()),
                    ],
                    options={
                        "db_table": "events_triggermark",
                        "indexes": [
                            models.Index(fields=["contact_id"], name="trigger_mark_contact")
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
