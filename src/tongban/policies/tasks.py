"""Background work of the policies app: the scheduled runs (first 3 working days of a month)
and the expiry of unconfirmed 即申即享 offers, both idempotent (decided from the database); and
the nightly refresh of the least recently refreshed profiles from the data sources."""

from __future__ import annotations

from typing import Any

from tongban.core.tasks import task


@task
def start_scheduled_runs() -> dict[str, Any]:
    from tongban.policies import runs

    started = runs.start_due_runs()
    expired = runs.expire_offers()
    return {"started": started, "expired": expired}


REFRESH_BATCH = 200


@task
def refresh_profiles() -> dict[str, Any]:
    from tongban.policies import refresh

    out: dict[str, Any] = {}
    for kind in ("person", "enterprise"):
        report = refresh.refresh_profiles(None, kind, limit=REFRESH_BATCH)
        out[kind] = {
            "profiles": report.profiles,
            "updated": report.updated,
            "problems": len(report.problems),
        }
    return out
