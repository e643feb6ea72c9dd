from django.urls import path

from wangge.public import views

app_name = "public"
urlpatterns = [
    path("", views.report, name="report"),
    path("nearby.json", views.nearby, name="nearby"),
    path("track/", views.lookup, name="lookup"),
    path("t/<str:token>/", views.track, name="track"),
    path("t/<str:token>/rate/", views.rate, name="rate"),
    path("t/<str:token>/photos/<int:pk>/<str:size>/", views.photo, name="photo"),
    path("map/", views.public_map, name="map"),
    path("map/cases.geojson", views.map_geojson, name="map_geojson"),
    path("streets.geojson", views.streets_geojson, name="streets"),
]
