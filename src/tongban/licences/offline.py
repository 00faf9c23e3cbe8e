"""Offline verification: the verifier core with keys from a saved trust list and revocation
status from saved status lists (``tongban licence verify … --trust-list FILE
[--status-list FILE]``). Without a status list, or with a stale one, the answer for a correctly
signed code is "status unknown", never "valid"; a trust list past its ``expires_at`` also
turns a "valid" into "status unknown", with a reason saying so."""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

from tongban.licences import statuslist
from tongban.licences.crypto import algorithms
from tongban.licences.verification import Result, TrustedKey, Verdict, verify_token


class TrustListError(ValueError):
    """A trust list file that cannot be used."""


def _time(value: Any) -> dt.datetime | None:
    if value in (None, ""):
        return None
    moment = dt.datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        raise ValueError(f"time without time zone: {value}")
    return moment


class FileTrust:
    def __init__(self, document: dict[str, Any]) -> None:
        try:
            if document.get("format") != "tongban-trust-list/1":
                raise TrustListError("不是 tongban-trust-list/1 格式的可信列表")
            self.expires_at = _time(document.get("expires_at"))
            self.keys: dict[str, TrustedKey] = {}
            for index, item in enumerate(document["keys"]):
                try:
                    key = TrustedKey(
                        kid=str(item["kid"]),
                        algorithm=algorithms.check_algorithm(str(item["algorithm"])),
                        public_key=base64.b64decode(item["public_key"], validate=True),
                        department_code=str(item.get("department_code", "")),
                        department_name=str(item.get("department_name", "")),
                        not_before=_time(item["not_before"])
                        or dt.datetime.min.replace(tzinfo=dt.UTC),
                        signs_until=_time(item.get("signs_until")),
                        withdrawn=item.get("state") == "withdrawn",
                    )
                except (KeyError, ValueError, TypeError) as exc:
                    raise TrustListError(f"keys[{index}]: {exc}") from exc
                self.keys[key.kid] = key
        except (KeyError, TypeError, AttributeError) as exc:
            raise TrustListError(f"可信列表缺少字段：{exc}") from exc
        self._public: dict[str, algorithms.PublicKey] = {}

    def key(self, kid: str) -> TrustedKey | None:
        return self.keys.get(kid)

    def public(self, key: TrustedKey) -> algorithms.PublicKey:
        if key.kid not in self._public:
            self._public[key.kid] = algorithms.load_public(key.algorithm, key.public_key)
        return self._public[key.kid]


class FileStatus:
    def __init__(self, documents: list[dict[str, Any]]) -> None:
        self.lists = {}
        for document in documents:
            published = statuslist.parse_document(document)
            self.lists[published.list_id] = published

    def revoked(self, list_id: int, index: int, now: dt.datetime) -> bool | None:
        published = self.lists.get(list_id)
        return None if published is None else published.revoked(index, now)


def load_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TrustListError(f"{path}: {exc}") from exc
    if not isinstance(data, dict):
        raise TrustListError(f"{path}: expected a JSON object")
    return data


def verify_offline(text: str, trust: FileTrust, status: FileStatus, *, now: dt.datetime) -> Result:
    result = verify_token(text, trust, status, now=now)
    if result.verdict == Verdict.VALID and trust.expires_at is not None and now > trust.expires_at:
        return Result(
            Verdict.STATUS_UNKNOWN,
            _("签章有效，但本地可信列表已过期，请更新可信列表后再核验"),
            result.details,
        )
    return result
