"""The load campaign: the web tier under wrk, per server and against an older version, and 1,000 websocket
subscribers receiving every event.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/narcis_load REDIS_URL=redis://127.0.0.1:6379/3 \\
        python -m tests.load_campaign [--server daphne,uvicorn,granian] [--web-processes 1,2] \\
            [--baseline 2fcb7b9] [--revision REV] [--minimal] [--duration 10] [--jobs 250] [--tabs 4]

Every version measured (this working tree, or `--revision <rev>`; with `--baseline <rev>` also that
commit; a revision is checked out in a temporary git worktree and run with this virtual environment)
gets a fresh database named after DATABASE_URL's (`<name>_new`, `<name>_old`: created, migrated,
seeded by that version's code, dropped at the end; the baseline also gets the next Redis database
number). Each server of `--server` is started with each process count of `--web-processes` for each
version, all at once, on ports from `--port` up; a server's N processes accept on one port (daphne: N
daphnes on one listening socket; uvicorn and granian: their own `--workers N`), so wrk measures all N.
DEBUG off, no embedded worker, workers off. Before any wrk, each process has served each endpoint once
(a fresh process imports the URLconf on its first such request: 12-15 s here).

wrk (`-t2 -c<connections> -d<duration>s`) measures, endpoint by endpoint, each endpoint on every
server and version in turn (old, new, old, new...; one second of warm-up each): GET /health,
GET /api/generations/<id> of a queued job and of a running one (claimed as a worker claims it, its
progress at 40%), GET /api/me, GET / and POST /api/generations (a guest with tokens to spare, the
per-visitor limits lifted). `--minimal` also measures a minimal ASGI app (tests/asgi_minimal.py) on
each server: what the server itself costs. Then, per server and version, `--jobs` queued jobs each get
`--tabs` websocket subscribers (all connected first) and a fake worker publishes every job's progress
through that version's channel layer at the real rate (`--steps` events `--interval` s apart, then the
final one); each socket must receive every event of its job.

One JSON line on stdout reports it all (per target: req/s, p50, p99, non-2xx per endpoint; `ratio`:
new/old req/s of the same server, or over the old version on `--baseline-server` when given: the
before/after of a change of server; `vs_daphne`: req/s over daphne's with as many processes, same
version); the same as markdown tables on stderr, or in the file `--markdown` names. `--server serve`
is the product's own launcher (narcis_site.serve, one process).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.campaign_clients import SERVERS, WebServer
from tests.load_checkouts import Checkout, checkouts
from tests.load_report import markdown, ratios
from tests.load_wrk import BOUNDARY, post_script, wrk

CSRF = "loadcampaigncsrftoken0123456789a"  # 32 characters, as Django makes them
MINIMAL_APP = "tests.asgi_minimal:application"
ENDPOINTS = ("health", "job_queued", "job_running", "me", "wall", "submit")


@dataclass
class Target:
    web: WebServer
    checkout: Checkout | None  # None: the minimal app

    @property
    def version(self) -> str:
        return "minimal" if self.checkout is None else self.checkout.label

    @property
    def label(self) -> str:
        return f"{self.version} {self.web.server} x{self.web.processes}"

    def describe(self) -> dict:
        return {"version": self.version, "server": self.web.server, "processes": self.web.processes}

    def url(self, endpoint: str) -> str:
        seeded = self.checkout.seeded
        paths = {
            "health": "/health",
            "job_queued": f"/api/generations/{seeded['queued']}",
            "job_running": f"/api/generations/{seeded['running']}",
            "me": "/api/me",
            "wall": "/",
            "submit": "/api/generations",
        }
        return self.web.base + paths[endpoint]


def _targets(args, versions: list[Checkout], env: dict) -> list[Target]:
    made, port = [], args.port
    if args.baseline_server and args.baseline_server not in args.server:
        args.server = [args.baseline_server, *args.server]  # its old targets come first, then the new
    if args.minimal:
        for server in args.server:
            if server == "serve":  # the product's own launcher serves only the product
                continue
            for processes in args.web_processes:
                web = WebServer(port, env, server=server, processes=processes, app=MINIMAL_APP)
                made.append(Target(web, None))
                port += 1
    for server in args.server:
        for processes in args.web_processes:
            for checkout in versions:  # old, new: side by side in every measurement loop
                if checkout.label == "old" and args.baseline_server not in (None, server):
                    continue
                if server == "serve" and processes != 1:  # one process a task, as ECS runs it
                    continue
                web = WebServer(
                    port, checkout.env, server=server, processes=processes, project=checkout.folder
                )
                made.append(Target(web, checkout))
                port += 1
    return made


def _settle(timeout: float = 90.0) -> None:
    """Waits until the machine is nearly idle: a server's second process may still be importing Django
    after the first answered."""
    deadline = time.monotonic() + timeout

    def busy_idle() -> tuple[int, int]:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
        return sum(fields) - fields[3] - fields[4], fields[3] + fields[4]

    while time.monotonic() < deadline:
        busy, idle = busy_idle()
        time.sleep(1.0)
        busy2, idle2 = busy_idle()
        if (busy2 - busy) < 0.15 * ((busy2 - busy) + (idle2 - idle)):
            return


def _warm(target: Target, folder: Path) -> None:
    """The first request of each kind in a fresh process imports and compiles what /health never touches
    (the URLconf alone took 12-15 s here; a submit loads the face detector): several at once per
    process, each waited for, before any wrk."""
    if target.checkout is None:
        return
    cookie = target.checkout.seeded["cookie"]
    curl = ["curl", "-s", "-o", "/dev/null", "--max-time", "180", "-H", f"Cookie: {cookie}; csrftoken={CSRF}"]
    post_script(folder, cookie, CSRF)  # writes the body the submit sends
    submit = ["-H", f"X-CSRFToken: {CSRF}", "-H", f"Content-Type: multipart/form-data; boundary={BOUNDARY}"]
    submit += ["--data-binary", f"@{folder / 'body.bin'}"]
    for endpoint in ("job_queued", "job_running", "me", "wall", "submit"):
        command = [*curl, *(submit if endpoint == "submit" else []), target.url(endpoint)]
        for process in [subprocess.Popen(command) for _ in range(2 * target.web.processes)]:
            process.wait()


def _measure_http(args, targets: list[Target], folder: Path) -> dict[str, dict]:
    results: dict[str, dict] = {target.label: {} for target in targets}
    scripts = {}
    for endpoint in ("minimal", *ENDPOINTS):
        for target in targets:
            if (target.checkout is None) != (endpoint == "minimal"):
                continue
            script, headers = None, []
            if target.checkout is not None:
                cookie = target.checkout.seeded["cookie"]
                headers = ["-H", f"Cookie: {cookie}; csrftoken={CSRF}"]
                if endpoint == "submit":
                    script = scripts.setdefault(cookie, post_script(folder, cookie, CSRF))
            url = target.web.base + "/" if endpoint == "minimal" else target.url(endpoint)
            options = {"connections": args.connections, "headers": headers, "script": script}
            if endpoint != "submit":  # a warm-up POST would only add jobs to the queue
                wrk(url, duration=1, **options)
            results[target.label][endpoint] = wrk(url, duration=args.duration, **options)
        measured = {t: r[endpoint] for t, r in results.items() if endpoint in r}
        # Others' processes on the machine skew every figure alike; the load says how busy it was.
        print(json.dumps({endpoint: measured, "load_avg_1m": os.getloadavg()[0]}), file=sys.stderr)
    return results


def _measure_sockets(args, target: Target) -> dict:
    order = {
        "bases": [target.web.base.replace("http://", "ws://")],
        "watched": target.checkout.seeded["watched"],
        "tabs": args.tabs,
        "steps": args.steps,
        "interval": args.interval,
        "opening": args.opening,
    }
    try:
        return target.checkout.fixture("sockets", order=order)
    except RuntimeError as error:  # a server whose websockets fail: reported, the others still measured
        return {"error": str(error)[-1000:], "delivered_pct": 0}


def run(args) -> dict:
    lifted = ("GENERATIONS_PER_MINUTE", "GENERATIONS_MAX_QUEUED", "SUBMITS_PER_MINUTE_PER_VISITOR")
    env = {**os.environ, **dict.fromkeys([*lifted, "SUBMITS_PER_MINUTE_PER_ADDRESS"], "1000000")}
    with checkouts(env, baseline=args.baseline, jobs=args.jobs, revision=args.revision) as versions:
        targets = _targets(args, versions, env)
        try:
            for target in targets:
                target.web.start()
            _settle()
            with tempfile.TemporaryDirectory() as folder:
                for target in targets:
                    _warm(target, Path(folder))
            report = {"revision": args.revision or "working tree", "baseline": args.baseline}
            report["baseline_server"] = args.baseline_server
            report["load_avg_1m_at_start"] = os.getloadavg()[0]
            report.update(duration_s=args.duration, connections=args.connections)
            report["targets"] = {t.label: t.describe() for t in targets}
            if not args.sockets_only:
                with tempfile.TemporaryDirectory() as folder:
                    for label, endpoints in _measure_http(args, targets, Path(folder)).items():
                        report["targets"][label]["endpoints"] = endpoints
                report["ratios"] = ratios(report["targets"], args.baseline_server)
            if not args.no_sockets:
                for target in targets:
                    if target.checkout is not None:
                        report["targets"][target.label]["websockets"] = _measure_sockets(args, target)
                        print(
                            json.dumps({target.label: report["targets"][target.label]["websockets"]}),
                            file=sys.stderr,
                        )
        finally:
            for target in targets:
                _stop(target.web)
    return report


def _stop(web: WebServer) -> None:
    if web.process is None:
        return
    try:
        web.stop(timeout=30)
    except Exception:  # noqa: BLE001 - one that will not stop is killed; the others still stop
        web.kill()


def _choices(allowed: tuple[str, ...] | None, cast=str):
    def parse(text: str) -> list:
        values = [cast(value) for value in text.split(",") if value]
        if allowed and not set(values) <= set(allowed):
            raise argparse.ArgumentTypeError(f"one or more of {', '.join(allowed)}")
        return values

    return parse


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", type=_choices(SERVERS), default=["daphne"], help="comma-separated")
    parser.add_argument("--web-processes", type=_choices(None, int), default=[1], help="comma-separated")
    parser.add_argument("--baseline", help="a git revision measured side by side with this checkout")
    parser.add_argument("--revision", help="measure this git revision instead of the working tree")
    parser.add_argument(
        "--baseline-server", choices=SERVERS, help="the baseline on this server only; every ratio against it"
    )
    parser.add_argument("--minimal", action="store_true", help="also a minimal ASGI app on each server")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--jobs", type=int, default=250)
    parser.add_argument("--tabs", type=int, default=4)
    parser.add_argument("--steps", type=int, default=50, help="progress events per job")
    parser.add_argument("--interval", type=float, default=0.15, help="seconds between a job's events")
    parser.add_argument("--opening", type=int, default=50, help="websocket handshakes in flight at once")
    parser.add_argument("--port", type=int, default=8765, help="the first of the servers' ports")
    parser.add_argument("--sockets-only", action="store_true", help="skip wrk, measure the sockets")
    parser.add_argument("--no-sockets", action="store_true", help="wrk only")
    parser.add_argument("--markdown", type=Path, help="write the tables here instead of stderr")
    args = parser.parse_args(argv)
    report = run(args)
    print(json.dumps(report))
    tables = markdown(report)
    if args.markdown:
        args.markdown.write_text(tables)
    else:
        print(tables, file=sys.stderr)
    sockets = [t["websockets"] for t in report["targets"].values() if "websockets" in t]
    return 0 if all(s.get("delivered_pct") == 100 for s in sockets) else 1


if __name__ == "__main__":
    sys.exit(main())
