"""超时督办 once per deadline: record which deadline a task's timeout escalation was for.

Tasks escalated before this field existed take the deadline from their latest
``timeout_escalation`` event (which has always recorded it), so a deadline moved since and
missed again is escalated again, and nothing already escalated is escalated twice.
"""

import datetime as dt

from django.db import migrations, models


def from_events(apps, schema_editor):
    CaseTask = apps.get_model("cases", "CaseTask")
    CaseEvent = apps.get_model("cases", "CaseEvent")
    latest: dict[int, dt.date] = {}
    events = (
        CaseEvent.objects.filter(action="timeout_escalation", task__isnull=False)
        .order_by("case_id", "sequence")
        .values_list("task_id", "data")
    )
    for task_id, data in events.iterator():
        try:
            latest[task_id] = dt.date.fromisoformat((data or {}).get("due_date", ""))
        except (TypeError, ValueError):
            continue
    for task in CaseTask.objects.filter(escalated_at__isnull=False).only("pk", "due_date"):
        task.escalated_due_date = latest.get(task.pk, task.due_date)
        task.save(update_fields=["escalated_due_date"])


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0014_tolerated_superseded"),
    ]

    operations = [
        migrations.AddField(
            model_name="casetask",
            name="escalated_due_date",
            field=models.DateField(blank=True, null=True, verbose_name="超时督办所针对的期限"),
        ),
        migrations.RunPython(from_events, migrations.RunPython.noop, elidable=True),
    ]
