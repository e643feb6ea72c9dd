"""wangge.core.sql: prepared_cursor (the connection's kept cursor is handed out again, never to
two users at once, and never outlives its connection) and fresh_copy."""

from typing import Any

import pytest
from django.db import connection
from django.db.models.signals import post_init

from wangge.cases.models import Category
from wangge.core import sql
from wangge.core.sql import fresh_copy, open_case_scan, prepared_cursor
from wangge.territory.models import OrgUnit

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the kept, prepared cursor is PostgreSQL's"
)


def raw(cursor: Any) -> Any:
    """The psycopg cursor under Django's wrapper."""
    return cursor.cursor


@postgres_only
@pytest.mark.django_db
def test_the_cursor_is_handed_out_again_once_its_user_is_done() -> None:
    with prepared_cursor() as first:
        first.execute("SELECT %s::int", [1])
        assert first.fetchone() == (1,)
    with prepared_cursor() as second:
        second.execute("SELECT %s::int", [2])
        assert second.fetchone() == (2,)
    assert raw(first) is raw(second)


@postgres_only
@pytest.mark.django_db
def test_a_nested_use_gets_its_own_cursor_and_results_never_mix() -> None:
    with prepared_cursor() as outer:
        outer.execute("SELECT %s::int", [1])
        with prepared_cursor() as inner:
            assert raw(inner) is not raw(outer)
            inner.execute("SELECT %s::int", [2])
            assert inner.fetchone() == (2,)
        assert raw(inner).closed
        assert outer.fetchone() == (1,)
    with prepared_cursor() as again:
        # The kept one is free again; the nested one was really closed.
        assert raw(again) is raw(outer)


# serialized_rollback: a transactional test's flush without it re-creates the content types
# (post_migrate), and a serialized_rollback test run next then fails to load its snapshot.
@postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_new_connection_gets_a_new_cursor() -> None:
    with prepared_cursor() as before:
        before.execute("SELECT 1")
    connection.close()
    with prepared_cursor() as after:
        after.execute("SELECT %s::int", [3])
        assert after.fetchone() == (3,)
    assert raw(after) is not raw(before)


@postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_failed_statement_leaves_the_cursor_usable() -> None:
    with pytest.raises(Exception, match="division by zero"), prepared_cursor() as cursor:
        cursor.execute("SELECT 1 / %s::int", [0])
    with prepared_cursor() as cursor:
        cursor.execute("SELECT %s::int", [4])
        assert cursor.fetchone() == (4,)


def test_elsewhere_it_is_an_ordinary_cursor(db: Any) -> None:
    with prepared_cursor() as cursor:
        cursor.execute("SELECT %s", [5])
        assert cursor.fetchone() == (5,)


def _setting(name: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SHOW {name}")
        return str(cursor.fetchone()[0])


@postgres_only
def test_the_open_case_scan_settings_hold_inside_only(db: Any) -> None:
    before = (_setting("enable_bitmapscan"), _setting("work_mem"))
    with open_case_scan():
        assert _setting("enable_bitmapscan") == "off"
        assert _setting("work_mem") == "32MB"
    assert (_setting("enable_bitmapscan"), _setting("work_mem")) == before


def test_the_open_case_scan_changes_nothing_elsewhere(db: Any) -> None:
    with open_case_scan(), connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)


def test_a_fresh_copy_is_a_new_instance_as_loading_the_row_again_gives(
    world: Any, django_assert_num_queries: Any
) -> None:
    kept = Category.objects.get(code="utilities")
    assert kept.questions  # a JSON list of dicts
    parent = kept.parent
    unit = OrgUnit.objects.only("code", "name").filter(parent__isnull=False).first()
    assert unit is not None
    with django_assert_num_queries(0):
        copy = fresh_copy(kept)
        unit_copy = fresh_copy(unit)
        assert unit_copy.name == unit.name
    assert copy is not kept and copy.pk == kept.pk and copy.code == kept.code
    assert not copy._state.adding and copy._state.db == kept._state.db
    assert copy._state is not kept._state
    # Its own mutable values and no related objects cached on the original.
    copy.questions[0]["label"] = "changed"
    copy.questions.append({})
    assert kept.questions == Category.objects.get(pk=kept.pk).questions
    assert "parent" not in copy._state.fields_cache and copy.parent_id == parent.pk
    # Deferred fields stay deferred (read on use, as on a loaded instance).
    assert unit_copy.get_deferred_fields() == unit.get_deferred_fields() != set()


@pytest.mark.django_db
def test_a_model_with_init_receivers_is_copied_through_init(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[Any] = []

    def receiver(sender: Any, instance: Any, **kwargs: Any) -> None:
        seen.append(instance)

    kept = Category.objects.get(code="utilities")
    post_init.connect(receiver, sender=Category, weak=False)
    sql._has_init_receivers.cache_clear()
    try:
        copy = fresh_copy(kept)
    finally:
        post_init.disconnect(receiver, sender=Category)
        sql._has_init_receivers.cache_clear()
    assert seen == [copy]
    assert copy.questions == kept.questions and copy.questions is not kept.questions
