import stat
from pathlib import Path

import pytest

from narcis_site import config


def test_database_defaults_to_sqlite_under_var(tmp_path):
    db = config.database_from_url(None, base_dir=tmp_path)
    assert db["ENGINE"] == "django.db.backends.sqlite3"
    assert db["NAME"] == str(tmp_path / "var" / "narcis.sqlite3")


def test_postgres_url_is_fully_parsed(tmp_path):
    db = config.database_from_url(
        "postgres://narcis:p%40ss@db.internal:6543/narcis_prod?sslmode=require", base_dir=tmp_path
    )
    assert db["ENGINE"] == "narcis_site.postgresql"  # Django's backend, pooled, with the leak guard
    assert (db["NAME"], db["USER"], db["PASSWORD"], db["HOST"], db["PORT"]) == (
        "narcis_prod",
        "narcis",
        "p@ss",
        "db.internal",
        "6543",
    )
    pool = {"min_size": 2, "max_size": 16, "timeout": 5}
    assert db["OPTIONS"] == {"sslmode": "require", "connect_timeout": "3", "pool": pool}  # never hang /health
    assert (db["CONN_MAX_AGE"], db["CONN_HEALTH_CHECKS"]) == (
        0,
        True,
    )  # closed per request; checked when lent


def test_the_pool_is_sized_from_the_environment(tmp_path):
    env = {"DATABASE_POOL_MIN_SIZE": "1", "DATABASE_POOL_MAX_SIZE": "20", "DATABASE_POOL_TIMEOUT_S": "3"}
    db = config.database_from_url("postgres://db.internal/narcis", base_dir=tmp_path, env=env)
    assert db["OPTIONS"]["pool"] == {"min_size": 1, "max_size": 20, "timeout": 3}


def test_a_pool_of_size_zero_means_no_pool(tmp_path):
    db = config.database_from_url("postgres://h/n", base_dir=tmp_path, env={"DATABASE_POOL_MAX_SIZE": "0"})
    assert "pool" not in db["OPTIONS"]


@pytest.mark.parametrize(
    "env",
    [{"DATABASE_POOL_MIN_SIZE": "9", "DATABASE_POOL_MAX_SIZE": "4"}, {"DATABASE_POOL_TIMEOUT_S": "0"}],
)
def test_unusable_pool_sizes_are_explained(env, tmp_path):
    with pytest.raises(config.ConfigError, match="DATABASE_POOL"):
        config.database_from_url("postgres://h/n", base_dir=tmp_path, env=env)


def test_sqlite_urls_relative_and_absolute(tmp_path):
    assert config.database_from_url("sqlite:///var/x.db", base_dir=tmp_path)["NAME"] == str(
        tmp_path / "var/x.db"
    )
    assert config.database_from_url("sqlite:////srv/x.db", base_dir=tmp_path)["NAME"] == "/srv/x.db"


@pytest.mark.parametrize("url", ["mysql://h/db", "postgres://host", "sqlite:///"])
def test_unusable_database_urls_are_explained(url, tmp_path):
    with pytest.raises(config.ConfigError, match="DATABASE_URL"):
        config.database_from_url(url, base_dir=tmp_path)


def test_redis_url_switches_channel_layer_and_cache(tmp_path):
    assert config.channel_layers(None)["default"]["BACKEND"] == "channels.layers.InMemoryChannelLayer"
    assert config.caches(None)["default"]["BACKEND"].endswith("LocMemCache")
    assert config.caches(None, tmp_path)["default"]["LOCATION"] == str(tmp_path)  # shared by processes
    url = "redis://cache:6379/1"
    (host,) = config.channel_layers(url)["default"]["CONFIG"]["hosts"]
    assert host["address"] == url and host["socket_timeout"] > 5  # longer than channels-redis' 5 s block
    assert config.caches(url)["default"] == {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": url,
        "KEY_PREFIX": "narcis",
    }


def test_storage_is_local_unless_a_bucket_is_named():
    assert config.storages({})["default"]["BACKEND"] == "django.core.files.storage.FileSystemStorage"
    s3 = config.storages({"NARCIS_S3_BUCKET": "narcis-prod", "AWS_S3_REGION_NAME": "eu-west-3"})["default"]
    assert s3["BACKEND"] == "storages.backends.s3.S3Storage"
    assert s3["OPTIONS"]["bucket_name"] == "narcis-prod"
    assert s3["OPTIONS"]["region_name"] == "eu-west-3"
    assert s3["OPTIONS"]["querystring_auth"] is True  # private objects, presigned URLs
    assert s3["OPTIONS"]["default_acl"] is None


def test_s3_settings_carry_no_credentials():
    env = {"NARCIS_S3_BUCKET": "b", "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "shh-secret"}
    assert "shh-secret" not in repr(config.storages(env))


def test_secret_key_is_generated_once_private_and_reused(tmp_path):
    first = config.secret_key({}, var_dir=tmp_path / "var")
    key_file = tmp_path / "var" / "secret_key"
    assert len(first) >= 50
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert config.secret_key({}, var_dir=tmp_path / "var") == first
    assert config.secret_key({"SECRET_KEY": "from-env"}, var_dir=tmp_path / "var") == "from-env"


def test_secret_key_file_is_ignored_by_git():
    gitignore = (Path(__file__).resolve().parents[2] / ".gitignore").read_text().split()
    assert "var/" in gitignore


def test_env_values_are_checked():
    assert config.env_bool({"DEBUG": "yes"}, "DEBUG", False) is True
    assert config.env_int({}, "TOKEN_COUNT_FOR_GUESTS", 5) == 5
    assert config.env_list({"ALLOWED_HOSTS": "a.com, b.com,"}, "ALLOWED_HOSTS", []) == ["a.com", "b.com"]
    with pytest.raises(config.ConfigError, match="DEBUG"):
        config.env_bool({"DEBUG": "maybe"}, "DEBUG", False)
    with pytest.raises(config.ConfigError, match="GUEST_SESSION_DAYS"):
        config.env_int({"GUEST_SESSION_DAYS": "0"}, "GUEST_SESSION_DAYS", 7, minimum=1)
