"""`manage.py seed_demo`: the demo district 东城区 with one login per role (idempotent)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from wangge.core.demo import login_table, seed_demo
from wangge.core.errors import DomainError


class Command(BaseCommand):
    help = "Create the demo district 东城区 (110101) with streets, communities, grids, buildings and demo logins."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = seed_demo(stdout=self.stdout)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        if result.created:
            summary = ", ".join(f"{value} {key}" for key, value in result.counts.items())
            self.stdout.write(self.style.SUCCESS(f"Seeded: {summary}."))
        self.stdout.write("")
        self.stdout.write("Demo logins (log in with the mobile number):")
        self.stdout.write(login_table(result))
