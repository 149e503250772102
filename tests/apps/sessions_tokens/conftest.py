import pytest


@pytest.fixture
def fast_password_hashing(settings):
    """Tests that check dozens of passwords: MD5 instead of PBKDF2's deliberate slowness (users made after
    this fixture get MD5 hashes; nothing else about the checks changes)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def fresh_cache(settings, request):
    """The per-address and per-account email pauses live in the cache: each test gets an empty one of its
    own (never a flush of a shared Redis)."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": request.node.nodeid,
        }
    }
