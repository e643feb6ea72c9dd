from typing import Any

from django.core.management.base import BaseCommand, CommandError

from wangge.accounts.actions import issue_token
from wangge.accounts.models import User


class Command(BaseCommand):
    help = "Issue a staff API token for a user (by mobile number or username); prints it once."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("user", help="mobile number or username")
        parser.add_argument("--name", default="api", help="what the token is for")

    def handle(self, *args: Any, **options: Any) -> None:
        ident = options["user"]
        user = (
            User.objects.filter(mobile=ident).first() or User.objects.filter(username=ident).first()
        )
        if user is None:
            raise CommandError(f"no user with mobile number or username {ident!r}")
        _token, raw = issue_token(user=user, name=options["name"])
        self.stdout.write(raw)
