from django.urls import path

from wangge.registry import ledger_views, views

app_name = "registry"
urlpatterns = [
    path("", views.index, name="index"),
    path("buildings/<int:pk>/", views.building_detail, name="building"),
    path("buildings/<int:pk>/households/new/", views.household_new, name="household_new"),
    path("residents/<int:pk>/", views.resident_detail, name="resident"),
    path("residents/<int:pk>/reveal/", views.resident_reveal, name="reveal"),
    path("search/", views.search, name="search"),
    path("check/", views.weekly_check, name="check"),
    path("check/<int:pk>/unchanged/", views.check_unchanged, name="unchanged"),
    path("check/<int:pk>/change/", views.check_change, name="change"),
    path("freshness/", views.freshness, name="freshness"),
    path("audits/", views.audits, name="audits"),
    path("ledgers/", ledger_views.ledgers, name="ledgers"),
    path("ledgers/template.xlsx", ledger_views.ledger_template, name="ledger_template"),
    path("ledgers/upload/", ledger_views.ledger_upload, name="ledger_upload"),
    path("ledgers/export/", ledger_views.ledger_export, name="ledger_export"),
    path("ledgers/jobs/<str:token>/", ledger_views.ledger_job, name="ledger_job"),
    path(
        "ledgers/jobs/<str:token>/import/", ledger_views.ledger_job_import, name="ledger_job_import"
    ),
    path(
        "ledgers/jobs/<str:token>/errors.xlsx",
        ledger_views.ledger_job_errors,
        name="ledger_job_errors",
    ),
    path("households/<int:pk>/", views.household_detail, name="household"),
    path("households/<int:pk>/visit/", views.visit_create, name="visit_create"),
    path("households/<int:pk>/residents/new/", views.resident_new, name="resident_new"),
    path("visits/", views.visit_list, name="visits"),
    path("visits/<int:pk>/", views.visit_detail, name="visit"),
    path("visits/<int:pk>/case/", views.visit_case, name="visit_case"),
    path("coverage/", views.coverage, name="coverage"),
    path("links/", views.link_index, name="links"),
    path("links/<int:pk>/", views.link_member, name="link_member"),
    path("links/<int:pk>/add/", views.link_add, name="link_add"),
    path("links/<int:pk>/remove/<int:link_pk>/", views.link_remove, name="link_remove"),
    path("residents/<int:pk>/edit/", views.resident_edit, name="resident_edit"),
    path("residents/<int:pk>/move/", views.resident_move, name="resident_move"),
]
