"""Workbench URLs (under ``/workbench/``): queues, bulk 受理, case pages, actions and files."""

from django.urls import path

from tongban.workbench import views

app_name = "workbench"

urlpatterns = [
    path("", views.home, name="home"),
    path("queues/intake/accept/", views.bulk_accept, name="bulk_accept"),
    path("queues/<slug:name>/", views.queue, name="queue"),
    path("cases/<str:number>/", views.case_detail, name="case"),
    path("cases/<str:number>/reveal/", views.reveal_applicant, name="reveal"),
    path(
        "cases/<str:number>/materials/<int:material_id>/",
        views.material_file,
        name="material",
    ),
    path("cases/<str:number>/notices/<str:key>.pdf", views.notice_file, name="notice"),
    path("cases/<str:number>/<slug:action>/", views.case_action, name="action"),
]
