"""Excel ledgers from the command line, as a given user (their scope and permissions apply):

    manage.py registry_ledger template 模板.xlsx
    manage.py registry_ledger check 台账.xlsx --as 13900000003
    manage.py registry_ledger import 台账.xlsx --as 13900000003
    manage.py registry_ledger export 导出.xlsx --as 13900000003 [--kind residents]
                                    [--reveal-reason "低保年审核对"]

`check` lists every bad cell; `import` writes the whole file or nothing. Both print progress."""

import sys
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from wangge.core.errors import DomainError
from wangge.registry.ledgers import exporter, importer, sheets

KINDS = {"all": exporter.KINDS, **{k: (k,) for k in exporter.KINDS}}


class Command(BaseCommand):
    help = "Download the ledger template, check or import a ledger, or export one."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["template", "check", "import", "export"])
        parser.add_argument("file")
        parser.add_argument("--as", dest="mobile", help="the user's mobile number (or username)")
        parser.add_argument("--kind", choices=sorted(KINDS), default="all")
        parser.add_argument("--reveal-reason", default="", help="export full numbers (audited)")

    def handle(self, *args: Any, **options: Any) -> None:
        path = options["file"]
        if options["action"] == "template":
            with open(path, "wb") as out:
                sheets.write_template(out)
            self.stdout.write(f"template written to {path}")
            return
        actor = self._user(options["mobile"])
        if options["action"] == "export":
            try:
                with open(path, "wb") as out:
                    summary = exporter.export_ledgers(
                        actor=actor,
                        out=out,
                        kinds=KINDS[options["kind"]],
                        reveal_reason=options["reveal_reason"],
                    )
            except DomainError as exc:
                raise CommandError(exc.message) from exc
            masked = "full numbers (audited)" if summary.revealed else "masked"
            self.stdout.write(f"exported {summary.rows} to {path}, {masked}")
            return
        run = importer.import_ledger if options["action"] == "import" else importer.check_ledger
        result = run(actor=actor, source=path, progress=self._progress)
        self.stderr.write("")
        for error in result.errors:
            self.stdout.write(
                f"{error.sheet} row {error.row} {error.column} {error.value!r}: {error.message}"
            )
        if result.error_count > len(result.errors):
            self.stdout.write(f"… {result.error_count - len(result.errors)} more")
        counts = {k: vars(c) for k, c in result.counts.items()}
        if result.error_count:
            raise CommandError(
                f"{result.error_count} problems in {result.rows} rows: nothing was imported"
            )
        for notice in result.notices:  # residents found by ID number who move or are renamed
            self.stdout.write(f"{notice.sheet} row {notice.row}: {notice.message}")
        verb = "imported" if result.written else "checked, nothing written"
        self.stdout.write(f"{result.rows} rows {verb}: {counts}")

    def _user(self, login: str | None) -> Any:
        if not login:
            raise CommandError("--as MOBILE is required: rows go only where that user may write")
        users = get_user_model().objects.filter(is_active=True)
        user = users.filter(mobile=login).first() or users.filter(username=login).first()
        if user is None:
            raise CommandError(f"no active user {login!r}")
        return user

    def _progress(self, rows: int, total: int | None) -> None:
        if sys.stderr.isatty():
            of = f" / {total}" if total else ""
            self.stderr.write(f"\r{rows}{of} rows", ending="")
