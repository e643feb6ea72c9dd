"""`manage.py recount_stats`: rebuild the dashboard's rollups from the case table."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from wangge.dashboard import actions
from wangge.dashboard.counters import drift


class Command(BaseCommand):
    help = "Rebuild the dashboard counters (rollups) from the cases; --check only reports drift."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--check", action="store_true", help="report differences, change nothing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["check"]:
            differences = drift()
            for key, (stored, fresh) in sorted(differences.items(), key=str)[:20]:
                changed = {k: (stored[k], fresh[k]) for k in stored if stored[k] != fresh[k]}
                self.stdout.write(f"{key}: {changed}")
            self.stdout.write(f"{len(differences)} rollup rows differ from a recount")
            if differences:
                raise SystemExit(1)
            return
        rows, cases = actions.recount()
        self.stdout.write(self.style.SUCCESS(f"rebuilt {rows} rollup rows from {cases} cases"))
