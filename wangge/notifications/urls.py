from django.urls import path

from wangge.notifications import views

app_name = "notifications"
urlpatterns = [
    path("", views.notification_list, name="list"),
    path("read/", views.notification_mark_read, name="mark_read"),
    path("badge/", views.unread_badge, name="badge"),
    path("<int:pk>/", views.notification_open, name="open"),
]
