"""Background tasks: thin, they take ids and call actions."""

from django.tasks import task

from wangge.notifications import actions


@task()
def deliver_outbox_message(message_id: int) -> str:
    return actions.deliver(message_id=message_id)


@task()
def deliver_due_outbox() -> dict[str, int]:
    return actions.deliver_due()
