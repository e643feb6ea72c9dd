"""`manage.py seed_cases --count N [--days D] [--seed S]`: bulk case history for demos and
benchmarks, in the demo district (run `seed_demo` first)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from wangge.core.errors import DomainError
from wangge.dashboard.history import seed_cases


class Command(BaseCommand):
    help = (
        "Add N realistic cases received over the last D days to the demo district, with their "
        "timelines, deadlines and dashboard counters (COPY on PostgreSQL)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--count", type=int, required=True, help="how many cases to add")
        parser.add_argument("--days", type=int, default=90, help="spread over the last D days")
        parser.add_argument("--seed", type=int, default=2026, help="random seed")
        parser.add_argument(
            "--chunk",
            type=int,
            default=100_000,
            help="cases generated at a time (default 100000); the whole load is one transaction",
        )
        parser.add_argument(
            "--no-timeline",
            action="store_true",
            help="leave out the timeline entries (benchmarks of counters and lists)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        verbosity = options["verbosity"]

        def progress(done: int, total: int) -> None:
            if verbosity > 1:
                self.stdout.write(f"  {done:,}/{total:,}")

        try:
            result = seed_cases(
                count=options["count"],
                days=options["days"],
                seed=options["seed"],
                chunk=options["chunk"],
                timeline=not options["no_timeline"],
                progress=progress,
            )
        except DomainError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"added {result.cases:,} cases and {result.events:,} timeline entries in "
                f"{result.seconds:.1f} s: {result.rate:,.0f} cases/s "
                f"(counters {result.rollup_seconds:.1f} s)"
            )
        )
        # Where the time went, for benchmarks (docs/performance.md "seed_cases").
        self.stdout.write(
            "  " + ", ".join(f"{phase} {seconds:.2f} s" for phase, seconds in result.phases.items())
        )
