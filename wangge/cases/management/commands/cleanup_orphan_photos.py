from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from wangge.cases.photos import delete_orphan_files, orphan_files


class Command(BaseCommand):
    help = (
        "Delete case photo files that no photo row names (left by a write that rolled back "
        "after storing them), if older than --hours. Run daily."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--hours", type=int, default=24, help="only files older than this")
        parser.add_argument("--dry-run", action="store_true", help="list them, delete nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        older_than = timedelta(hours=max(1, options["hours"]))
        if options["dry_run"]:
            found = orphan_files(older_than=older_than)
            verb = "would delete"
        else:
            found = delete_orphan_files(older_than=older_than)
            verb = "deleted"
        for path in found:
            self.stdout.write(path)
        self.stdout.write(f"{verb} {len(found)} orphan photo file(s)")
