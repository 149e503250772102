"""Every route, walked with hostile path and query values: no input reaches a 5xx."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from tests.guests import start_guest

HOSTILE = [
    "9" * 40,  # past every integer column
    "-1",
    "0",
    "1.5",
    "abc",
    "x" * 3000,
    "%FF%FE",  # not UTF-8
    "%00",
    "..%2F..%2Fetc%2Fpasswd",
    "------------------------------------",
]
SKIPPED_PREFIXES = ("admin/", "api/")  # the admin is staff-only Django; the API is walked from its schema


def site_routes(patterns=None, prefix: str = "") -> list[str]:
    """Every non-API route as a template with one `{}` per path parameter."""
    routes = []
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        text = prefix + str(entry.pattern).lstrip("^").rstrip("$")
        if text.startswith(SKIPPED_PREFIXES):
            continue
        if isinstance(entry, URLResolver):
            routes += site_routes(entry.url_patterns, text)
        elif isinstance(entry, URLPattern):
            routes.append(re.sub(r"<[^>]+>|\(\?P<\w+>([^)]*)\)", _parameter, text))
    return routes


def _parameter(match: re.Match) -> str:
    """A path converter becomes `{}`; a regex group keeps its fixed part (`productions/{}`)."""
    inner = match.group(1)
    return inner.replace("[^/]+", "{}") if inner and "[^/]+" in inner else "{}"


def api_operations(client) -> list[tuple[str, str, list[str]]]:
    """(method, path template, query parameter names) of every API operation, from the OpenAPI document."""
    operations = []
    for path, methods in client.get("/api/openapi.json").json()["paths"].items():
        for method, operation in methods.items():
            query = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]
            operations.append((method, re.sub(r"\{\w+\}", "{}", path), query))
    return operations


@pytest.fixture
def visitor(db, settings, tmp_path):
    # Media folders that exist, as after `make run` painted a portrait: a missing folder hid the 500
    # that a name too long for the filesystem gave.
    settings.MEDIA_ROOT = tmp_path / "media"
    for folder in ("productions/saved", "photowall", "faces/x"):
        (settings.MEDIA_ROOT / folder).mkdir(parents=True)
    client = Client(raise_request_exception=False)
    client.get("/api/me")  # its CSRF cookie, as a browser has it
    start_guest(client)  # and a guest session
    return client


def test_the_walk_covers_every_route(visitor):
    assert {"wall/{}/{}.jpg", "accounts/login/", "media/productions/{}"} <= set(site_routes())
    assert len(api_operations(visitor)) >= 5


@pytest.mark.django_db
@pytest.mark.parametrize("value", HOSTILE)
def test_no_hostile_path_or_query_value_reaches_a_5xx(visitor, value):
    failures = []
    for route in site_routes():
        path = "/" + route.format(*[value] * route.count("{}"))
        for method in ("get", "post"):
            status = getattr(visitor, method)(path).status_code
            if status >= 500:
                failures.append((method, path[:80], status))
    for method, template, query in api_operations(visitor):
        path = template.format(*[value] * template.count("{}"))
        call = getattr(visitor, method)
        # Each query parameter alone (a bound on one must not hide another's failure), then all at once.
        for params in [{name: value} for name in query] + [dict.fromkeys(query, value)]:
            response = call(path, params) if method == "get" else call(path + _query(params))
            if response.status_code >= 500:
                failures.append((method, path[:80], params.keys(), response.status_code))
    assert failures == []


def _query(params: dict) -> str:
    return ("?" + "&".join(f"{k}={v}" for k, v in params.items())) if params else ""


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "post", "put", "delete", "patch"])
def test_an_unknown_api_path_is_the_apis_json_404(visitor, method):
    for path in ("/api/nothing", "/api/generations/x/y/z", "/api/" + "x" * 300):
        response = getattr(visitor, method)(path)
        assert response.status_code == 404 and response["Content-Type"] == "application/json", path
        assert response.json()["code"] == "not_found"
