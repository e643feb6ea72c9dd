"""Background tasks of the registry: thin, they take a token and call the ledger jobs."""

from django.tasks import task

from wangge.registry.ledgers import jobs


@task()
def check_ledger_task(token: str) -> str:
    """The dry run of an uploaded ledger."""
    job = jobs.run_check(token=token)
    return job.status if job else "expired"


@task()
def import_ledger_task(token: str) -> str:
    """The all-or-nothing import of a ledger that passed its dry run."""
    job = jobs.run_import(token=token)
    return job.status if job else "expired"
