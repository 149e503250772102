"""The chaos campaign: portraits from many guests while the infrastructure is broken on purpose.

    DATABASE_URL=postgres://.../narcis_chaos python -m tests.chaos_campaign [--jobs 100] [--guests 20]
        [--workers 3] [--kill-every 10] [--timeout 900] [--sizes visitor|tuned]

The database named by DATABASE_URL is migrated and filled (use a throwaway one). The campaign starts its
own Redis on a free port, `--workers` run_worker processes and one web on them, submits `--jobs`
portraits spread over `--guests` guest sessions (each spends its own tokens) and watches each on a
websocket as its page would, then, until every job has ended: SIGKILLs a random worker every
`--kill-every` seconds, or each time another fifth of the jobs has ended if that comes first (a fast
machine still sees several kills), and restarts it, kills and restarts Redis once, terminates every PostgreSQL
connection of the database once, and SIGKILLs and restarts the web server once. It passes (exit 0) when
every portrait succeeded with exactly one result object, no token was refunded, every guest's balance
is exactly what it spent, and every watcher saw its job's ending (reconnecting when its socket dropped).
A line of JSON reports it.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import sys
import threading
import time
from pathlib import Path

from tests.campaign_clients import WebServer, Workers, guest_cookie, watch
from tests.campaign_servers import Redis

PROJECT = Path(__file__).resolve().parents[1]
# --sizes: `visitor` paints what visitors get (the models' defaults: 256 px, 20 + 12 steps on the tiny
# preset) in the workers' default batches; `tuned` (the suite's reduced run) 128 px in batches of 4.
SIZES = {
    "visitor": {"params": None, "worker_args": []},
    "tuned": {
        "params": {"width": 128, "height": 128, "steps": 12, "start_merge_step": 3, "detailing_steps": 8},
        "worker_args": ["--batch", "4"],
    },
}


def _django(database_url: str, redis_url: str, media: Path):
    os.environ.update(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        NARCIS_MEDIA_ROOT=str(media),
        DJANGO_SETTINGS_MODULE="narcis_site.settings",
    )
    import django

    django.setup()


def submit_jobs(jobs: int, guests: int, params: dict | None) -> list:
    import skimage.data
    from django.core.files.base import ContentFile
    from PIL import Image

    from apps.generation import services
    from apps.sessions_tokens import services as tokens
    from inference.params import Role

    buffer = io.BytesIO()
    Image.fromarray(skimage.data.astronaut()).save(buffer, format="PNG")
    sessions = [tokens.guest_session_create() for _ in range(guests)]
    submitted = []
    for index in range(jobs):
        face = ContentFile(buffer.getvalue())
        owner = sessions[index % guests]
        # Submitted as an operator, so the visitors' queued limits do not pace the campaign; the owners
        # are visitors' sessions, each spending its own tokens.
        job = services.job_submit(owner=owner, idea="calm", face=face, params=params, role=Role.OPERATOR)
        submitted.append(job.id)
    return sessions, submitted


class Watchers:
    """One websocket per job, on a thread of its own, each followed to its ending like a page would."""

    def __init__(self, base: str, watched: list[tuple[str, str]], *, give_up_at: float):
        self.results: list[dict] = []
        coroutines = [watch(base, job_id, cookie, give_up_at=give_up_at) for job_id, cookie in watched]

        async def follow_all():
            self.results = await asyncio.gather(*coroutines)

        self.thread = threading.Thread(target=asyncio.run, args=(follow_all(),), daemon=True)
        self.thread.start()

    def wait(self, timeout: float) -> list[dict]:
        self.thread.join(timeout)
        return self.results


def terminate_connections() -> int:
    """pg_terminate_backend on every connection to this database but the caller's own."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def portraits_report(ids: list, sessions: list, *, allowance: int, media: Path) -> dict:
    """What became of a campaign's portraits: statuses, the attempts histogram, refunds, whether every
    guest spent exactly its share, and whether the stored result objects are exactly the rows'."""
    from django.db.models import Count

    from apps.generation.models import GenerationJob, JobStatus
    from apps.sessions_tokens import selectors as token_selectors
    from apps.sessions_tokens.models import LedgerEntry

    rows = GenerationJob.objects.filter(id__in=ids)
    statuses = dict(rows.values_list("status").annotate(n=Count("id")).order_by())
    spent = [allowance - token_selectors.balance_of(session) for session in sessions]
    results = {job.result_image.name for job in rows if job.result_image}
    stored = {f"productions/{path.name}" for path in (media / "productions").glob("*")}
    return {
        "succeeded": statuses.get(JobStatus.SUCCEEDED, 0),
        "statuses": statuses,
        "attempts": dict(rows.values_list("attempts").annotate(n=Count("id")).order_by()),
        "refunds": LedgerEntry.objects.filter(reason="refund").count(),
        "balances_exact": spent == [len(ids) // len(sessions)] * len(sessions),
        "result_objects": len(stored),
        "results_are_the_objects": results == stored,
    }


def portraits_all_painted(report: dict, jobs: int) -> bool:
    return (
        report["succeeded"] == jobs
        and report["refunds"] == 0
        and report["balances_exact"]
        and report["result_objects"] == jobs
        and report["results_are_the_objects"]
    )


def run(
    *, jobs: int, guests: int, workers: int, kill_every: float, timeout: float, media: Path, sizes: str
) -> dict:
    from django.core.management import call_command

    from apps.generation.consumers import QUIET_RECHECK_S
    from apps.generation.models import GenerationJob, JobStatus
    from apps.sessions_tokens import selectors as token_selectors
    from tests.apps.generation.processes import child_env, free_port

    call_command("migrate", verbosity=0)
    redis_port = int(os.environ["REDIS_URL"].rsplit(":", 1)[1].split("/")[0])
    redis = Redis(redis_port)
    redis.start()
    sessions, ids = submit_jobs(jobs, guests, SIZES[sizes]["params"])
    allowance = token_selectors.balance_of(sessions[0]) + jobs // guests
    web = WebServer(free_port(), child_env())
    web.start()
    started = time.monotonic()
    cookies = [guest_cookie(session) for session in sessions]
    # A job that ends while Redis is away is told by its socket's recheck (QUIET_RECHECK_S) at the latest.
    watched = [(str(job_id), cookies[index % guests]) for index, job_id in enumerate(ids)]
    watchers = Watchers(web.base, watched, give_up_at=started + timeout + QUIET_RECHECK_S + 30)
    # Each worker takes its share of the cores, as make stack's do.
    pool = Workers(
        workers, child_env(NARCIS_LOCAL_WORKERS=str(workers)), SIZES[sizes]["worker_args"], lease=10
    )
    next_kill, redis_restarted, database_dropped, terminated = started + kill_every, False, False, 0
    kill_at_done = max(1, jobs // 5)
    live = GenerationJob.objects.filter(id__in=ids).exclude(
        status__in=[JobStatus.SUCCEEDED, JobStatus.FAILED]
    )
    try:
        while live.exists() and time.monotonic() - started < timeout:
            now = time.monotonic()
            done = jobs - live.count()
            if now >= next_kill or done >= kill_at_done:
                pool.kill_one()
                next_kill, kill_at_done = now + kill_every, done + max(1, jobs // 5)
            if not redis_restarted and done >= jobs // 3:
                redis.kill()
                time.sleep(1.0)
                redis.start()
                redis_restarted = True
            if not database_dropped and done >= jobs // 2:
                terminated = terminate_connections()
                database_dropped = True
            if not web.kills and done >= jobs * 2 // 3:
                web.kill()
                web.start()
            time.sleep(0.2)
        seen = watchers.wait(timeout=QUIET_RECHECK_S + 30)
    finally:
        pool.stop()
        web.stop()
        redis.kill()
    portraits = portraits_report(ids, sessions, allowance=allowance, media=media)
    report = {
        "sizes": sizes,
        "jobs": jobs,
        **portraits,
        "worker_kills": pool.kills,
        "redis_restarted": redis_restarted,
        "connections_terminated": terminated,
        "web_kills": web.kills,
        "watched": len(watched),
        "watchers_saw_success": sum(1 for s in seen if s["ending"] == "succeeded"),
        "endings_from_a_reconnect_snapshot": sum(1 for s in seen if s["from_snapshot"]),
        "watcher_reconnects": sum(s["reconnects"] for s in seen),
        "seconds": round(time.monotonic() - started, 1),
    }
    report["passed"] = portraits_all_painted(report, jobs) and report["watchers_saw_success"] == jobs
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos_campaign", description=__doc__)
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--guests", type=int, default=20)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--kill-every", type=float, default=10.0)
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--sizes", choices=sorted(SIZES), default="visitor")
    parser.add_argument("--media", type=Path, default=PROJECT / "var" / "chaos-media")
    args = parser.parse_args(argv)
    if args.jobs % args.guests or args.jobs // args.guests > 5:
        parser.error("--jobs must be a multiple of --guests, at most 5 per guest (their allowance)")
    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url.startswith("postgres"):
        parser.error("set DATABASE_URL to a throwaway PostgreSQL database")
    from tests.apps.generation.processes import free_port

    _django(database_url, f"redis://127.0.0.1:{free_port()}/0", args.media)
    report = run(
        jobs=args.jobs,
        guests=args.guests,
        workers=args.workers,
        kill_every=args.kill_every,
        timeout=args.timeout,
        media=args.media,
        sizes=args.sizes,
    )
    print(json.dumps(report))
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
