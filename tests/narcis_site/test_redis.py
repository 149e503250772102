"""The production wiring: Redis cache and the channels-redis layer, against the real server."""

import asyncio
import uuid

import pytest
from channels.layers import get_channel_layer
from django.core.cache import caches

pytestmark = pytest.mark.redis


def test_cache_round_trip_through_redis():
    cache = caches["default"]
    assert cache.__class__.__name__ == "RedisCache"
    key = f"test:{uuid.uuid4()}"
    cache.set(key, {"images": 3}, timeout=30)
    assert cache.get(key) == {"images": 3}
    cache.delete(key)


async def test_channel_layer_group_message_through_redis():
    layer = get_channel_layer()
    assert layer.__class__.__name__ == "RedisPubSubChannelLayer"
    group = f"test-{uuid.uuid4().hex}"
    channel = await layer.new_channel()
    await layer.group_add(group, channel)
    await layer.group_send(group, {"type": "progress", "step": 3})
    assert await layer.receive(channel) == {"type": "progress", "step": 3}
    await layer.group_discard(group, channel)


async def test_an_idle_websocket_keeps_listening_past_the_blocking_read():
    """channels-redis blocks 5 s per read; the socket must wait longer (redis-py 8 defaults to 5 s)."""
    layer = get_channel_layer()
    channel = await layer.new_channel()

    async def send_later():
        await asyncio.sleep(6.5)
        await layer.send(channel, {"type": "late", "n": 1})

    sender = asyncio.create_task(send_later())
    assert await asyncio.wait_for(layer.receive(channel), 20) == {"type": "late", "n": 1}
    await sender
