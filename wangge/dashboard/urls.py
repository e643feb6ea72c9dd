from django.urls import path

from wangge.dashboard import views

app_name = "dashboard"
urlpatterns = [
    path("", views.dashboard, name="index"),
    path("screen/", views.screen, name="screen"),
    path("data.json", views.data, name="data"),
]
