"""The wall cache: loads at first use, reloads on publish changes, rebuilds itself when emptied."""

import pytest
from django.core.cache import cache as django_cache

from apps.photowall import cache, services

pytestmark = pytest.mark.django_db(transaction=True)  # reloads run on commit


def publish(png_bytes, name="Ada Lovelace", keywords=("art nouveau", "golden hour"), **kw):
    celebrity = services.celebrity_get_or_create(name)
    return services.photo_create(image_bytes=png_bytes(**kw), celebrity=celebrity, keywords=list(keywords))


def test_stats_before_and_after_the_first_use(png_bytes):
    assert cache.stats() == {"images": 0, "bytes": 0, "loaded": None}
    publish(png_bytes)  # publishing reloads after the commit
    stats = cache.stats()
    assert stats["images"] == 1 and stats["bytes"] > 1000 and stats["loaded"]


def test_thumbnails_are_small_jpegs_with_the_photos_etag(png_bytes):
    photo = publish(png_bytes)
    data, entry = cache.thumbnail(photo.pk)
    assert data[:3] == b"\xff\xd8\xff" and (entry["width"], entry["height"]) == (384, 512)
    assert entry["etag"] == photo.etag and entry["caption"] == "art nouveau, golden hour"


def test_unpublishing_takes_a_photo_off_at_once(png_bytes):
    first, second = publish(png_bytes), publish(png_bytes, color=(10, 20, 30))
    services.photos_set_published(type(first).objects.filter(pk=first.pk), False)
    assert [e["id"] for e in cache.index()["photos"]] == [second.pk]
    assert cache.thumbnail(first.pk) is None and cache.stats()["images"] == 1


def test_deleting_a_photo_removes_it_and_its_file(png_bytes):
    photo = publish(png_bytes)
    path = photo.image.path
    photo.delete()
    assert cache.stats()["images"] == 0
    import os

    assert not os.path.exists(path)


def test_an_emptied_cache_reloads_itself(png_bytes):
    photo = publish(png_bytes)
    django_cache.clear()  # evicted, flushed, a fresh Redis
    assert cache.stats()["loaded"] is None
    data, _ = cache.thumbnail(photo.pk)
    assert data and cache.stats()["images"] == 1


def test_a_thumbnail_evicted_alone_is_rebuilt(png_bytes):
    photo = publish(png_bytes)
    django_cache.delete(f"photowall:thumb:{photo.pk}:{photo.etag}")
    assert cache.thumbnail(photo.pk)[0][:3] == b"\xff\xd8\xff"


def test_seo_names_are_slugged_from_the_celebrity_and_keywords_and_unique(png_bytes):
    first = publish(png_bytes, keywords=["Art Nouveau", "golden hour", "oil on canvas", "extra"])
    second = publish(png_bytes, keywords=["Art Nouveau", "golden hour", "oil on canvas"])
    assert first.seo_name == "ada-lovelace-art-nouveau-golden-hour-oil-on-canvas-portrait"
    assert second.seo_name == first.seo_name + "-2"
    assert first.image.name == f"photowall/{first.seo_name}.png"


def test_an_older_slower_reload_never_overwrites_a_newer_one(png_bytes, monkeypatch):
    """Staff unpublish a photo while a reload that still saw it is running: the unpublish wins."""
    taken_down, other = publish(png_bytes), publish(png_bytes, color=(10, 20, 30))
    build = cache._thumbnail
    interrupted = []

    def slow_build(photo):
        if not interrupted:  # mid-reload, staff take a photo down (which reloads, newer)
            interrupted.append(True)
            services.photos_set_published(type(photo).objects.filter(pk=taken_down.pk), False)
        return build(photo)

    monkeypatch.setattr(cache, "_thumbnail", slow_build)
    cache.reload()
    assert [e["id"] for e in cache.index()["photos"]] == [other.pk]


def test_a_reload_decodes_only_photos_it_has_not_seen(png_bytes):
    photo = publish(png_bytes)
    photo.image.storage.delete(photo.image.name)  # the original is gone, its thumbnail is cached
    cache.reload()
    assert cache.stats()["images"] == 1 and cache.thumbnail(photo.pk) is not None


def test_many_changes_in_one_transaction_reload_once(png_bytes, monkeypatch):
    from django.db import transaction

    calls = []
    monkeypatch.setattr(cache, "reload", lambda: calls.append(1))
    with transaction.atomic():
        for i in range(3):
            publish(png_bytes, color=(i, i, i))
    assert calls == [1]
