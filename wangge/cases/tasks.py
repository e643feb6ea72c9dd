"""Background tasks of the case loop: thin, they call actions."""

from django.tasks import task

from wangge.cases import actions


@task()
def scan_deadlines_task() -> dict[str, int]:
    """Warn about cases that became due soon or overdue (schedule every minute)."""
    return actions.scan_deadlines()
