from django.urls import path

from wangge.registry import views

app_name = "registry"
urlpatterns = [
    path("", views.index, name="index"),
    path("buildings/<int:pk>/", views.building_detail, name="building"),
    path("residents/<int:pk>/", views.resident_detail, name="resident"),
    path("residents/<int:pk>/reveal/", views.resident_reveal, name="reveal"),
    path("search/", views.search, name="search"),
    path("check/", views.weekly_check, name="check"),
    path("check/<int:pk>/unchanged/", views.check_unchanged, name="unchanged"),
    path("check/<int:pk>/change/", views.check_change, name="change"),
    path("freshness/", views.freshness, name="freshness"),
    path("audits/", views.audits, name="audits"),
]
