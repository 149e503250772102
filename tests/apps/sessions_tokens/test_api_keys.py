"""API keys: made on the account page (shown once, kept only as a hash), checked on every /api/ request
that carries `Authorization: Bearer`, refused with a code the moment they are revoked or expire, bounded
per minute, scoped, never written to a log, revoked by staff in the admin."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re

import pytest
from django.test import Client
from django.utils import timezone

from apps.sessions_tokens import api_keys
from apps.sessions_tokens.models import ApiKey

pytestmark = pytest.mark.django_db
BOTH = ["generations:read", "generations:write"]


def bearer(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


def create_on_page(client: Client, **fields) -> tuple[str, str]:
    """Creates a key through the account page; (the page's HTML, the key it shows)."""
    data = {"name": "studio importer", "scopes": BOTH, "expires_in_days": "", **fields}
    response = client.post("/accounts/keys/", data)
    assert response.status_code == 200, response.content
    html = response.content.decode()
    key = re.search(r'<code class="secret">(nrc_[0-9a-f]{12}_[A-Za-z0-9_-]{43})</code>', html)
    assert key, html
    assert response["Cache-Control"] == "no-store"
    return html, key.group(1)


def test_the_account_page_shows_a_new_key_once_and_keeps_only_its_hash(client, make_user):
    user = make_user()
    client.force_login(user)
    _, key = create_on_page(client)
    record = ApiKey.objects.get(user=user)
    assert record.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key not in str(list(ApiKey.objects.values()))  # no column holds the key
    assert record.prefix == key[:16] and record.scopes == BOTH and record.expires_at is None
    page = client.get("/accounts/").content.decode()
    assert key not in page and record.prefix in page and "studio importer" in page


def test_the_key_works_at_once_and_the_user_is_the_caller(client, make_user):
    user = make_user()
    client.force_login(user)
    _, key = create_on_page(client)
    me = Client().get("/api/me", headers=bearer(key))
    assert me.status_code == 200 and me.json()["authenticated"] is True and me.json()["email"] == user.email
    assert "narcis_guest" not in me.cookies  # a program gets no guest session


def test_a_revoked_key_stops_at_once_and_says_so(client, make_user):
    user = make_user()
    client.force_login(user)
    _, key = create_on_page(client)
    program = Client()
    assert program.get("/api/me", headers=bearer(key)).status_code == 200
    record = ApiKey.objects.get(user=user)
    assert client.post(f"/accounts/keys/{record.pk}/revoke/").status_code == 302
    response = program.get("/api/me", headers=bearer(key))
    assert response.status_code == 401 and response.json()["code"] == "api_key_revoked"
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert "revoked" in client.get("/accounts/").content.decode()


def test_someone_else_cannot_revoke_a_key(client, make_user):
    owner, other = make_user(), make_user()
    issued = api_keys.api_key_create(user=owner, name="mine", scopes=BOTH)
    client.force_login(other)
    assert client.post(f"/accounts/keys/{issued.record.pk}/revoke/").status_code == 404
    assert Client().get("/api/me", headers=bearer(issued.key)).status_code == 200


def test_an_expired_key_is_refused_with_its_own_code(make_user):
    issued = api_keys.api_key_create(
        user=make_user(), name="short", scopes=BOTH, expires_at=timezone.now() + dt.timedelta(days=1)
    )
    assert Client().get("/api/me", headers=bearer(issued.key)).status_code == 200
    ApiKey.objects.filter(pk=issued.record.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    response = Client().get("/api/me", headers=bearer(issued.key))
    assert response.status_code == 401 and response.json()["code"] == "api_key_expired"


@pytest.mark.parametrize(
    "header",
    ["Bearer nrc_000000000000_" + "x" * 43, "Basic dXNlcjpwYXNz", "Bearer", "Bearer not-a-key", "token"],
)
def test_anything_but_a_valid_key_is_refused_as_invalid(header, make_user):
    api_keys.api_key_create(user=make_user(), name="real", scopes=BOTH)
    response = Client().get("/api/me", headers={"Authorization": header})
    assert response.status_code == 401 and response.json()["code"] == "invalid_api_key"


def test_a_wrong_secret_behind_a_real_prefix_is_invalid_not_revealed(make_user):
    issued = api_keys.api_key_create(user=make_user(), name="real", scopes=BOTH)
    forged = issued.key[:-4] + ("AAAA" if not issued.key.endswith("AAAA") else "BBBB")
    api_keys.api_key_revoke(key=issued.record)  # even revoked, a wrong secret learns nothing about it
    response = Client().get("/api/me", headers=bearer(forged))
    assert response.status_code == 401 and response.json()["code"] == "invalid_api_key"


def test_a_key_of_a_deactivated_account_is_invalid(make_user):
    user = make_user()
    issued = api_keys.api_key_create(user=user, name="real", scopes=BOTH)
    user.is_active = False
    user.save()
    assert Client().get("/api/me", headers=bearer(issued.key)).json()["code"] == "invalid_api_key"


def test_scopes_read_for_get_and_write_for_the_rest(make_user):
    user = make_user()
    reader = api_keys.api_key_create(user=user, name="r", scopes=["generations:read"]).key
    writer = api_keys.api_key_create(user=user, name="w", scopes=["generations:write"]).key
    assert Client().get("/api/generations", headers=bearer(reader)).status_code == 200
    refused = Client().post("/api/generations", {"idea": "calm"}, headers=bearer(reader))
    assert refused.status_code == 403 and refused.json()["code"] == "insufficient_scope"
    refused = Client().get("/api/generations", headers=bearer(writer))
    assert refused.status_code == 403 and refused.json()["code"] == "insufficient_scope"


def test_a_key_is_limited_per_minute(settings, make_user, monkeypatch):
    settings.API_KEY_REQUESTS_PER_MINUTE = 3
    clock = [1_800_000_000.0 + 15]  # 15 s into a minute
    monkeypatch.setattr(api_keys.time, "time", lambda: clock[0])
    user = make_user()
    key = api_keys.api_key_create(user=user, name="busy", scopes=BOTH).key
    other = api_keys.api_key_create(user=user, name="other", scopes=BOTH).key
    assert [Client().get("/api/me", headers=bearer(key)).status_code for _ in range(4)] == [
        200,
        200,
        200,
        429,
    ]
    limited = Client().get("/api/me", headers=bearer(key))
    assert limited.json()["code"] == "rate_limited" and limited["Retry-After"] == "45"
    assert Client().get("/api/me", headers=bearer(other)).status_code == 200  # per key, not per user
    clock[0] += 45  # the next minute
    assert Client().get("/api/me", headers=bearer(key)).status_code == 200


def test_the_key_never_reaches_a_log(caplog, make_user):
    user = make_user()
    issued = api_keys.api_key_create(user=user, name="logged", scopes=["generations:read"])
    secret = issued.key.split("_", 2)[2]
    with caplog.at_level(logging.DEBUG):
        Client().get("/api/me", headers=bearer(issued.key))
        Client().post("/api/generations", {}, headers=bearer(issued.key))  # 403: no write scope
        Client().get("/api/me", headers=bearer(issued.key[:-1]))  # 401
    logged = [(record.getMessage(), vars(record)) for record in caplog.records]
    assert any(fields.get("key_prefix") == issued.record.prefix for _, fields in logged)
    assert secret not in repr(logged)


def no_duplicate_keys(pairs):
    keys = [key for key, _ in pairs]
    assert len(keys) == len(set(keys)), f"duplicate keys in the OpenAPI JSON: {keys}"
    return dict(pairs)


def test_the_openapi_document_declares_the_key_scheme(client):
    raw = client.get("/api/openapi.json").content.decode()
    schema = json.loads(raw, object_pairs_hook=no_duplicate_keys)
    assert schema["components"]["securitySchemes"]["ApiKey"]["scheme"] == "bearer"
    create = schema["paths"]["/api/generations"]["post"]
    assert {"ApiKey": []} in create["security"] and {} in create["security"]
    assert {"401", "403", "429"} <= set(create["responses"])


def test_the_form_refuses_bad_input_and_creates_nothing(client, make_user):
    user = make_user()
    client.force_login(user)
    for data in (
        {"name": "", "scopes": BOTH},
        {"name": "x", "scopes": []},
        {"name": "x", "scopes": ["admin:all"]},
        {"name": "x", "scopes": BOTH, "expires_in_days": "7"},
        {"name": "x" * 61, "scopes": BOTH},
    ):
        assert client.post("/accounts/keys/", data).status_code == 400, data
    assert not ApiKey.objects.exists()
    assert Client().post("/accounts/keys/", {"name": "x", "scopes": BOTH}).status_code == 302  # login first


def test_staff_see_and_revoke_every_key_in_the_admin(client, make_user, staff_user):
    issued = api_keys.api_key_create(user=make_user(), name="theirs", scopes=BOTH)
    visitor = Client()
    visitor.force_login(make_user())
    assert visitor.get("/admin/sessions_tokens/apikey/").status_code == 302
    client.force_login(staff_user)
    page = client.get("/admin/sessions_tokens/apikey/").content.decode()
    assert issued.record.prefix in page and issued.key not in page
    assert client.get("/admin/sessions_tokens/apikey/add/").status_code == 403
    action = {"action": "revoke_keys", "_selected_action": [str(issued.record.pk)]}
    assert client.post("/admin/sessions_tokens/apikey/", action).status_code == 302
    assert Client().get("/api/me", headers=bearer(issued.key)).json()["code"] == "api_key_revoked"
