"""Background tasks of the dashboard: thin, they take ids and call actions."""

from django.tasks import task

from wangge.dashboard import actions


@task()
def run_export_task(export_id: int) -> str:
    """Generate an export's file (the case ledger or a monthly report)."""
    return actions.run_export(export_id=export_id)
