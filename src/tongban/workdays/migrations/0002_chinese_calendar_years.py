"""Store the years of the pinned ``chinese-calendar`` package (2004–2026 for 1.11.0), so that
every database — a demo, production, the test database — knows them from its first migrate.

Self-contained on purpose: it reads the package directly and writes through the historical
models. After a package upgrade, ``tongban workdays sync`` adds the new years to an existing
database; a year already present is left as it is.
"""

from importlib.metadata import PackageNotFoundError, version

from django.db import migrations

NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日",
}


def load(apps, schema_editor):
    import chinese_calendar

    CalendarYear = apps.get_model("workdays", "CalendarYear")
    CalendarDay = apps.get_model("workdays", "CalendarDay")
    db = schema_editor.connection.alias
    try:
        label = f"chinese-calendar {version('chinese-calendar')}"
    except PackageNotFoundError:
        label = "chinese-calendar"
    days = [(d, "holiday", n) for d, n in chinese_calendar.holidays.items()]
    days += [(d, "makeup_workday", n) for d, n in chinese_calendar.workdays.items()]
    known = set(CalendarYear.objects.using(db).values_list("year", flat=True))
    years = {}
    for year in sorted({d.year for d, _, _ in days} - known):
        years[year] = CalendarYear.objects.using(db).create(
            year=year, source="chinese_calendar", notice="", entered_by=label
        )
    CalendarDay.objects.using(db).bulk_create(
        CalendarDay(year=years[d.year], date=d, kind=kind, name=NAMES.get(name, name))
        for d, kind, name in sorted(days)
        if d.year in years
    )


def unload(apps, schema_editor):
    CalendarYear = apps.get_model("workdays", "CalendarYear")
    CalendarYear.objects.using(schema_editor.connection.alias).filter(
        source="chinese_calendar"
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("workdays", "0001_initial")]

    operations = [migrations.RunPython(load, unload)]
