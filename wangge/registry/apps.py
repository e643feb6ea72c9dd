from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegistryConfig(AppConfig):
    name = "wangge.registry"
    label = "registry"
    verbose_name = _("人房数据")

    def ready(self) -> None:
        from wangge.registry import checks  # noqa: F401  (registers the system checks)
