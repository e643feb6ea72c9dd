"""Re-encrypt every ID and mobile number with the current key (the first in WANGGE_FIELD_KEYS).

Rotation: put the new key first in WANGGE_FIELD_KEYS and keep the old ones after it, restart,
run this command, then drop the old keys.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from wangge.registry import actions, crypto


class Command(BaseCommand):
    help = "Re-encrypt personal identifiers with the current field key."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=1000)

    def handle(self, *args: Any, **options: Any) -> None:
        crypto.reset_keyring()
        ring = crypto.keyring()
        if ring.is_default:
            self.stderr.write(
                self.style.WARNING(f"{crypto.ENV_NAME} is not set: using the development key.")
            )
        counts = actions.rotate_field_keys(batch_size=options["batch_size"])
        self.stdout.write(
            self.style.SUCCESS(
                f"Re-encrypted {counts['residents']} residents and {counts['enterprises']} "
                f"enterprises with key {ring.current_id}."
            )
        )
