from django.urls import path, re_path

from wangge.open311 import views

app_name = "open311"
FMT = r"\.(?P<fmt>json|xml)$"
urlpatterns = [
    path("", views.index, name="index"),
    re_path(r"^discovery" + FMT, views.discovery, name="discovery"),
    re_path(r"^services" + FMT, views.service_list, name="services"),
    re_path(r"^services/(?P<code>[-\w]{1,40})" + FMT, views.service_definition, name="service"),
    re_path(r"^requests" + FMT, views.requests, name="requests"),
    re_path(r"^requests/(?P<pk>\d{1,18})" + FMT, views.request_detail, name="request"),
    re_path(r"^tokens/(?P<token>[-\w]{1,40})" + FMT, views.token, name="token"),
    re_path(r"^servicerequestupdates" + FMT, views.service_request_updates, name="updates"),
    path("media/<int:pk>", views.media, name="media"),
    # Anything else under /open311/v2/ is answered in the Open311 error format.
    re_path(r"^(?P<rest>.*)$", views.not_found),
]
