"""Copy the holiday schedules chinesecalendar knows into the database (idempotent)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from wangge.workcalendar.actions import seed_from_chinesecalendar
from wangge.workcalendar.sources import package_years


class Command(BaseCommand):
    help = (
        "Seed or refresh the working calendar from the chinesecalendar package. Years an "
        "administrator edited are kept unless --overwrite-admin."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        known = package_years()
        parser.add_argument("--from", dest="first", type=int, default=known.start)
        parser.add_argument("--to", dest="last", type=int, default=known.stop - 1)
        parser.add_argument("--overwrite-admin", action="store_true")

    def handle(
        self, *args: Any, first: int, last: int, overwrite_admin: bool, **options: Any
    ) -> None:
        if last < first:
            raise CommandError("--to must not be before --from")
        report = seed_from_chinesecalendar(
            years=range(first, last + 1), overwrite_admin=overwrite_admin
        )
        self.stdout.write(str(report))
        if report.unavailable:
            self.stdout.write(
                self.style.WARNING(
                    "chinesecalendar does not know "
                    + ", ".join(map(str, report.unavailable))
                    + ": enter those years in the admin (工作日历 → 年度节假日安排)."
                )
            )
