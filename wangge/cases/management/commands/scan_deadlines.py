from typing import Any

from django.core.management.base import BaseCommand

from wangge.cases.actions import scan_deadlines


class Command(BaseCommand):
    help = (
        "Warn (once) about open cases that became due soon or overdue: a timeline entry and an "
        "in-app notification to whoever must act. Run every minute."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        counts = scan_deadlines()
        self.stdout.write(f"due soon {counts['due_soon']}, overdue {counts['overdue']}")
