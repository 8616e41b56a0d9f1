"""@NOTIFICATION_FAILED's param is `reason`, as the catalog and the docs say; sending wrote
`error`. Rename the key in the events already stored, and an attribute `error` of that event type
(a `reason` one already there wins), so that segments and the timeline see one name."""

from django.db import migrations

NAME = "@NOTIFICATION_FAILED"
BATCH = 2000


def _rename(apps, old: str, new: str) -> None:
    EventType = apps.get_model("events", "EventType")
    Event = apps.get_model("events", "Event")
    EventAttribute = apps.get_model("events", "EventAttribute")
    type_ids = list(EventType.objects.filter(name=NAME).values_list("pk", flat=True))
    if not type_ids:
        return
    stored = Event.objects.filter(event_type_id__in=type_ids, params__has_key=old)
    changed = []
    for event in stored.only("pk", "params").iterator(chunk_size=BATCH):
        params = dict(event.params)
        value = params.pop(old)
        params.setdefault(new, value)
        event.params = params
        changed.append(event)
        if len(changed) == BATCH:
            Event.objects.bulk_update(changed, ["params"])
            changed = []
    Event.objects.bulk_update(changed, ["params"])
    for attribute in EventAttribute.objects.filter(event_type_id__in=type_ids, name=old):
        if EventAttribute.objects.filter(event_type_id=attribute.event_type_id, name=new).exists():
            attribute.delete()
        else:
            attribute.name = new
            attribute.save(update_fields=["name"])


def forwards(apps, schema_editor):
    _rename(apps, "error", "reason")


def backwards(apps, schema_editor):
    _rename(apps, "reason", "error")


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0010_attribute_formats"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
