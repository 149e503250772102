"""The landing page's answer replayed for a second in front of Django (narcis_site/shared_pages.py): the
same status, headers and bytes Django gave, a 304 for its ETag, and never a per-visitor answer."""

import pytest
from channels.testing import HttpCommunicator
from django.core.asgi import get_asgi_application

from narcis_site.shared_pages import SharedPageCache

pytestmark = pytest.mark.django_db(transaction=True)


class CountingDjango:
    """The real Django application, counting the requests that reached it."""

    def __init__(self):
        self.app, self.calls = get_asgi_application(), 0

    async def __call__(self, scope, receive, send):
        self.calls += 1
        await self.app(scope, receive, send)


async def get(app, headers=(), path="/", host=b"localhost"):
    communicator = HttpCommunicator(app, "GET", path, headers=[(b"host", host), *headers])
    response = await communicator.get_response(timeout=30)
    await communicator.wait(timeout=30)
    return response


def named(response) -> dict:
    return {name.lower(): value for name, value in response["headers"]}


async def test_the_landing_page_is_replayed_as_django_answered_it():
    django = CountingDjango()
    app = SharedPageCache(django, seconds=60)
    first = await get(app, [(b"accept-encoding", b"gzip")])
    again = await get(app, [(b"accept-encoding", b"gzip"), (b"cookie", b"narcis_guest=someone")])
    assert django.calls == 1
    assert first["status"] == again["status"] == 200
    assert first["body"] == again["body"] and named(first) == named(again)
    assert b"set-cookie" not in named(first) and named(first)[b"content-encoding"] == b"gzip"

    plain = await get(app)  # no gzip: another representation, Django's own answer
    assert django.calls == 2 and b"content-encoding" not in named(plain)

    etag = named(first)[b"etag"]
    revalidated = await get(app, [(b"accept-encoding", b"gzip"), (b"if-none-match", etag)])
    assert django.calls == 2 and revalidated["status"] == 304 and revalidated["body"] == b""
    assert named(revalidated)[b"etag"] == etag and b"content-security-policy" in named(revalidated)


async def test_per_visitor_answers_are_never_replayed():
    django = CountingDjango()
    app = SharedPageCache(django, seconds=60)
    await get(app, [(b"cookie", b"messages=abc")])  # a message waits: their own page, never kept
    await get(app, [(b"cookie", b"messages=abc")])
    assert django.calls == 2
    await get(app, path="/api/me")  # other paths are Django's, each time
    await get(app, path="/api/me")
    assert django.calls == 4
    await get(app)
    await get(app, host=b"127.0.0.1")  # another host: its own copy (its URLs name it)
    assert django.calls == 6


async def test_a_kept_answer_expires():
    django = CountingDjango()
    app = SharedPageCache(django, seconds=0)
    await get(app)
    await get(app)
    assert django.calls == 2


async def test_while_one_request_asks_django_again_the_others_get_the_kept_answer():
    import asyncio

    django = CountingDjango()
    app = SharedPageCache(django, seconds=0)
    first = await get(app)
    slow_django = asyncio.Event()

    async def slow(scope, receive, send):  # Django, taking its time over the refresh
        django.calls += 1
        await slow_django.wait()
        await django.app(scope, receive, send)

    app.app = slow
    refreshing = asyncio.create_task(get(app))
    await asyncio.sleep(0.1)
    meanwhile = await get(app)  # served from the kept answer, not queued behind the refresh
    assert django.calls == 2 and meanwhile["body"] == first["body"]
    slow_django.set()
    assert (await refreshing)["status"] == 200
