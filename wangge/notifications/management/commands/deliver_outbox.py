from typing import Any

from django.core.management.base import BaseCommand

from wangge.notifications.actions import deliver_due


class Command(BaseCommand):
    help = "Deliver (retry) pending outbox messages whose time has come. Run every minute."

    def handle(self, *args: Any, **options: Any) -> None:
        counts = deliver_due()
        self.stdout.write(
            f"sent {counts['sent']}, failed {counts['failed']}, skipped {counts['skipped']}"
        )
