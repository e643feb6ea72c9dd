"""Fixed-window counters (local memory and a real Redis) and the client address they key on."""

import threading
import uuid
from typing import Any

import pytest
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory, override_settings

from wangge.core import ratelimit
from wangge.env import cache_config, env_networks, env_origins

REDIS_URL = "redis://127.0.0.1:6379/0"


def hits(n: int, **kwargs: Any) -> tuple[int, list[int]]:
    """How many of n calls passed, and the Retry-After of those refused."""
    passed, refused = 0, []
    for _ in range(n):
        try:
            ratelimit.hit(**kwargs)
            passed += 1
        except ratelimit.RateLimited as exc:
            refused.append(exc.retry_after)
    return passed, refused


def test_it_allows_the_limit_and_refuses_the_rest_with_a_retry_after() -> None:
    passed, refused = hits(5, bucket="t", key="k", limit=3, window_seconds=60)
    assert passed == 3
    assert len(refused) == 2
    assert all(1 <= seconds <= 60 for seconds in refused)


def test_buckets_and_keys_count_apart() -> None:
    assert hits(2, bucket="a", key="k", limit=2, window_seconds=60)[0] == 2
    assert hits(2, bucket="b", key="k", limit=2, window_seconds=60)[0] == 2
    assert hits(2, bucket="a", key="other", limit=2, window_seconds=60)[0] == 2
    assert hits(1, bucket="a", key="k", limit=2, window_seconds=60)[0] == 0


def test_a_new_window_starts_from_zero_and_retry_after_points_at_it(monkeypatch) -> None:
    now = [1_000_000_040.0]  # 20 s into a 60 s window (1_000_000_020 is a multiple of 60)
    monkeypatch.setattr(ratelimit, "_now", lambda: now[0])
    passed, refused = hits(3, bucket="w", key="k", limit=2, window_seconds=60)
    assert (passed, refused) == (2, [40])
    now[0] += 40
    assert hits(2, bucket="w", key="k", limit=2, window_seconds=60)[0] == 2


def test_keys_a_client_chose_are_hashed_not_stored_raw() -> None:
    raw = "Bearer secret token with spaces " + "x" * 200
    assert raw not in ratelimit._cache_key("api", raw, 1)
    assert len(ratelimit._cache_key("api", raw, 1)) < 80
    assert ratelimit._cache_key("api-ip", "10.0.0.1", 7) == "rl:api-ip:10.0.0.1:7"


def redis_reachable() -> bool:
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5).ping()
    except Exception:
        return False
    return True


@pytest.mark.skipif(not redis_reachable(), reason="no Redis at 127.0.0.1:6379")
def test_on_redis_concurrent_hits_never_pass_more_than_the_limit(monkeypatch) -> None:
    # One fixed instant: every hit lands in the same window however long the threads take.
    monkeypatch.setattr(ratelimit, "_now", lambda: 1_000_000_020.0)
    with override_settings(CACHES={"default": cache_config(REDIS_URL)}):
        cache = caches["default"]
        assert cache.__class__.__name__ == "RedisCache"
        key = uuid.uuid4().hex
        passed: list[int] = []
        lock = threading.Lock()

        def worker() -> None:
            count, _ = hits(25, bucket="redis-test", key=key, limit=100, window_seconds=60)
            with lock:
                passed.append(count)

        threads = [threading.Thread(target=worker) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sum(passed) == 100
        cache_key = ratelimit._cache_key("redis-test", key, 1_000_000_020 // 60)
        assert int(cache.get(cache_key)) == 200
        # The counter disappears by itself after its window (plus a second).
        client = cache._cache.get_client()
        assert 0 < client.ttl(cache.make_key(cache_key)) <= 61
        cache.delete(cache_key)
        cache.close()


def test_when_the_cache_is_down_requests_pass_and_the_outage_is_logged(caplog) -> None:
    # Nothing listens on port 1: every cache call fails at once.
    with override_settings(CACHES={"default": cache_config("redis://127.0.0.1:1/0")}):
        passed, refused = hits(3, bucket="down", key="k", limit=1, window_seconds=60)
    assert (passed, refused) == (3, [])
    assert "not counted" in caplog.text


def request(remote: str, forwarded: str | None = None) -> Any:
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **meta)


def test_without_trusted_proxies_the_peer_is_the_client(settings) -> None:
    settings.WANGGE_TRUSTED_PROXIES = []
    assert ratelimit.client_ip(request("203.0.113.9", "1.2.3.4")) == "203.0.113.9"


def test_forwarded_for_is_read_only_from_a_trusted_proxy(settings) -> None:
    settings.WANGGE_TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert ratelimit.client_ip(request("10.1.2.3", "198.51.100.7")) == "198.51.100.7"
    # Not from a proxy: a forged header is ignored.
    assert ratelimit.client_ip(request("203.0.113.9", "198.51.100.7")) == "203.0.113.9"


def test_a_client_cannot_pick_its_address_by_prepending_to_the_chain(settings) -> None:
    settings.WANGGE_TRUSTED_PROXIES = ["10.0.0.1", "10.0.0.2"]
    # The client sent "X-Forwarded-For: 1.1.1.1"; two proxies appended the real address and
    # the first proxy's.
    forged = request("10.0.0.2", "1.1.1.1, 198.51.100.7, 10.0.0.1")
    assert ratelimit.client_ip(forged) == "198.51.100.7"


def test_garbage_in_forwarded_for_falls_back_to_the_proxy(settings) -> None:
    settings.WANGGE_TRUSTED_PROXIES = ["127.0.0.1"]
    assert ratelimit.client_ip(request("127.0.0.1", "not-an-ip")) == "127.0.0.1"
    assert ratelimit.client_ip(request("127.0.0.1", "")) == "127.0.0.1"


def test_cache_url_chooses_redis_or_local_memory_and_refuses_anything_else() -> None:
    assert cache_config("")["BACKEND"].endswith("LocMemCache")
    redis_config = cache_config("redis://cache:6379/1")
    assert redis_config["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert redis_config["LOCATION"] == "redis://cache:6379/1"
    with pytest.raises(ImproperlyConfigured, match="CACHE_URL"):
        cache_config("memcached://cache:11211")


def test_trusted_proxies_and_cors_origins_are_checked(monkeypatch) -> None:
    monkeypatch.setenv("X_PROXIES", "127.0.0.1, 10.0.0.0/8")
    assert env_networks("X_PROXIES", []) == ["127.0.0.1", "10.0.0.0/8"]
    monkeypatch.setenv("X_PROXIES", "proxy.local")
    with pytest.raises(ImproperlyConfigured, match="X_PROXIES"):
        env_networks("X_PROXIES", [])
    monkeypatch.setenv("X_ORIGINS", "https://app.example.org, http://localhost:5173/")
    assert env_origins("X_ORIGINS", []) == ["https://app.example.org", "http://localhost:5173"]
    monkeypatch.setenv("X_ORIGINS", "https://app.example.org/api")
    with pytest.raises(ImproperlyConfigured, match="X_ORIGINS"):
        env_origins("X_ORIGINS", [])
