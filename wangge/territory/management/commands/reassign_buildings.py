"""Buildings after new boundaries (网格调整): list, and with --apply move, every building whose
position now lies in another grid.

    manage.py reassign_buildings            # list what would move, write nothing
    manage.py reassign_buildings --apply    # move the buildings that can move

A building keeps its grid when its boundaries are redrawn (its households, head and records
belong to that grid) until this moves it. One that cannot move (its position is outside every
grid, or the new grid has a building at its address now) is listed with the reason and left
where it is; run again once the others have moved. A building head gets a membership of their
building's new grid. Exit status: 0, or 1 when some building could not move.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from wangge.territory import actions


class Command(BaseCommand):
    help = "List (and with --apply move) buildings whose position lies in another grid."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--apply", action="store_true", help="move the buildings that can")

    def handle(self, *args: Any, **options: Any) -> None:
        moves = actions.plan_building_moves()
        if not moves:
            self.stdout.write(
                "每栋楼都在其位置所在的网格内 (every building is in its position's grid)"
            )
            return
        for move in moves:
            target = move.to_grid or "-"
            line = f"{move.from_grid} → {target}  {move.address}"
            if move.problem:
                line += f"  ✗ {move.problem}"
            elif move.cross_community_links:
                line += (
                    f"  ! {move.cross_community_links} 对党员联户将跨社区，请重新结对"
                    f" ({move.cross_community_links} party pairs would cross communities)"
                )
            self.stdout.write(line)
        movable = [m for m in moves if m.movable]
        stuck = len(moves) - len(movable)
        if options["apply"]:
            result = actions.move_buildings(movable)
            self.stdout.write(f"已迁移 {len(result.moved)} 栋 (moved {len(result.moved)})")
            if result.heads_added:
                self.stdout.write(
                    f"{len(result.heads_added)} 位楼栋长加入了其楼栋的新网格"
                    f" ({len(result.heads_added)} building heads now belong to their building's"
                    " new grid)"
                )
            stuck += len(result.skipped)
            if result.skipped:
                self.stdout.write(
                    f"{len(result.skipped)} 栋在检查后有变化，未迁移，请重新运行"
                    f" ({len(result.skipped)} changed since the plan and stayed: run again)"
                )
        else:
            self.stdout.write(
                f"试运行：{len(movable)} 栋可以迁移，未写入任何数据；加 --apply 迁移"
                f" (dry run: {len(movable)} can move, nothing written; --apply moves them)"
            )
        if stuck:
            raise CommandError(
                f"{stuck} 栋无法迁移，见上 ({stuck} cannot move, see above)", returncode=1
            )
