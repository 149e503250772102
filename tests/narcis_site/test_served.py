"""The product as production serves it: narcis_site.serve with DEBUG=false and no collectstatic. Pages
come with their styles and scripts, every response carries the security headers, and bodies that
daphne's HTTP layer used to refuse with a bare 400 reach Django's JSON errors."""

from __future__ import annotations

import http.client
import re

import pytest

from tests.apps.generation.processes import running_site

pytestmark = pytest.mark.embedded_default  # its own SQLite file: the first pass runs it


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    folder = tmp_path_factory.mktemp("served")
    with running_site(folder, DEBUG="false", NARCIS_STATIC_ROOT=str(folder / "never-collected")) as address:
        yield address


def fetch(address: str, method: str, path: str, body: bytes = b"", headers: dict | None = None):
    host, port = address.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.request(method, path, body=body or None, headers=headers or {})
    response = connection.getresponse()
    # Header names compared case-insensitively: uvicorn sends them lower-case, as HTTP allows.
    return response.status, response.headers, response.read()


def test_the_landing_page_is_styled_and_scripted_without_collectstatic(site):
    status, headers, body = fetch(site, "GET", "/")
    assert status == 200
    assets = re.findall(r'(?:href|src)="(/static/[^"]+\.(?:css|js))"', body.decode())
    assert {a.rsplit("/", 1)[-1] for a in assets} >= {"site.css", "landing.css", "create.js", "wall.js"}
    for asset in assets:
        asset_status, asset_headers, asset_body = fetch(site, "GET", asset)
        assert asset_status == 200 and asset_body, asset
    docs_status, _, docs = fetch(site, "GET", "/api/docs")
    assert docs_status == 200
    for asset in re.findall(r'src="(/static/ninja/[^"]+)"', docs.decode()):
        assert fetch(site, "GET", asset)[0] == 200, asset


def test_pages_carry_the_security_headers(site):
    for path in ("/", "/api/docs"):
        _, headers, _ = fetch(site, "GET", path)
        policy = headers["Content-Security-Policy"]
        assert "script-src 'self';" in policy and "style-src 'self';" in policy
        assert "frame-ancestors 'none'" in policy and f"connect-src 'self' ws://{site}" in policy
        assert "camera=()" in headers["Permissions-Policy"]
        assert "Strict-Transport-Security" not in headers  # plain http here; see test_security_headers


@pytest.mark.parametrize(
    "content_type",
    ["multipart/form-data; boundary=expected", "multipart/form-data", "multipart/form-data; boundary="],
)
def test_bodies_the_server_cannot_parse_are_json_4xx(site, content_type):
    body = b'--other\r\nContent-Disposition: form-data; name="idea"\r\n\r\ncalm\r\n--other--\r\n'
    status, headers, answer = fetch(site, "POST", "/api/generations", body, {"Content-Type": content_type})
    assert 400 <= status < 500 and headers["Content-Type"].startswith("application/json"), answer
    assert b'"code"' in answer
