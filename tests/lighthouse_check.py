"""Lighthouse on the landing page, mobile and desktop, with Debian's chromium.

    .venv/bin/python tests/lighthouse_check.py [--keep-reports DIR]

Serves the product as production does (narcis_site.serve, DEBUG off, static files collected as the web
image does, COOKIE_SECURE=false for plain http) on a fresh embedded default with the demo wall
(`photowall --demo`), runs Lighthouse once per form factor, prints the four category scores and every
audit that lost points, and exits 1 when a score is below 100 (2 when Lighthouse or chromium is missing).
Lighthouse comes from npm, outside the tracked files:

    npm install --prefix var/lighthouse lighthouse@13.5.0

(or set LIGHTHOUSE to its executable). tests/apps/photowall/test_lighthouse.py runs the same check in the
suite, where it asserts the three categories that do not depend on the machine's speed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
if str(PROJECT) not in sys.path:  # run as a script: `tests` is importable from the project root
    sys.path.insert(0, str(PROJECT))

from tests.apps.generation.processes import embedded_default, free_port, manage, wait_for_http  # noqa: E402
from tests.campaign_clients import spawn  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
INSTALL = "npm install --prefix var/lighthouse lighthouse@13.5.0"
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
FORM_FACTORS = ("mobile", "desktop")


def lighthouse_executable() -> str | None:
    candidate = os.environ.get("LIGHTHOUSE") or str(PROJECT / "var/lighthouse/node_modules/.bin/lighthouse")
    return candidate if os.access(candidate, os.X_OK) else None


@contextlib.contextmanager
def served_site(folder: Path):
    """The demo wall behind the product's web server, DEBUG off and static files collected (compressed)
    as in the web image; yields the base URL."""
    env = embedded_default(
        folder,
        DEBUG="false",
        COOKIE_SECURE="false",
        NARCIS_EMBEDDED_WORKER="false",
        WEB_DRAIN_S="0",
        NARCIS_STATIC_ROOT=str(folder / "static"),
    )
    for command in (("collectstatic", "--noinput"), ("photowall", "--demo")):
        subprocess.run(manage(*command), env=env, cwd=PROJECT, check=True, capture_output=True)
    port = free_port()
    serve = [sys.executable, "-m", "narcis_site.serve", "--host", "127.0.0.1", "--port", str(port)]
    process = spawn(serve, env, folder / "server.log")
    try:
        wait_for_http(f"http://127.0.0.1:{port}/health", process=process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


def audit(url: str, form_factor: str, report: Path) -> dict:
    """Lighthouse's JSON report for `url` as one form factor."""
    command = [
        lighthouse_executable(),
        url,
        f"--only-categories={','.join(CATEGORIES)}",
        "--output=json",
        f"--output-path={report}",
        "--quiet",
        f"--chrome-path={CHROMIUM}",
        "--chrome-flags=--headless=new --no-sandbox --disable-gpu",
    ]
    if form_factor == "desktop":
        command.append("--preset=desktop")
    subprocess.run(command, check=True, env={**os.environ, "CHROME_PATH": CHROMIUM}, timeout=300)
    return json.loads(report.read_text())


def scores(result: dict) -> dict[str, int]:
    return {name: round(result["categories"][name]["score"] * 100) for name in CATEGORIES}


def lost_points(result: dict) -> list[str]:
    """The scored audits below 1, as 'category: id (score) title'."""
    lines = []
    for name in CATEGORIES:
        for ref in result["categories"][name]["auditRefs"]:
            found = result["audits"][ref["id"]]
            if ref["weight"] and found["score"] is not None and found["score"] < 1:
                lines.append(f"{name}: {ref['id']} ({found['score']}) {found['title']}")
    return lines


def run(keep: Path | None = None, form_factors=FORM_FACTORS) -> dict[str, dict]:
    """{form factor: Lighthouse report} for the landing page of a freshly served demo site."""
    with tempfile.TemporaryDirectory(prefix="narcis-lighthouse-") as scratch:
        folder = Path(scratch)
        reports = keep or folder
        reports.mkdir(parents=True, exist_ok=True)
        with served_site(folder) as base:
            wait_for_http(f"{base}/")  # the first render (wall cache, page cache) is not Lighthouse's
            return {ff: audit(f"{base}/", ff, reports / f"lighthouse-{ff}.json") for ff in form_factors}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep-reports", type=Path, help="write the JSON reports into this folder")
    parser.add_argument("--only", choices=FORM_FACTORS, help="one form factor instead of both")
    arguments = parser.parse_args()
    if lighthouse_executable() is None or not os.path.exists(CHROMIUM):
        print(f"needs Lighthouse ({INSTALL}) and {CHROMIUM}")
        return 2
    results = run(arguments.keep_reports, [arguments.only] if arguments.only else FORM_FACTORS)
    below = False
    for form_factor, result in results.items():
        found = scores(result)
        below |= any(value < 100 for value in found.values())
        scored = " ".join(f"{name} {value}" for name, value in found.items())
        # Lighthouse's CPU speed estimate: a busy machine scores performance lower (simulated mobile CPU).
        print(f"{form_factor:8} {scored}  (benchmarkIndex {result['environment']['benchmarkIndex']:.0f})")
        for line in lost_points(result):
            print(f"    {line}")
    return 1 if below else 0


if __name__ == "__main__":
    sys.exit(main())
