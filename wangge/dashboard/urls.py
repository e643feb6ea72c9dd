from django.urls import path

from wangge.dashboard import views

app_name = "dashboard"
urlpatterns = [
    path("", views.dashboard, name="index"),
    path("screen/", views.screen, name="screen"),
    path("data.json", views.data, name="data"),
    path("map.json", views.map_data, name="map"),
    path("exports/cases/", views.export_cases, name="export_cases"),
    path("exports/report/", views.export_report, name="export_report"),
    path("exports/<int:pk>/", views.export_status, name="export"),
    path("exports/<int:pk>/download/", views.export_download, name="export_download"),
]
