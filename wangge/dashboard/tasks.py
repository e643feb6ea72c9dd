"""Background tasks of the dashboard: thin, they take ids and call actions, in the language of
the person who asked (a worker process has no request to take it from)."""

from django.conf import settings
from django.tasks import task
from django.utils import translation

from wangge.dashboard import actions


@task()
def run_export_task(export_id: int, language: str | None = None) -> str:
    """Generate an export's file (the case ledger or a monthly report)."""
    with translation.override(language or settings.LANGUAGE_CODE):
        return actions.run_export(export_id=export_id)
