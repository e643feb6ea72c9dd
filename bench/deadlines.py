"""Deadline arithmetic throughput on the working calendar (no database).

Prints deadlines/s for 7- and 15-working-day limits, with and without pauses, SLA statuses/s and
due_soon_at/s, for random starts in 2025–2026 on the chinesecalendar data.

Run: .venv/bin/python bench/deadlines.py [--n 20000]
"""

import argparse
import os
import random
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wangge.settings")

import django

django.setup()

from wangge.workcalendar.deadlines import CALENDAR_TZ, LimitUnit  # noqa: E402
from wangge.workcalendar.tests.calendars import package_calendar  # noqa: E402


def rate(label: str, count: int, func: object) -> None:
    began = time.perf_counter()
    func()  # type: ignore[operator]
    spent = time.perf_counter() - began
    print(f"{label:<44} {count / spent:>12,.0f} /s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20000)
    n = parser.parse_args().n
    rng = random.Random(12345)
    calendar = package_calendar()
    base = datetime(2025, 1, 1, tzinfo=CALENDAR_TZ)
    starts = [base + timedelta(seconds=rng.randrange(0, 700 * 86400)) for _ in range(n)]
    pauses = [[(s + timedelta(days=2), s + timedelta(days=4))] for s in starts]
    wd = LimitUnit.WORKING_DAYS
    rate("deadline 2 h", n, lambda: [calendar.deadline(s, 2, LimitUnit.HOURS) for s in starts])
    rate("deadline 7 working days", n, lambda: [calendar.deadline(s, 7, wd) for s in starts])
    rate("deadline 15 working days", n, lambda: [calendar.deadline(s, 15, wd) for s in starts])
    rate(
        "deadline 7 working days, one pause",
        n,
        lambda: [calendar.deadline(s, 7, wd, p) for s, p in zip(starts, pauses, strict=True)],
    )
    dues = [calendar.deadline(s, 7, wd).due_at for s in starts]
    now = base + timedelta(days=365)
    rate(
        "sla_status 7 working days",
        n,
        lambda: [
            calendar.sla_status(now, s, d, limit_unit=wd) for s, d in zip(starts, dues, strict=True)
        ],
    )
    rate(
        "due_soon_at 7 working days",
        n,
        lambda: [
            calendar.due_soon_at(s, d, limit_unit=wd) for s, d in zip(starts, dues, strict=True)
        ],
    )


if __name__ == "__main__":
    main()
