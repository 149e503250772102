"""The production wiring: Redis cache and the channels-redis layer, against the real server."""

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
    assert layer.__class__.__name__ == "RedisChannelLayer"
    group = f"test-{uuid.uuid4().hex}"
    channel = await layer.new_channel()
    await layer.group_add(group, channel)
    await layer.group_send(group, {"type": "progress", "step": 3})
    assert await layer.receive(channel) == {"type": "progress", "step": 3}
    await layer.group_discard(group, channel)
