"""django-tasks-db (the production task queue) as the admin shows it, in the reader's language.

Its own AppConfig names the app with a plain English string; its models' words are in our
catalogues (core/django_gaps.py), and core.task_admin re-registers its admin with translated
column headers. A module of its own: in core/apps.py a second AppConfig would stop Django from
picking CoreConfig by itself.
"""

from django.utils.translation import gettext_lazy as _
from django_tasks_db.apps import TasksAppConfig


class TasksDbConfig(TasksAppConfig):
    verbose_name = _("后台任务")  # type: ignore[assignment]  # lazy: translated when shown

    def ready(self) -> None:
        super().ready()
        from wangge.core import task_admin  # noqa: F401  (the admin's columns, translated)
