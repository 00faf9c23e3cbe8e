"""Portal URLs: home, search, item guides, the 情形 questionnaire, display preferences, login."""

from django.urls import path

from tongban.portal import views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("search", views.search, name="search"),
    path("items/", views.item_list, name="item_list"),
    path("items/<str:code>/", views.item_detail, name="item_detail"),
    path("items/<str:code>/guide/", views.item_guide, name="item_guide"),
    path("preferences/division/", views.set_division, name="set_division"),
    path("preferences/elder-mode/", views.set_elder_mode, name="set_elder_mode"),
    path("accounts/login/", views.login_view, name="login"),
    path("accounts/logout/", views.logout_view, name="logout"),
]
