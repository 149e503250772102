"""The OpenAPI document is the contract: schemathesis walks it against the live app (served as `make run`
serves it) and every response must be documented: no server error, no undocumented status, content
type or body. POST /api/generations is walked in both its forms, multipart and JSON."""

from __future__ import annotations

import http.cookiejar
import json
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.apps.generation.processes import running_site

pytestmark = pytest.mark.embedded_default  # its own SQLite file: the first pass runs it

CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


def visitor_cookies(base: str) -> dict[str, str]:
    """A guest session and its CSRF cookie, as a browser holds them after its first call."""
    jar = http.cookiejar.CookieJar()
    urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar)).open(f"{base}/api/me", timeout=30)
    return {cookie.name: cookie.value for cookie in jar}


def test_schemathesis_finds_nothing_against_the_live_app(tmp_path):
    cli = Path(sys.executable).with_name("schemathesis")
    assert cli.exists() or shutil.which("schemathesis"), "schemathesis is a dev dependency (pyproject.toml)"
    with running_site(tmp_path, NARCIS_EMBEDDED_WORKER="false") as address:
        base = f"http://{address}"
        cookies = visitor_cookies(base)
        run = subprocess.run(
            [
                str(cli),
                "run",
                f"{base}/api/openapi.json",
                "--checks",
                CHECKS,
                "--max-examples",
                "20",
                "--seed",
                "1",
                "--warnings",
                "off",
                "--header",
                f"X-CSRFToken: {cookies['csrftoken']}",
                "--header",
                "Cookie: " + "; ".join(f"{name}={value}" for name, value in cookies.items()),
                "--report",
                "har",
                "--report-har-path",
                str(tmp_path / "run.har"),
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )
    assert run.returncode == 0, run.stdout[-6000:]
    assert "No issues found" in run.stdout
    statuses = submissions_by_content_type(tmp_path / "run.har")
    # Both forms of POST /api/generations were sent, and each got past the parsing to the checks after it.
    for kind in ("multipart/form-data", "application/json"):
        assert statuses.get(kind, set()) - {415, 422}, (kind, statuses)


def submissions_by_content_type(har: Path) -> dict[str, set[int]]:
    """{content type: the statuses it got} of the POST /api/generations requests in schemathesis' HAR."""
    found: dict[str, set[int]] = {}
    for entry in json.loads(har.read_text())["log"]["entries"]:
        request = entry["request"]
        if request["method"] != "POST" or not request["url"].split("?")[0].endswith("/api/generations"):
            continue
        headers = {header["name"].lower(): header["value"] for header in request["headers"]}
        kind = headers.get("content-type", "").split(";")[0]
        found.setdefault(kind, set()).add(entry["response"]["status"])
    return found
