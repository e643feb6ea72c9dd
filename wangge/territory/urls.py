from django.urls import path

from wangge.territory import views

app_name = "territory"
urlpatterns = [
    path("", views.browser, name="browser"),
    path("units/<str:code>/", views.unit_detail, name="unit"),
    path("units/<str:code>/children/", views.unit_children, name="children"),
    path("units/<str:code>/grids.geojson", views.grids_geojson, name="grids_geojson"),
    path("g/<str:code>/", views.grid_card, name="grid_card"),
]
