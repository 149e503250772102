"""Turns environment variables into Django settings values.

Pure functions of an env mapping, so every default and every parsing rule is tested without touching
the real process environment. README lists each variable with the default chosen here.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit


class ConfigError(ValueError):
    """An environment variable holds a value Narcis cannot use."""


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{name}={raw!r} is not a boolean; use true or false")


def env_int(env: Mapping[str, str], name: str, default: int, *, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number") from None
    if value < minimum:
        raise ConfigError(f"{name}={value} must be at least {minimum}")
    return value


def env_list(env: Mapping[str, str], name: str, default: list[str]) -> list[str]:
    raw = env.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


_POSTGRES_SCHEMES = {"postgres", "postgresql", "pgsql", "postgresql+psycopg"}


POSTGRES_ENGINE = "narcis_site.postgresql"  # Django's backend + psycopg's pool + the leak guard


def database_from_url(url: str | None, *, base_dir: Path, env: Mapping[str, str] | None = None) -> dict:
    """DATABASE_URL -> a Django DATABASES["default"] entry.

    postgres://user:pass@host:5432/name?sslmode=require (query items become OPTIONS), pooled as
    DATABASE_POOL_MIN_SIZE / DATABASE_POOL_MAX_SIZE / DATABASE_POOL_TIMEOUT_S in `env` say;
    sqlite:///relative/to/project.sqlite3 or sqlite:////absolute.sqlite3.
    Unset: SQLite at var/narcis.sqlite3.
    """
    if not url:
        return _sqlite(base_dir / "var" / "narcis.sqlite3")
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        path = unquote(parts.path)[1:]  # drop the slash that ends "sqlite://"
        if not path:
            raise ConfigError("DATABASE_URL sqlite:/// needs a file path, e.g. sqlite:///var/narcis.sqlite3")
        return _sqlite(base_dir / path)  # an absolute path wins over base_dir
    if parts.scheme in _POSTGRES_SCHEMES:
        name = unquote(parts.path.lstrip("/"))
        if not name:
            raise ConfigError("DATABASE_URL for PostgreSQL must name a database, e.g. postgres://host/narcis")
        options = {"connect_timeout": "3", **dict(parse_qsl(parts.query))}
        pool = database_pool(env or {})
        if pool:
            options["pool"] = pool
        return {
            "ENGINE": POSTGRES_ENGINE,
            "NAME": name,
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            # connect_timeout: a black-holed database must fail /health in seconds, not hang it.
            "OPTIONS": options,
            # Closed at the end of every request (and of every database_sync_to_async call): with the
            # pool, closing hands the connection back. Persistent per-thread connections are what drove
            # PostgreSQL to "too many clients": Django runs each ASGI request on a thread of its own.
            "CONN_MAX_AGE": 0,
            # With the pool: each connection is checked (one empty query) as it is lent, so one that a
            # PostgreSQL restart ended is replaced instead of failing a request.
            "CONN_HEALTH_CHECKS": True,
        }
    raise ConfigError(f"DATABASE_URL scheme {parts.scheme!r} is not supported; use postgres:// or sqlite:///")


def database_pool(env: Mapping[str, str]) -> dict | None:
    """psycopg_pool.ConnectionPool arguments for one process, or None (DATABASE_POOL_MAX_SIZE=0: a new
    connection per request, e.g. behind PgBouncer).

    One pool per process, shared by its threads: requests, websockets' database calls, the bot's
    executors, a worker and its lease keeper. A thread that ends holding a connection is reported and
    the connection goes back (narcis_site/postgresql/base.py). Size it so every process of every task
    at max_size stays below PostgreSQL's max_connections (docs/benchmarks.md, 2026-12-05)."""
    max_size = env_int(env, "DATABASE_POOL_MAX_SIZE", 16)
    if max_size == 0:
        return None
    min_size = env_int(env, "DATABASE_POOL_MIN_SIZE", 2)
    if min_size > max_size:
        raise ConfigError(f"DATABASE_POOL_MIN_SIZE={min_size} is above DATABASE_POOL_MAX_SIZE={max_size}")
    # How long a query waits for a connection (a free slot, or a new one while the database is down)
    # before it fails; a GET is then retried once (narcis_site/database_recovery.py). 5 s, not
    # psycopg's 30: about the ALB's 4 s health-check timeout, so a task that cannot reach its database
    # says so instead of piling up waiting requests.
    timeout = env_int(env, "DATABASE_POOL_TIMEOUT_S", 5, minimum=1)
    return {"min_size": min_size, "max_size": max_size, "timeout": timeout}


def _sqlite(path: Path) -> dict:
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(path),
        # IMMEDIATE takes the write lock when a transaction starts, so conditional updates inside
        # transaction.atomic never interleave with another writer's read.
        "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20},
    }


def channel_layers(redis_url: str | None) -> dict:
    if redis_url:
        return {
            "default": {
                # Pub/sub rather than lists: an event is published once per job and each web process
                # fans it out to its own sockets (the list layer pushed one copy per socket into one
                # capped list per process, and dropped events past it under load: 52% delivered to
                # 1,000 sockets, docs/benchmarks.md); groups live in the process, so they outlive a
                # Redis restart (redis-py subscribes again on reconnect).
                "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
                "CONFIG": {
                    "hosts": [{"address": redis_url, "socket_timeout": 30, "socket_connect_timeout": 3}],
                },
            }
        }
    return {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


def caches(redis_url: str | None, folder: Path | None = None) -> dict:
    """Redis when configured; else files in `folder`, which every process of one checkout shares
    (the web server and `manage.py photowall --import` see the same wall cache), else local memory."""
    if redis_url:
        return {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": redis_url,
                "KEY_PREFIX": "narcis",
            }
        }
    if folder is not None:
        return {
            "default": {
                "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                "LOCATION": str(folder),
                "OPTIONS": {"MAX_ENTRIES": 5000},
            }
        }
    return {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "narcis"}}


def storages(env: Mapping[str, str]) -> dict:
    """S3 (private bucket, presigned URLs) when NARCIS_S3_BUCKET is set; local media/ otherwise.

    Credentials are not read here: boto3 finds AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY in the
    environment, or the ECS task role, by itself, so they never pass through settings.
    """
    static = {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"}
    bucket = env.get("NARCIS_S3_BUCKET", "").strip()
    if not bucket:
        return {
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "staticfiles": static,
        }
    options = {
        "bucket_name": bucket,
        "region_name": env.get("AWS_S3_REGION_NAME") or env.get("AWS_DEFAULT_REGION") or None,
        "endpoint_url": env.get("AWS_S3_ENDPOINT_URL") or None,
        "querystring_auth": True,
        "querystring_expire": env_int(env, "AWS_QUERYSTRING_EXPIRE", 3600, minimum=60),
        "default_acl": None,
        "file_overwrite": False,
        "signature_version": "s3v4",
    }
    return {
        "default": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options},
        "staticfiles": static,
    }


def secret_key(env: Mapping[str, str], *, var_dir: Path) -> str:
    """SECRET_KEY from the environment, or one generated once into var/secret_key and reused."""
    configured = env.get("SECRET_KEY", "").strip()
    if configured:
        return configured
    key_file = var_dir / "secret_key"
    if key_file.exists():
        stored = key_file.read_text().strip()
        if stored:
            return stored
    var_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    # O_EXCL: two processes starting at once must not each write a different key.
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return key_file.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key
