import django.db.models.deletion
from django.db import migrations, models


def mark_stopped(apps, schema_editor):
    Case = apps.get_model("cases", "Case")
    ClockStop = apps.get_model("cases", "ClockStop")
    open_stops = ClockStop.objects.filter(ended_on__isnull=True).values("case_id")
    Case.objects.filter(pk__in=open_stops).update(clock_stopped=True)


class Migration(migrations.Migration):
    dependencies = [("cases", "0005_task_timeout")]

    operations = [
        migrations.AddField(
            model_name="case",
            name="clock_stopped",
            field=models.BooleanField(default=False, verbose_name="中止计时中"),
        ),
        migrations.RunPython(mark_stopped, migrations.RunPython.noop),
        migrations.AddField(
            model_name="casetask",
            name="countersign_for",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="countersigns",
                to="cases.casetask",
                verbose_name="会签发起任务",
            ),
        ),
    ]
