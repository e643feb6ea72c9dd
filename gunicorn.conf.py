"""Gunicorn's settings for Wangge, read by `gunicorn wangge.wsgi:application` started in the
checkout (gunicorn looks for ./gunicorn.conf.py). Command-line options and GUNICORN_CMD_ARGS
override them.

Workers: one synchronous worker per core this process may run on, or WEB_CONCURRENCY. A request
keeps its worker on the CPU for most of its time (long work runs as background tasks), so more
workers than cores only queue for the same cores and evict each other's caches: on the 2-core
machine, 4 workers served fewer intakes than 2 (docs/decisions/0011-one-worker-per-core.md).
Serve behind a buffering reverse proxy (nginx), which also terminates TLS: a synchronous worker
must not wait on a slow phone's upload.
"""

import os

workers = int(os.environ.get("WEB_CONCURRENCY") or len(os.sched_getaffinity(0)))
