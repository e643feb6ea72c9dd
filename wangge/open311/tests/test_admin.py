"""Keys are issued in the admin: the secret is shown once and only its hash is kept."""

import re

from wangge.cases.models import Source
from wangge.core.tests.fixtures import World, login_as
from wangge.open311.actions import hash_key
from wangge.open311.models import Open311ApiKey


def test_an_administrator_issues_a_key_and_sees_its_secret_once(client, world: World) -> None:
    login_as(client, world.users["superuser"])
    response = client.post(
        "/admin/open311/open311apikey/add/",
        {
            "name": "12345 热线对接",
            "user": world.users["resident"].pk,
            "source": Source.HOTLINE,
            "rate_limit_per_minute": 30,
            "is_active": "on",
        },
        follow=True,
    )
    assert response.redirect_chain, response.content.decode()[:2000]
    key = Open311ApiKey.objects.get()
    raw = re.search(r"o311_[\w-]{20,}", response.content.decode()).group(0)
    assert key.key_hash == hash_key(raw) and raw.startswith(key.prefix)
    assert raw not in str(Open311ApiKey.objects.values().get())
    assert (key.source, key.rate_limit_per_minute, key.is_active) == (Source.HOTLINE, 30, True)
    page = client.get(f"/admin/open311/open311apikey/{key.pk}/change/").content.decode()
    assert raw not in page and key.prefix in page

    response = client.post(
        f"/admin/open311/open311apikey/{key.pk}/change/",
        {
            "name": "12345 热线对接",
            "user": world.users["resident"].pk,
            "source": Source.HOTLINE,
            "rate_limit_per_minute": 0,
        },
    )
    assert response.status_code == 200  # the form refuses a limit of 0
    key.refresh_from_db()
    assert key.rate_limit_per_minute == 30
    response = client.post(
        f"/admin/open311/open311apikey/{key.pk}/change/",
        {
            "name": "12345 热线对接",
            "user": world.users["resident"].pk,
            "source": Source.HOTLINE,
            "rate_limit_per_minute": 5,
        },
    )
    assert response.status_code == 302
    key.refresh_from_db()
    assert (key.rate_limit_per_minute, key.is_active) == (5, False)
    assert key.key_hash == hash_key(raw)
