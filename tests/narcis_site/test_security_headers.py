import pytest

from narcis_site import security_headers


@pytest.fixture(autouse=True)
def fresh_media_origin():
    security_headers.media_origin.cache_clear()
    yield
    security_headers.media_origin.cache_clear()


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", "/api/docs", "/accounts/login/"])
def test_pages_allow_only_our_own_scripts_and_styles(client, path):
    response = client.get(path)
    policy = dict(part.split(" ", 1) for part in response["Content-Security-Policy"].split("; "))
    assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
    assert policy["img-src"] == "'self' data: blob:"  # local media: served by us
    assert policy["connect-src"] == "'self' ws://testserver" and policy["object-src"] == "'none'"
    assert response["Permissions-Policy"].startswith("camera=(), microphone=()")


@pytest.mark.django_db
def test_the_admin_keeps_inline_style_attributes_but_no_inline_scripts(admin_client):
    policy = admin_client.get("/admin/")["Content-Security-Policy"]
    assert "style-src 'self' 'unsafe-inline';" in policy and "script-src 'self';" in policy


def test_results_on_s3_may_be_shown(settings, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test-key-id")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test-secret")
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": "narcis-results",
                "region_name": "eu-west-1",
                "querystring_auth": True,
            },
        },
    }
    from django.core.files.storage import storages

    storages._storages.pop("default", None)
    try:
        origin = security_headers.media_origin()
        assert origin.startswith("https://narcis-results.s3.") and origin.endswith(".amazonaws.com")
        assert "/" not in origin.removeprefix("https://")  # an origin, never a signed URL
    finally:
        storages._storages.pop("default", None)


@pytest.mark.django_db
def test_hsts_behind_the_load_balancer_when_cookies_are_secure(client, settings):
    settings.SECURE_HSTS_SECONDS = 31_536_000  # what COOKIE_SECURE=true gives (settings.py)
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")  # what TRUSTED_PROXIES=1 gives
    response = client.get("/", headers={"X-Forwarded-Proto": "https"})
    assert response["Strict-Transport-Security"] == "max-age=31536000"
    assert "Strict-Transport-Security" not in client.get("/")  # plain http: never


@pytest.mark.parametrize(("cookie_secure", "seconds"), [("true", "31536000"), ("false", "0")])
def test_hsts_is_on_exactly_when_cookies_are_secure(cookie_secure, seconds):
    import subprocess
    import sys

    from tests.apps.generation.processes import PROJECT, child_env

    printed = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; print(settings.SECURE_HSTS_SECONDS)"],
        env=child_env(DJANGO_SETTINGS_MODULE="narcis_site.settings", COOKIE_SECURE=cookie_secure),
        cwd=PROJECT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert printed.stdout.strip() == seconds


@pytest.mark.django_db
def test_without_a_proxy_of_ours_a_forwarded_proto_header_is_the_clients_word(client, settings):
    assert settings.TRUSTED_PROXIES == 0 and settings.SECURE_PROXY_SSL_HEADER is None  # the default
    settings.SECURE_HSTS_SECONDS = 31_536_000
    response = client.get("/", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in response  # the request is still plain http
