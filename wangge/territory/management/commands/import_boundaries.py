"""Import street/community/grid/microgrid boundaries from a GeoJSON FeatureCollection.

    manage.py import_boundaries FILE.geojson --level street [--parent 110101] [--dry-run]

All or nothing: every feature is checked first; one bad feature and nothing is written. The
report (stdout) lists every repaired and every rejected feature by its index in the file. Exit
status: 0 imported (or dry run passed), 1 features rejected, 2 unusable file or arguments.
"""

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from wangge.core.errors import DomainError
from wangge.territory import actions
from wangge.territory.models import Level


class Command(BaseCommand):
    help = "Import boundaries of one level from a GeoJSON FeatureCollection (all or nothing)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="GeoJSON FeatureCollection (WGS84 lon/lat)")
        parser.add_argument(
            "--level",
            required=True,
            choices=[level for level in Level.values if level != Level.DISTRICT],
            help="level of every feature in the file",
        )
        parser.add_argument(
            "--parent",
            metavar="CODE",
            help="code of the parent unit of every feature (default: each feature's parentCode "
            "property, else the prefix of its code)",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="check and report, write nothing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        features = read_feature_collection(path)
        try:
            report = actions.import_boundaries(
                features=features,
                level=options["level"],
                parent_code=options["parent"],
                dry_run=options["dry_run"],
            )
        except actions.ImportRejected as exc:
            for line in exc.report.lines():
                self.stdout.write(line)
            raise CommandError(f"{path}: {exc.message}", returncode=1) from None
        except DomainError as exc:
            raise CommandError(f"{path}: {exc.message}", returncode=2) from None
        for line in report.lines():
            self.stdout.write(line)
        if not options["dry_run"]:
            stale = len(actions.plan_building_moves())
            if stale:
                self.stdout.write(
                    f"{stale} 栋楼的位置现在在其他网格内，运行 manage.py reassign_buildings 查看并迁移"
                    f" ({stale} buildings now stand in another grid: see manage.py"
                    " reassign_buildings)"
                )


def read_feature_collection(path: Path) -> list[Any]:
    """The file's features, or a CommandError naming the file and what is wrong with it."""
    try:
        text = path.read_text(encoding="utf-8-sig")  # tolerate a byte-order mark
    except FileNotFoundError:
        raise CommandError(f"{path}: 文件不存在 (file not found)", returncode=2) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(
            f"{path}: 无法读取 (cannot read the file): {exc}", returncode=2
        ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CommandError(
            f"{path}: 不是有效的 JSON (not valid JSON): line {exc.lineno}, column {exc.colno}: "
            f"{exc.msg}",
            returncode=2,
        ) from None
    if (
        not isinstance(data, dict)
        or data.get("type") != "FeatureCollection"
        or not isinstance(data.get("features"), list)
    ):
        kind = data.get("type") if isinstance(data, dict) else type(data).__name__
        raise CommandError(
            f"{path}: 不是 GeoJSON FeatureCollection（收到 {kind}） "
            f"(not a GeoJSON FeatureCollection with a features list; got {kind})",
            returncode=2,
        )
    return data["features"]
