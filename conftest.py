"""Shared fixtures for every app's tests (environment defaults live in wangge/testing_env.py)."""

pytest_plugins = ["wangge.core.tests.fixtures", "wangge.core.tests.browser"]
