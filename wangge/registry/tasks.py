"""Background tasks of the registry: thin, they take a token and call the ledger jobs, in the
language of the person who asked (a worker process has no request to take it from)."""

from django.conf import settings
from django.tasks import task
from django.utils import translation

from wangge.registry.ledgers import jobs


@task()
def check_ledger_task(token: str, language: str | None = None) -> str:
    """The dry run of an uploaded ledger."""
    with translation.override(language or settings.LANGUAGE_CODE):
        job = jobs.run_check(token=token)
    return job.status if job else "expired"


@task()
def import_ledger_task(token: str, language: str | None = None) -> str:
    """The all-or-nothing import of a ledger that passed its dry run."""
    with translation.override(language or settings.LANGUAGE_CODE):
        job = jobs.run_import(token=token)
    return job.status if job else "expired"
