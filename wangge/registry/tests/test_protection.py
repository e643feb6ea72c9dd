"""Encryption at rest, keyed digests, key rotation, the system check and a database dump with no
plaintext identifier in it (PIPL)."""

import hashlib
import hmac
import io
import json

import pytest
from django.core.checks import Warning as CheckWarning
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from wangge.accounts.models import User
from wangge.registry import actions, crypto, protection
from wangge.registry.actions import resident_by_id_number
from wangge.registry.checks import check_field_keys
from wangge.registry.models import Resident
from wangge.registry.selectors import resident_search
from wangge.registry.tests.factories import RegistryWorld


def test_a_value_round_trips_and_each_ciphertext_is_different() -> None:
    one = crypto.encrypt("13812345678", purpose=protection.MOBILE)
    two = crypto.encrypt("13812345678", purpose=protection.MOBILE)
    assert one != two
    assert "13812345678" not in one
    assert crypto.decrypt(one, purpose=protection.MOBILE) == "13812345678"


def test_a_tampered_ciphertext_or_another_column_fails_to_decrypt() -> None:
    token = crypto.encrypt("11010519491231002X", purpose=protection.ID_NUMBER)
    version, key_id, body = token.split(":")
    flipped = body[:5] + ("A" if body[5] != "A" else "B") + body[6:]
    with pytest.raises(crypto.DecryptionFailed):
        crypto.decrypt(f"{version}:{key_id}:{flipped}", purpose=protection.ID_NUMBER)
    with pytest.raises(crypto.DecryptionFailed):
        crypto.decrypt(token, purpose=protection.MOBILE)


def test_digests_are_keyed_and_not_a_plain_hash(monkeypatch) -> None:
    default = crypto.digest("13812345678", purpose=protection.MOBILE)
    monkeypatch.setenv(crypto.ENV_NAME, crypto.generate_key())
    crypto.reset_keyring()
    assert crypto.digest("13812345678", purpose=protection.MOBILE) != default


def test_bad_keys_fail_loudly_in_the_system_check(monkeypatch) -> None:
    monkeypatch.setenv(crypto.ENV_NAME, "not-a-key")
    [error] = check_field_keys()
    assert error.id == "registry.E001"


def test_the_development_key_is_flagged_when_debug_is_off(monkeypatch, settings) -> None:
    monkeypatch.delenv(crypto.ENV_NAME, raising=False)
    settings.DEBUG = False
    [warning] = check_field_keys()
    assert isinstance(warning, CheckWarning) and warning.id == "registry.W001"
    settings.DEBUG = True
    assert check_field_keys() == []
    monkeypatch.setenv(crypto.ENV_NAME, crypto.generate_key())
    settings.DEBUG = False
    assert check_field_keys() == []


def test_identifiers_are_stored_encrypted_digested_and_masked(registry: RegistryWorld) -> None:
    row = Resident.objects.get(pk=registry.residents["a"].pk)
    assert row.id_number_masked == "110105********002X"
    assert row.mobile_masked == "138****5678"
    assert registry.plain["id_a"] not in row.id_number_encrypted
    assert (
        protection.open_value(row.id_number_encrypted, purpose=protection.ID_NUMBER)
        == (registry.plain["id_a"])
    )
    assert resident_by_id_number("11010519491231002x") == row


def test_rotation_re_encrypts_with_the_new_key_and_lookups_keep_working(
    registry: RegistryWorld, monkeypatch
) -> None:
    old_key, new_key = crypto.generate_key(), crypto.generate_key()
    monkeypatch.setenv(crypto.ENV_NAME, old_key)
    crypto.reset_keyring()
    call_command("rotate_field_keys", stdout=io.StringIO())
    old_id = crypto.keyring().current_id
    assert all(crypto.key_id_of(r.id_number_encrypted) == old_id for r in Resident.objects.all())

    # The new key first, the old one still listed: not-yet-rotated rows stay readable.
    monkeypatch.setenv(crypto.ENV_NAME, f"{new_key},{old_key}")
    crypto.reset_keyring()
    assert resident_by_id_number(registry.plain["id_a"]) is not None
    out = io.StringIO()
    call_command("rotate_field_keys", stdout=out)
    assert "Re-encrypted 3 residents" in out.getvalue()
    new_id = crypto.keyring().current_id

    # Only the new key now: everything decrypts and is found.
    monkeypatch.setenv(crypto.ENV_NAME, new_key)
    crypto.reset_keyring()
    for resident in Resident.objects.all():
        assert crypto.key_id_of(resident.mobile_encrypted) == new_id
        protection.open_value(resident.id_number_encrypted, purpose=protection.ID_NUMBER)
    assert resident_by_id_number(registry.plain["id_c"]) == registry.residents["c"]
    # Running it again has nothing left to do.
    out = io.StringIO()
    call_command("rotate_field_keys", stdout=out)
    assert "Re-encrypted 0 residents" in out.getvalue()


def _all_text_in_the_database() -> str:
    chunks: list[str] = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            for row in cursor.fetchall():
                chunks.extend(str(value) for value in row if value is not None)
    return "\n".join(chunks)


def test_a_database_dump_holds_no_plaintext_id_or_mobile_number(registry: RegistryWorld) -> None:
    # A reveal writes an audit row: it must not copy the values either.
    actions.reveal_resident(
        actor=User.objects.get(username="community_staff"),
        resident=registry.residents["a"],
        reason="核对低保材料",
    )
    dump = io.StringIO()
    call_command("dumpdata", "--natural-foreign", stdout=dump)
    json.loads(dump.getvalue())  # a real dump
    raw = _all_text_in_the_database()
    plain = registry.plain
    for value in plain.values():
        assert value not in dump.getvalue()
        assert value not in raw
    # Not even the 14 leading characters of an ID, nor the mobile's first 7 digits.
    for key in ("id_a", "id_b", "id_c"):
        assert plain[key][:14] not in raw
    for key in ("mobile_a", "mobile_b", "mobile_c"):
        assert plain[key][:7] not in raw
    assert "110105********002X" in raw  # the masked form is what the pages use


def _old_format_digest(value: str, *, purpose: str) -> str:
    """A digest as stored before migration 0003: the whole HMAC-SHA256 in hex."""
    key = crypto.keyring().hash_keys[0]
    return hmac.new(key, f"{purpose}\x00{value}".encode(), hashlib.sha256).hexdigest()


@pytest.mark.django_db(transaction=True)
def test_the_digest_migration_converts_stored_digests_so_every_lookup_still_finds_them(
    registry: RegistryWorld,
) -> None:
    plain = registry.plain
    resident = registry.residents["a"]
    executor = MigrationExecutor(connection)
    executor.migrate([("registry", "0002_party_links_visits_resident_changes")])
    old = {
        "id_number_digest": _old_format_digest(plain["id_a"], purpose=protection.ID_NUMBER),
        "id_number_last4_digest": _old_format_digest(
            plain["id_a"][-4:], purpose=f"{protection.ID_NUMBER}.last4"
        ),
        "mobile_digest": _old_format_digest(plain["mobile_a"], purpose=protection.MOBILE),
        "mobile_last4_digest": _old_format_digest(
            plain["mobile_a"][-4:], purpose=f"{protection.MOBILE}.last4"
        ),
    }
    with connection.cursor() as cursor:
        assignments = ", ".join(f"{connection.ops.quote_name(c)} = %s" for c in old)
        cursor.execute(
            f"UPDATE registry_resident SET {assignments} WHERE id = %s",
            [*old.values(), resident.pk],
        )
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes("registry"))

    stored = Resident.objects.get(pk=resident.pk)
    assert stored.id_number_digest == crypto.digest(plain["id_a"], purpose=protection.ID_NUMBER)
    assert len(stored.mobile_last4_digest) == crypto.DIGEST_LENGTH
    assert resident_by_id_number(plain["id_a"]) == stored
    staff = User.objects.get(username="community_staff")
    for query in (plain["mobile_a"], plain["mobile_a"][-4:], plain["id_a"][-4:]):
        assert resident.pk in [r.pk for r in resident_search(user=staff, query=query)], query


@pytest.mark.django_db
def test_each_digest_column_has_one_byte_ordered_index_and_no_like_index() -> None:
    digests = ("id_number_digest", "id_number_last4_digest", "mobile_digest", "mobile_last4_digest")
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "registry_resident")
    for column in digests:
        indexes = [c for c in constraints.values() if c["index"] and c["columns"] == [column]]
        assert len(indexes) == 1, (column, indexes)
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name, collation_name FROM information_schema.columns "
            "WHERE table_name = 'registry_resident' AND column_name LIKE %s",
            ["%digest"],
        )
        assert dict(cursor.fetchall()) == dict.fromkeys(digests, "C")
