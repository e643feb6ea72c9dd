"""Loaded by pytest with `-p` before Django's settings are read: test-only environment."""

import os

# The test client and live server speak plain HTTP.
os.environ.setdefault("WANGGE_HTTPS", "0")
# Playwright's sync API runs an event loop in the test thread; the ORM calls around it are safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
