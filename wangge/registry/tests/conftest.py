from collections.abc import Iterator
from typing import Any

import pytest

from wangge.registry import crypto
from wangge.registry.tests.factories import RegistryWorld, make_registry
from wangge.registry.tests.field_factories import FieldWorld, make_field


@pytest.fixture(autouse=True)
def _fresh_keyring() -> Iterator[None]:
    """Tests that set WANGGE_FIELD_KEYS must not leak their keys into the next test."""
    crypto.reset_keyring()
    yield
    crypto.reset_keyring()


@pytest.fixture
def registry(world: Any) -> RegistryWorld:
    return make_registry(world)


@pytest.fixture
def field(world: Any, registry: RegistryWorld) -> FieldWorld:
    return make_field(world, registry)
