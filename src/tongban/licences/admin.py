"""Django admin for licences: 证照类型 are configured here by system administrators; e-seal keys,
licences, their versions, grants and the access log are listed read-only (keys are created,
imported, rotated and withdrawn through ``tongban.licences.seals``; licences change only through
their services, so every change is sealed and recorded). Private keys are never shown."""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib import admin

from tongban.identity.admin import ReadOnlyInline, RoleGatedAdmin
from tongban.licences.models import (
    Licence,
    LicenceAccess,
    LicenceType,
    LicenceVersion,
    SealKey,
)


class ReadOnlyAdmin(RoleGatedAdmin):
    def may_edit(self, user: Any) -> bool:
        return False


@admin.register(LicenceType)
class LicenceTypeAdmin(RoleGatedAdmin):
    list_display = ("code", "name", "department", "holder_kind", "validity_months", "active")
    list_filter = ("active", "holder_kind")
    search_fields = ("code", "name")
    autocomplete_fields = ("department",)


@admin.register(SealKey)
class SealKeyAdmin(ReadOnlyAdmin):
    list_display = ("kid", "department", "algorithm", "state", "not_before", "signs_until")
    list_filter = ("algorithm", "state")
    search_fields = ("kid", "department__name")
    exclude = ("wrapped_private_key",)


class VersionInline(ReadOnlyInline):
    model = LicenceVersion
    fields = ("version", "action", "state", "valid_from", "valid_until", "actor_label", "at")
    readonly_fields = fields


class AccessInline(ReadOnlyInline):
    model = LicenceAccess
    fields = ("at", "actor_label", "purpose", "allowed")
    readonly_fields = fields


@admin.register(Licence)
class LicenceAdmin(ReadOnlyAdmin):
    list_display = ("number", "licence_type", "holder_name", "state", "valid_until")
    list_filter = ("state", "licence_type")
    search_fields = ("number", "holder_name")
    exclude = ("holder_identifier", "seal")
    inlines: ClassVar = [VersionInline, AccessInline]
