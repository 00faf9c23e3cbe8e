"""Portal URLs: home, search, item guides, the 情形 questionnaire, display preferences, login,
and the applicant space (online application and its 修改情形, 我的办件, 我的政策 and 政策体检)."""

from django.urls import path

from tongban.portal import (
    answers_views,
    applicant_views,
    bundle_views,
    licence_views,
    policy_views,
    shared_data_views,
    views,
)

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("search", views.search, name="search"),
    path("items/", views.item_list, name="item_list"),
    path("items/<str:code>/", views.item_detail, name="item_detail"),
    path("items/<str:code>/guide/", views.item_guide, name="item_guide"),
    path("items/<str:code>/apply/", applicant_views.apply, name="apply"),
    path("my/drafts/<int:draft_id>/", applicant_views.draft, name="draft"),
    path("my/drafts/<int:draft_id>/answers/", answers_views.draft_answers, name="draft_answers"),
    path(
        "my/drafts/<int:draft_id>/shared-data/consent/",
        shared_data_views.consent,
        name="shared_data_consent",
    ),
    path(
        "my/drafts/<int:draft_id>/shared-data/refresh/",
        shared_data_views.refresh,
        name="shared_data_refresh",
    ),
    path("prefill/", shared_data_views.prefill_rates, name="prefill_rates"),
    path("my/cases/", applicant_views.my_cases, name="my_cases"),
    path("my/cases/<str:number>/", applicant_views.my_case, name="my_case"),
    path("my/cases/<str:number>/supplement/", applicant_views.supplement, name="supplement"),
    path(
        "my/cases/<str:number>/notices/<str:key>.pdf",
        applicant_views.my_notice,
        name="my_notice",
    ),
    path("my/cases/<str:number>/hand-in/", applicant_views.hand_in, name="hand_in"),
    path("my/cases/<str:number>/withdraw/", applicant_views.withdraw, name="withdraw"),
    path("my/applications/<int:case_id>/reapply/", applicant_views.reapply, name="reapply"),
    path(
        "my/applications/<int:case_id>/files/<int:material_id>/",
        applicant_views.my_material,
        name="my_material",
    ),
    path("bundles/", bundle_views.bundle_list, name="bundle_list"),
    path("bundles/<str:code>/", bundle_views.bundle_guide, name="bundle_guide"),
    path("bundles/<str:code>/apply/", bundle_views.bundle_apply, name="bundle_apply"),
    path("my/bundles/", bundle_views.my_bundles, name="my_bundles"),
    path("my/bundles/<str:number>/", bundle_views.my_bundle, name="my_bundle"),
    path("my/bundles/<str:number>/withdraw/", bundle_views.withdraw_bundle, name="withdraw_bundle"),
    path("licences/verify/", licence_views.verify_page, name="licence_verify"),
    path("my/licences/", licence_views.my_licences, name="my_licences"),
    path("my/licences/<str:number>/", licence_views.my_licence, name="my_licence"),
    path("my/licences/<str:number>/show/", licence_views.show, name="licence_show"),
    path("my/licences/<str:number>/pdf/", licence_views.licence_pdf, name="licence_pdf"),
    path("my/licences/<str:number>/grants/", licence_views.grant, name="licence_grant"),
    path(
        "my/licences/<str:number>/grants/<int:grant_id>/withdraw/",
        licence_views.withdraw_grant,
        name="licence_withdraw_grant",
    ),
    path("my/policies/", policy_views.my_policies, name="my_policies"),
    path("my/policies/checkup/", policy_views.checkup, name="policy_checkup"),
    path(
        "my/policies/offers/<int:offer_id>/confirm/",
        policy_views.confirm_offer,
        name="confirm_offer",
    ),
    path("preferences/division/", views.set_division, name="set_division"),
    path("preferences/elder-mode/", views.set_elder_mode, name="set_elder_mode"),
    path("accounts/login/", views.login_view, name="login"),
    path("accounts/logout/", views.logout_view, name="logout"),
]
