"""Messages to beneficiaries, sent through the notifications outbox in the caller's transaction:
an offer to confirm (即申即享), a grant paid without applying (免申即享), a granted application
(申请制), and a payment result."""

from __future__ import annotations

from tongban.notifications.message_templates import register_template

TEMPLATES = {
    "policies.offer": (
        {"zh-hans": "政策兑现待您确认", "en": "A policy benefit awaits your confirmation"},
        {
            "zh-hans": "{{ name }}：您符合“{{ item }}”条件，金额{{ amount }}元。请于{{ confirm_by }}前登录"
            "“我的政策”一键确认。",
            "en": "{{ name }}: you qualify for “{{ item }}” ({{ amount }} yuan). Please confirm in "
            "“My policies” before {{ confirm_by }}.",
        },
    ),
    "policies.granted": (
        {"zh-hans": "政策资金免申即享", "en": "Policy benefit granted without application"},
        {
            "zh-hans": "{{ name }}：您符合“{{ item }}”条件，{{ amount }}元将直接拨付，无需申请。",
            "en": "{{ name }}: you qualify for “{{ item }}”; {{ amount }} yuan will be paid "
            "without an application.",
        },
    ),
    "policies.applied": (
        {"zh-hans": "政策兑现申请已准予", "en": "Benefit application granted"},
        {
            "zh-hans": "{{ name }}：您申请的“{{ item }}”已准予（办件{{ case }}），{{ amount }}元将拨付到"
            "您登记的账户。",
            "en": "{{ name }}: your application for “{{ item }}” (case {{ case }}) is granted; "
            "{{ amount }} yuan will be paid to your registered account.",
        },
    ),
    "policies.payment": (
        {"zh-hans": "政策资金支付结果", "en": "Policy payment result"},
        {
            "zh-hans": "{{ name }}：“{{ item }}”{{ amount }}元{{ status }}。",
            "en": "{{ name }}: “{{ item }}” {{ amount }} yuan — {{ status }}.",
        },
    ),
}


def register_templates() -> None:
    for key, (subject, body) in TEMPLATES.items():
        register_template(key, subject=subject, body=body)
