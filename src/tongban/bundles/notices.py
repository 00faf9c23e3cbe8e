"""What the applicant is told about a bundle as a whole (one combined notice per bundle case;
each item case still reports its own steps through ``tongban.cases.notices``)."""

from __future__ import annotations

from tongban.notifications.message_templates import register_template

TEMPLATES: dict[str, tuple[dict[str, str], dict[str, str]]] = {
    "submitted": (
        {"zh-hans": "一件事申请已提交", "en": "Bundle application submitted"},
        {
            "zh-hans": "您的“{{ bundle }}”申请（{{ number }}）已提交，共 {{ count }} 个事项，"
            "各部门将并联办理，后续阶段在前序结果出具后自动申请。",
            "en": "Your application for {{ bundle }} ({{ number }}) was submitted: {{ count }} "
            "items, handled in parallel; later stages start by themselves once earlier results "
            "are issued.",
        },
    ),
    "completed": (
        {"zh-hans": "一件事已全部办结", "en": "Bundle completed"},
        {
            "zh-hans": "您的“{{ bundle }}”申请（{{ number }}）的 {{ count }} 个事项均已办结，"
            "办理结果可在“我的一件事”中查看。",
            "en": "All {{ count }} items of your application for {{ bundle }} ({{ number }}) "
            "are decided; see the results under My bundles.",
        },
    ),
}


def register_templates() -> None:
    for action, (subject, body) in TEMPLATES.items():
        register_template(f"bundle.{action}", subject=subject, body=body)
