from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.i18n import set_language

from wangge.api import api
from wangge.core import views as core_views

admin.site.site_header = _("网格治理平台 管理后台")
admin.site.site_title = _("网格 管理后台")
admin.site.index_title = _("配置与数据")

handler400 = "wangge.core.views.bad_request"
handler404 = "wangge.core.views.page_not_found"
handler403 = "wangge.core.views.permission_denied"
handler500 = "wangge.core.views.server_error"

urlpatterns = [
    path("", include("wangge.core.urls")),
    path("accounts/", include("wangge.accounts.urls")),
    path("territory/", include("wangge.territory.urls")),
    path("i18n/setlang/", set_language, name="set_language"),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("cases/", include("wangge.cases.urls")),
    path("registry/", include("wangge.registry.urls")),
    path("notifications/", include("wangge.notifications.urls")),
    path("dashboard/", include("wangge.dashboard.urls")),
    path("r/", include("wangge.public.urls")),
    path("open311/v2/", include("wangge.open311.urls")),
    path("healthz", core_views.healthz, name="healthz"),
]
