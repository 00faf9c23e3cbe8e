"""The locust users of ``tongban bench load`` (run by it as ``locust -f`` in a subprocess).

Two kinds of simulated people drive the real server through the REST API with the session
cookies and CSRF token the benchmark prepared (``TONGBAN_LOAD_PLAN``, a JSON file):

* an applicant (申请人), three in four users: searches items, runs the 情形引导 of an item,
  opens one of their cases, and files a complete application: starts a draft with its form
  (``POST /api/v1/cases``), uploads its four materials and submits it;
* a 综合窗口 (window), one in four: reads the intake queue, opens a case, and accepts (受理)
  a case an applicant submitted during the run (each case once).

About two in three requests are reads. Every request is named by what it is, so the figures
come out per endpoint; any answer other than the expected status counts as a failure.
"""

from __future__ import annotations

import json
import os
import random
from collections import deque
from typing import Any
from urllib.parse import quote

from locust import FastHttpUser, constant, task

PLAN: dict[str, Any] = json.loads(
    open(os.environ["TONGBAN_LOAD_PLAN"], encoding="utf-8").read()  # noqa: SIM115 - read once
)
SUBMITTED: deque[str] = deque(PLAN["submitted"])  # cases waiting for 受理, oldest first
RNG = random.Random(PLAN["seed"])  # noqa: S311 - picks requests, nothing secret


class _Signed(FastHttpUser):
    abstract = True
    wait_time = constant(0)  # closed loop: each user sends its next request at once
    account = ""

    def on_start(self) -> None:
        session = PLAN["sessions"][self.account]
        self.headers = {
            "Cookie": f"sessionid={session}; csrftoken={PLAN['csrf']}",
            "X-CSRFToken": PLAN["csrf"],
        }

    def _get(self, url: str, name: str) -> Any:
        with self.client.get(url, headers=self.headers, name=name, catch_response=True) as r:
            if r.status_code != 200:
                r.failure(f"{r.status_code}: {r.text[:200]}")
                return None
            return r.json()

    def _upload(self, url: str, file_name: str, content: str, name: str) -> Any:
        """A multipart upload of one file (field ``file``), as a browser sends it; ``content``
        is the plan's sample PDF, which is ASCII, so the body is text."""
        boundary = f"tongban{RNG.getrandbits(64):016x}"
        body = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{file_name}"\r\nContent-Type: application/pdf\r\n\r\n'
            f"{content}\r\n--{boundary}--\r\n"
        )
        headers = {**self.headers, "Content-Type": f"multipart/form-data; boundary={boundary}"}
        with self.client.post(url, data=body, headers=headers, name=name, catch_response=True) as r:
            if r.status_code != 201:
                r.failure(f"{r.status_code}: {r.text[:200]}")
                return None
            return r.json()

    def _post(self, url: str, body: dict[str, Any], name: str, expect: int = 200) -> Any:
        with self.client.post(
            url, json=body, headers=self.headers, name=name, catch_response=True
        ) as r:
            if r.status_code != expect:
                r.failure(f"{r.status_code}: {r.text[:200]}")
                return None
            return r.json()


class Applicant(_Signed):
    weight = 3
    account = "applicant"

    @task(4)
    def search(self) -> None:
        query = RNG.choice(PLAN["queries"])
        self._get(f"/api/v1/items/search?q={quote(query)}", "GET /items/search")

    @task(3)
    def guide(self) -> None:
        item = PLAN["item"]
        self._post(f"/api/v1/items/{item}/guide", {"answers": PLAN["answers"]}, "POST guide")

    @task(3)
    def case_detail(self) -> None:
        number = RNG.choice(PLAN["cases"])
        self._get(f"/api/v1/cases/{number}", "GET /cases/{number} (applicant)")

    @task(1)
    def apply(self) -> None:
        body = {
            "item": PLAN["item"],
            "division": PLAN["division"],
            "answers": PLAN["answers"],
            "form": PLAN["form"],
        }
        draft = self._post("/api/v1/cases", body, "POST /cases (draft)", expect=201)
        if draft is None:
            return
        content = PLAN["pdf"]
        for key in PLAN["materials"]:
            url = f"/api/v1/cases/drafts/{draft['id']}/materials/{key}"
            if self._upload(url, f"{key}.pdf", content, "POST material") is None:
                return
        case = self._post(f"/api/v1/cases/drafts/{draft['id']}/submit", {}, "POST submit")
        if case is not None:
            SUBMITTED.append(case["number"])


class Window(_Signed):
    weight = 1
    account = "window"

    @task(4)
    def queue(self) -> None:
        self._get("/api/v1/queues/intake", "GET /queues/intake")

    @task(3)
    def case_detail(self) -> None:
        number = RNG.choice(PLAN["cases"])
        self._get(f"/api/v1/cases/{number}", "GET /cases/{number} (window)")

    @task(3)
    def accept(self) -> None:
        if not SUBMITTED:
            self.queue()
            return
        number = SUBMITTED.popleft()
        self._post(f"/api/v1/cases/{number}/accept", {}, "POST accept")
