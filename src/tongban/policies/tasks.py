"""Background work of the policies app: the scheduled runs (first 3 working days of a month)
and the expiry of unconfirmed 即申即享 offers. Both are idempotent (decided from the database)."""

from __future__ import annotations

from typing import Any

from tongban.core.tasks import task


@task
def start_scheduled_runs() -> dict[str, Any]:
    from tongban.policies import runs

    started = runs.start_due_runs()
    expired = runs.expire_offers()
    return {"started": started, "expired": expired}
