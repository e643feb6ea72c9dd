"""`__codeprefix` selects exactly what `__startswith` does for unit codes, as an index range."""

from typing import Any

import pytest
from django.db import connection
from hypothesis import given
from hypothesis import strategies as st

from wangge.core.lookups import next_code
from wangge.core.tests.fixtures import World
from wangge.territory.models import OrgUnit

digits = st.text(alphabet="0123456789", min_size=0, max_size=8)


@given(code=digits, prefix=digits.filter(bool))
def test_a_range_holds_exactly_the_codes_with_the_prefix(code: str, prefix: str) -> None:
    upper = next_code(prefix)
    in_range = prefix <= code and (upper is None or code < upper)
    assert in_range == code.startswith(prefix)


def test_nines_carry_and_all_nines_have_no_upper_bound() -> None:
    assert next_code("110101") == "110102"
    assert next_code("1109") == "111"
    assert next_code("199") == "2"
    assert next_code("999") is None


def test_the_database_returns_what_startswith_returns(world: World) -> None:
    codes = list(OrgUnit.objects.values_list("code", flat=True))
    prefixes = {c[:n] for c in codes for n in range(1, len(c) + 1)} | {"9", "1101019", "5"}
    for prefix in sorted(prefixes):
        ranged = set(OrgUnit.objects.filter(code__codeprefix=prefix).values_list("pk", flat=True))
        liked = set(OrgUnit.objects.filter(code__startswith=prefix).values_list("pk", flat=True))
        assert ranged == liked, prefix


def test_a_prefix_that_is_not_digits_falls_back_to_like(world: World) -> None:
    assert not OrgUnit.objects.filter(code__codeprefix="11%").exists()
    assert OrgUnit.objects.filter(code__codeprefix="").count() == OrgUnit.objects.count()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's planner")
def test_postgresql_seeks_the_range_in_an_index(world: World, django_db_blocker: Any) -> None:
    sql, params = (
        OrgUnit.objects.filter(code__codeprefix="110101").only("pk").query.sql_with_params()
    )
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Index Cond" in plan and ">=" in plan, plan
