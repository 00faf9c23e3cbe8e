"""Workbench URLs (under ``/workbench/``): queues, bulk 受理, the 督办 overview, case pages,
actions and files, the policy pages (review, simulation, runs, the payment ledger with its acts)
and the issuing department's e-licence pages (register, one licence, its acts)."""

from django.urls import path

from tongban.workbench import ledger_views, licence_views, lookups, policy_views, supervision, views

app_name = "workbench"

urlpatterns = [
    path("", views.home, name="home"),
    path("supervision/", supervision.overview, name="supervision"),
    path("queues/intake/accept/", views.bulk_accept, name="bulk_accept"),
    path("policies/", policy_views.policy_list, name="policies"),
    path("policies/<str:code>/", policy_views.policy_detail, name="policy"),
    path("policies/<str:code>/payments/", ledger_views.payment_ledger, name="policy_payments"),
    path(
        "policies/<str:code>/payments/sent/",
        ledger_views.mark_sent,
        name="policy_payments_sent",
    ),
    path(
        "policies/<str:code>/payments/reconciliation/",
        ledger_views.import_reconciliation,
        name="policy_reconciliation",
    ),
    path("policies/<str:code>/<slug:action>/", policy_views.policy_action, name="policy_action"),
    path("licences/", licence_views.licence_list, name="licences"),
    path("licences/<str:number>/", licence_views.licence_detail, name="licence"),
    path(
        "licences/<str:number>/<slug:action>/",
        licence_views.licence_action,
        name="licence_action",
    ),
    path("queues/<slug:name>/", views.queue, name="queue"),
    path("cases/<str:number>/", views.case_detail, name="case"),
    path("cases/<str:number>/reveal/", views.reveal_applicant, name="reveal"),
    path("cases/<str:number>/lookups/", lookups.case_lookups, name="lookups"),
    path(
        "cases/<str:number>/materials/<int:material_id>/",
        views.material_file,
        name="material",
    ),
    path("cases/<str:number>/notices/<str:key>.pdf", views.notice_file, name="notice"),
    path("cases/<str:number>/<slug:action>/", views.case_action, name="action"),
]
