"""Admin for sharing: the lookup log, consents and what applications obtained — read-only, for
system administrators — and the local registry's records (sample data, editable by them).
Searching the lookup log by a full 身份证号 or 统一社会信用代码 matches its digest: the log keeps
subjects masked."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from tongban.identity.admin import RoleGatedAdmin
from tongban.sharing.models import Consent, DataLookup, RegistryRecord, SharedItem
from tongban.sharing.services import Subject
from tongban.sharing.sources import ENTERPRISE, PERSON


class ReadOnlyAdmin(RoleGatedAdmin):
    def may_edit(self, user: Any) -> bool:
        return False


@admin.register(DataLookup)
class DataLookupAdmin(ReadOnlyAdmin):
    list_display = ("at", "source", "subject_masked", "basis", "purpose", "requester", "result")
    list_filter = ("result", "basis", "source")
    date_hierarchy = "at"
    search_fields = ("=case__number", "purpose")
    list_select_related = ("requester",)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[DataLookup], search_term: str
    ) -> tuple[QuerySet[DataLookup], bool]:
        term = search_term.strip().upper()
        if len(term) == 18:
            digests = [Subject(PERSON, term).digest, Subject(ENTERPRISE, term).digest]
            return queryset.filter(subject_digest__in=digests), False
        return super().get_search_results(request, queryset, search_term)


@admin.register(Consent)
class ConsentAdmin(ReadOnlyAdmin):
    list_display = ("given_at", "source", "subject_masked", "purpose", "given_by", "withdrawn_at")
    list_filter = ("source",)
    list_select_related = ("given_by",)


@admin.register(SharedItem)
class SharedItemAdmin(ReadOnlyAdmin):
    list_display = ("case", "target", "key", "source_label", "status", "at")
    list_filter = ("target", "status")
    search_fields = ("=case__number",)
    list_select_related = ("case",)


@admin.register(RegistryRecord)
class RegistryRecordAdmin(RoleGatedAdmin):
    list_display = ("source", "subject", "sample", "updated_at")
    list_filter = ("source", "sample")
    search_fields = ("=subject",)
