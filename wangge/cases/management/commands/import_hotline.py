from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from wangge.cases import hotline
from wangge.core.errors import DomainError


class Command(BaseCommand):
    help = (
        "Import 12345 hotline work orders (CSV or XLSX: 工单编号, 来电时间, 来电号码, 诉求内容, "
        "地址, 问题分类) as cases with source 12345热线. Every row is checked first; with any bad "
        "row nothing is imported. Importing the same file again creates nothing new."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file", help="a .csv (UTF-8 or GB18030) or .xlsx export")
        parser.add_argument(
            "--dry-run", action="store_true", help="check every row and report; import nothing"
        )
        parser.add_argument(
            "--category-map",
            metavar="CSV",
            help="two columns: the hotline's category text, our sub-category code",
        )
        parser.add_argument(
            "--fallback-grid",
            metavar="CODE",
            help="the grid for work orders whose address names no known place",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        try:
            category_map = (
                hotline.read_category_map(Path(options["category_map"]))
                if options["category_map"]
                else None
            )
            fallback = (
                hotline.fallback_grid_for(options["fallback_grid"])
                if options["fallback_grid"]
                else None
            )
            report = hotline.import_file(
                path,
                dry_run=options["dry_run"],
                category_map=category_map,
                fallback_grid=fallback,
            )
        except DomainError as exc:
            raise CommandError(exc.message) from None
        if report.problems:
            self.stderr.write("行 row\t列 column\t值 value\t原因 reason")
            for p in report.problems:
                self.stderr.write(f"{p.row}\t{p.column}\t{p.value}\t{p.reason}")
            raise CommandError(
                f"{len(report.problems)} 个问题，未导入任何工单 "
                f"({len(report.problems)} problem(s); nothing was imported)"
            )
        if options["dry_run"]:
            self.stdout.write(
                f"检查通过：{report.rows} 行，将导入 {report.new} 件，已导入过 {report.already} 件 "
                f"(dry run: {report.rows} rows OK, {report.new} to import, "
                f"{report.already} already imported)"
            )
            return
        self.stdout.write(
            f"已导入 {report.created} 件，此前已导入 {report.already} 件 "
            f"(imported {report.created}, {report.already} already imported)"
        )
