"""The rolling-restart campaign: a deploy, and a database restart, while visitors wait for their portraits.

    python -m tests.rolling_campaign [--jobs 100] [--guests 20] [--timeout 900] [--sizes visitor|tuned]
        [--database-restarts 1]

The production topology on this machine, every server the campaign's own: a PostgreSQL instance (initdb
in a temporary folder, its own port), Redis, 2 web processes (uvicorn) behind HAProxy configured as the
ALB (tests/campaign_servers.py), 2 run_worker processes. It submits `--jobs` portraits from `--guests`
guest sessions; every guest polls its jobs' status through the balancer once a second and every job is
watched on a websocket, as the pages do. Meanwhile, as a deploy does, each web process in turn gets
SIGTERM (it drains: narcis_site.drain) and is replaced once it has exited and the balancer sees
the new one healthy; each worker in turn is replaced (the new one started, then the old one SIGTERMed:
it finishes its batch or hands it back, apps.generation.stop_deadline); then PostgreSQL itself restarts
(`pg_ctl restart -m fast`: every connection ended, new ones refused until it is back). Rounds repeat until
every job has ended (at least one whole round and `--database-restarts` restarts happen either way).

It passes (exit 0) when no client request failed (every status poll answered 200), every portrait
succeeded with exactly one result object, no attempt was charged (every job's attempts is 1), nothing
was refunded, every balance is exact and every watcher saw its job's ending. A line of JSON reports it.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from tests.campaign_clients import ENDINGS, WebServer, Workers, guest_cookie
from tests.campaign_servers import Balancer, PrivatePostgres, Redis
from tests.chaos_campaign import SIZES, Watchers, portraits_all_painted, portraits_report, submit_jobs

PROJECT = Path(__file__).resolve().parents[1]
WEB_DRAIN_S = 3  # deregistered first, it is sent nothing new; this covers what the balancer had just sent


class Pollers:
    """One thread per guest, polling each of its jobs' status through the balancer once a second until
    the job has ended, as the portrait page falls back to doing. Every answer that is not a 200 (or a
    connection that fails) is a failed request."""

    def __init__(self, base: str, jobs_by_cookie: dict[str, list[str]], *, started: float, give_up_at: float):
        self.host, self.port = base.removeprefix("http://").split(":")
        self.started, self.give_up_at = started, give_up_at
        self.requests, self.failures = 0, []
        self._lock = threading.Lock()
        self.threads = [
            threading.Thread(target=self._poll, args=(cookie, list(jobs)), daemon=True)
            for cookie, jobs in jobs_by_cookie.items()
        ]
        for thread in self.threads:
            thread.start()

    def _poll(self, cookie: str, jobs: list[str]) -> None:
        connection = None
        while jobs and time.monotonic() < self.give_up_at:
            for job_id in list(jobs):
                status, body = None, b""
                try:
                    connection = connection or http.client.HTTPConnection(
                        self.host, int(self.port), timeout=30
                    )
                    connection.request("GET", f"/api/generations/{job_id}", headers={"Cookie": cookie})
                    response = connection.getresponse()
                    status, body = response.status, response.read()
                    if response.will_close:  # a draining process says Connection: close
                        connection.close()
                        connection = None
                except (OSError, http.client.HTTPException) as error:
                    status = f"{type(error).__name__}: {error}"
                    connection = None
                self._count(job_id, status, body)
                if status == 200 and json.loads(body)["status"] in ENDINGS:
                    jobs.remove(job_id)
            time.sleep(1.0)

    def _count(self, job_id: str, status, body: bytes) -> None:
        with self._lock:
            self.requests += 1
            if status != 200:
                failure = {"at": round(time.monotonic() - self.started, 2), "job": job_id, "status": status}
                self.failures.append({**failure, "body": body[:200].decode(errors="replace")})

    def wait(self, timeout: float) -> None:
        for thread in self.threads:
            thread.join(max(0.0, timeout))


def restart_web(webs: list[WebServer], index: int, balancer: Balancer) -> dict:
    """As an ECS deploy replaces a web task: deregistered from the balancer, then SIGTERM (the process
    drains: narcis_site.drain); once it has exited a new one takes its port, is registered again,
    and the next step waits until the balancer's checks have it back."""
    old = webs[index]
    balancer.deregister(index)
    drained = old.stop(timeout=WEB_DRAIN_S + 60)
    webs[index] = WebServer(old.port, old.env, old.log)
    webs[index].start()
    balancer.register(index)
    balancer.wait_until(f"web{index}", "UP")
    return {"web": index, "exit": old.process.returncode, "drain_seconds": round(drained, 1)}


def run(
    *,
    postgres: PrivatePostgres,
    jobs: int,
    guests: int,
    timeout: float,
    media: Path,
    sizes: str,
    database_restarts: int,
) -> dict:
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connections

    from apps.generation.consumers import QUIET_RECHECK_S
    from apps.generation.models import GenerationJob, JobStatus
    from apps.sessions_tokens import selectors as token_selectors
    from tests.apps.generation.processes import child_env, free_port

    call_command("migrate", verbosity=0)
    sessions, ids = submit_jobs(jobs, guests, SIZES[sizes]["params"])
    allowance = token_selectors.balance_of(sessions[0]) + jobs // guests
    connections.close_all()

    web_env = child_env(WEB_DRAIN_S=str(WEB_DRAIN_S), LOG_LEVEL="INFO")  # each request and the drain, logged
    logs = Path(tempfile.mkdtemp(prefix="narcis-rolling-logs-"))  # kept: the report names it
    webs = [WebServer(free_port(), web_env, logs / f"web{i}.log") for i in range(2)]
    for web in webs:
        web.start()
    balancer = Balancer(free_port(), [web.port for web in webs])
    balancer.start()
    for index in range(len(webs)):
        balancer.wait_until(f"web{index}", "UP")

    started = time.monotonic()
    give_up_at = started + timeout + QUIET_RECHECK_S + 30
    cookies = [guest_cookie(session) for session in sessions]
    jobs_by_cookie: dict[str, list[str]] = {}
    for index, job_id in enumerate(ids):
        jobs_by_cookie.setdefault(cookies[index % guests], []).append(str(job_id))
    watchers = Watchers(
        balancer.base,
        [(job, cookie) for cookie, js in jobs_by_cookie.items() for job in js],
        give_up_at=give_up_at,
    )
    pollers = Pollers(balancer.base, jobs_by_cookie, started=started, give_up_at=give_up_at)
    pool = Workers(2, child_env(NARCIS_LOCAL_WORKERS="2"), SIZES[sizes]["worker_args"], lease=20, logs=logs)

    live = GenerationJob.objects.filter(id__in=ids).exclude(
        status__in=[JobStatus.SUCCEEDED, JobStatus.FAILED]
    )
    steps, rounds, restarts_left = [], 0, database_restarts
    try:
        while time.monotonic() - started < timeout:
            for index in range(len(webs)):
                steps.append(
                    {"at": round(time.monotonic() - started, 1), **restart_web(webs, index, balancer)}
                )
            for index in range(len(pool.processes)):
                step = pool.replace(index, settings.NARCIS_WORKER_STOP_DEADLINE)
                steps.append({"at": round(time.monotonic() - started, 1), **step})
            if restarts_left:
                refused = postgres.restart()
                restarts_left -= 1
                steps.append(
                    {"at": round(time.monotonic() - started, 1), "database_down_s": round(refused, 1)}
                )
            rounds += 1
            connections.close_all()  # the campaign's own connection did not survive the restart
            if not live.exists():
                break
        while live.exists() and time.monotonic() - started < timeout:
            time.sleep(0.5)
        seen = watchers.wait(timeout=max(0.0, give_up_at - time.monotonic()))
        pollers.wait(timeout=max(0.0, give_up_at - time.monotonic()))
    finally:
        pool.stop(timeout=120)
        for web in webs:
            web.stop(timeout=WEB_DRAIN_S + 60)
        balancer.stop()
    portraits = portraits_report(ids, sessions, allowance=allowance, media=media)
    report = {
        "sizes": sizes,
        "jobs": jobs,
        **portraits,
        "rounds": rounds,
        "web_restarts": sum(1 for step in steps if "web" in step),
        "worker_restarts": sum(1 for step in steps if "worker" in step),
        "database_restarts": database_restarts - restarts_left,
        "steps": steps,
        "client_requests": pollers.requests,
        "failed_requests": len(pollers.failures),
        "failures": pollers.failures[:10],
        "watched": len(ids),
        "watchers_saw_success": sum(1 for s in seen if s["ending"] == "succeeded"),
        "watcher_reconnects": sum(s["reconnects"] for s in seen),
        "endings": dict(Counter(s["ending"] for s in seen)),
        "seconds": round(time.monotonic() - started, 1),
        "web_logs": str(logs),
    }
    report["passed"] = (
        portraits_all_painted(report, jobs)
        and report["attempts"] == {1: jobs}
        and report["failed_requests"] == 0
        and report["watchers_saw_success"] == jobs
        and rounds >= 1
        and report["database_restarts"] == database_restarts
    )
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.rolling_campaign", description=__doc__)
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--guests", type=int, default=20)
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--sizes", choices=sorted(SIZES), default="visitor")
    parser.add_argument("--database-restarts", type=int, default=1)
    args = parser.parse_args(argv)
    if args.jobs % args.guests or args.jobs // args.guests > 5:
        parser.error("--jobs must be a multiple of --guests, at most 5 per guest (their allowance)")
    from tests.apps.generation.processes import free_port

    postgres, redis = PrivatePostgres(free_port()), Redis(free_port())
    media = Path(tempfile.mkdtemp(prefix="narcis-rolling-media-"))  # the guests' photos go with it
    try:
        postgres.start()
        redis.start()
        os.environ.update(
            DATABASE_URL=postgres.create_database("narcis"),
            REDIS_URL=f"redis://127.0.0.1:{redis.port}/0",
            NARCIS_MEDIA_ROOT=str(media),
            DJANGO_SETTINGS_MODULE="narcis_site.settings",
        )
        import django

        django.setup()
        report = run(
            postgres=postgres,
            jobs=args.jobs,
            guests=args.guests,
            timeout=args.timeout,
            media=media,
            sizes=args.sizes,
            database_restarts=args.database_restarts,
        )
    finally:
        from django.db import connections

        connections.close_all()
        redis.kill()
        postgres.stop()
        shutil.rmtree(media, ignore_errors=True)
    print(json.dumps(report))
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
