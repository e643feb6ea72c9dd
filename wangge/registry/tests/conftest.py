from collections.abc import Iterator
from typing import Any

import pytest

from wangge.registry import crypto
from wangge.registry.tests.factories import RegistryWorld, make_registry, tag_drift
from wangge.registry.tests.field_factories import FieldWorld, make_field


@pytest.fixture(autouse=True)
def _fresh_keyring() -> Iterator[None]:
    """Tests that set WANGGE_FIELD_KEYS must not leak their keys into the next test."""
    crypto.reset_keyring()
    yield
    crypto.reset_keyring()


@pytest.fixture
def registry(world: Any) -> Iterator[RegistryWorld]:
    yield make_registry(world)
    # Whatever the test did (actions, imports, moves), every tag still names its resident's
    # building: the tag search within a community relies on it.
    assert tag_drift() == []


@pytest.fixture
def field(world: Any, registry: RegistryWorld) -> FieldWorld:
    return make_field(world, registry)
