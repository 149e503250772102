"""The GPU worker: claims compatible jobs, paints them in one batch, stores the results.

`python manage.py run_worker` runs `Worker.run_forever`; tests drive `Worker.run_once`.
While a batch runs, a background thread renews the jobs' lease; a worker that dies stops renewing and
the reaper (`services.jobs_reap_expired`, run by every worker between batches) requeues its jobs.
"""

from __future__ import annotations

import io
import logging
import threading
import uuid

import numpy as np
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import close_old_connections, connections
from PIL import Image

from apps.generation import concepts, progress, services
from apps.generation.models import GenerationJob
from inference.faces import face_analyzer
from inference.mecene.agent import Concept, Mecene
from inference.models.registry import TINY, ModelRegistry
from inference.portrait.batcher import RequestBatcher, Ticket
from inference.portrait.pipeline import (
    PortraitParams,
    PortraitPipeline,
    PortraitRequest,
    PortraitResult,
)

logger = logging.getLogger("narcis.worker")


class LeaseKeeper(threading.Thread):
    """Renews the batch's lease every third of its length; notes jobs taken away (reaped or canceled)."""

    def __init__(self, jobs: list[GenerationJob], worker_id: str, lease_seconds: int):
        super().__init__(name="lease-keeper", daemon=True)
        self.jobs, self.worker_id, self.lease_seconds = jobs, worker_id, lease_seconds
        self.lost: set[str] = set()
        self._halt = threading.Event()

    def run(self):
        from django.db import connection

        try:
            while not self._halt.wait(self.lease_seconds / 3):
                for job in self.jobs:
                    if not services.job_renew_lease(
                        job=job, worker_id=self.worker_id, lease_seconds=self.lease_seconds
                    ):
                        self.lost.add(str(job.id))
        finally:
            connection.close()

    def stop(self):
        self._halt.set()
        self.join()


class Worker:
    def __init__(
        self,
        pipeline: PortraitPipeline,
        *,
        worker_id: str | None = None,
        batch_size: int = 4,
        lease_seconds: int = 60,
        params: PortraitParams | None = None,
        mecene: Mecene | None = None,
    ):
        self.pipeline = pipeline
        self.mecene = mecene or Mecene.from_env()
        # The batch is claimed together, so a short wait is enough for the batcher to see all of it.
        self.batcher = RequestBatcher(
            pipeline, max_batch_size=batch_size, timeout=0.05, after_batch=connections.close_all
        )
        self.worker_id = worker_id or f"worker-{uuid.uuid4().hex[:8]}"
        self.batch_size, self.lease_seconds = batch_size, lease_seconds
        self.params = params or PortraitParams()
        self.stopping = threading.Event()

    def _request(self, job: GenerationJob, concept: Concept) -> PortraitRequest:
        with job.face_image.open("rb") as handle:
            face = np.asarray(Image.open(handle).convert("RGB"))
        params = PortraitParams(**{**self.params.__dict__, **job.params})
        return PortraitRequest(
            str(job.id),
            concept.prompt,
            concept.negative_prompt,
            seed=_seed(job),
            face_image=face,
            params=params,
        )

    def _concept(self, job: GenerationJob) -> Concept:
        """The mecene concept: the one the visitor previewed (concept_seed), else one seeded by the job."""
        if job.concept_seed is not None:
            concept = concepts.previewed(job.idea, job.concept_seed) or self.mecene.run(
                job.idea, seed=job.concept_seed
            )
        else:
            concept = self.mecene.run(job.idea, seed=_seed(job))
        progress.publish(job.id, {"event": "concept", "idea": concept.idea, "keywords": concept.chosen})
        return concept

    def run_once(self) -> int:
        """Reap expired leases, claim one batch and run it; returns how many jobs it handled."""
        services.jobs_reap_expired(on_failed=progress.publish_final)
        jobs = services.jobs_claim(
            worker_id=self.worker_id, limit=self.batch_size, lease_seconds=self.lease_seconds
        )
        if not jobs:
            return 0
        by_id = {str(job.id): job for job in jobs}
        for job in jobs:
            progress.publish(job.id, {"event": "started"})
        progress.publish_queue_positions()
        keeper = LeaseKeeper(jobs, self.worker_id, self.lease_seconds)
        keeper.start()
        concept_of: dict[str, Concept] = {}
        try:
            concept_of = {str(job.id): self._concept(job) for job in jobs}
            requests = [self._request(job, concept_of[str(job.id)]) for job in jobs]
            results = self._paint(requests, by_id, keeper)
        except Exception as error:  # noqa: BLE001 - every job must end, whatever broke
            logger.exception("batch crashed", extra={"worker": self.worker_id})
            results = [_crashed(job, error) for job in jobs]
        finally:
            keeper.stop()
        for result in results:
            try:
                self._finish(by_id[result.request_id], result, concept_of.get(result.request_id))
            except Exception:  # noqa: BLE001 - storage or database down: the others still finish
                # The lease runs out and the reaper retries the job, or fails and refunds it.
                logger.exception("result not recorded", extra={"job_id": result.request_id})
        return len(jobs)

    def _paint(
        self, requests: list[PortraitRequest], by_id: dict, keeper: LeaseKeeper
    ) -> list[PortraitResult]:
        """Through the RequestBatcher: the claimed jobs share one GPU batch, and a job canceled by its
        owner (or whose lease was lost) leaves it at the next step. Progress runs in the batcher's
        thread, step by step."""
        reporter = progress.Reporter()
        tickets: dict[str, Ticket] = {}

        def on_progress(update):
            job = by_id[update.request_id]
            reporter.report(job, update)
            ticket = tickets.get(update.request_id)
            if ticket is not None and (update.request_id in keeper.lost or progress.cancel_requested(job)):
                ticket.cancel()

        for ticket in self.batcher.submit_many(requests, on_progress=on_progress):
            tickets[ticket.request.request_id] = ticket
        results = []
        for ticket in tickets.values():
            while not ticket.done():  # never wait on a batcher that is gone: fail the job instead
                if not self.batcher.alive:
                    raise RuntimeError("the request batcher stopped")
                ticket.wait(timeout=1.0)
            results.append(ticket.result())
        return results

    def _finish(self, job: GenerationJob, result: PortraitResult, concept: Concept | None) -> None:
        if result.status == "canceled":
            services.job_finish_canceled(job=job, worker_id=self.worker_id)
        elif result.ok:
            buffer = io.BytesIO()
            result.image.save(buffer, format="PNG")
            metadata = {
                "seed": result.seed,
                "params": result.params,
                "timings": result.timings,
                "face_box": result.face_box,
                "identity_score": result.identity_score,
                "notes": result.notes,
                "mecene": _concept_summary(concept),
            }
            services.job_succeed(
                job=job,
                worker_id=self.worker_id,
                image=ContentFile(buffer.getvalue()),
                prompt=result.prompt,
                negative_prompt=result.negative_prompt,
                metadata=metadata,
            )
        else:
            message = result.error or "We could not paint this portrait."
            services.job_fail(
                job=job,
                worker_id=self.worker_id,
                message=f"{message} Your token has been returned.",
                detail="; ".join(result.notes) or (result.error_code or ""),
            )
        progress.publish_final(job)

    def run_forever(self, *, idle_sleep: float = 1.0, max_backoff: float = 30.0) -> None:
        logger.info("worker started", extra={"worker": self.worker_id})
        backoff = idle_sleep
        while not self.stopping.is_set():
            try:
                handled = self.run_once()
                backoff = idle_sleep
            except Exception:  # noqa: BLE001 - the database blinked: wait, then carry on (leases cover us)
                logger.exception("worker round failed", extra={"worker": self.worker_id})
                backoff, handled = min(backoff * 2, max_backoff), 0
                close_old_connections()
            if handled == 0:
                self.stopping.wait(backoff)
        self.batcher.close()
        logger.info("worker stopped", extra={"worker": self.worker_id})


def _seed(job: GenerationJob) -> int:
    """Staff may pin the seed in params; otherwise each job's id gives it a stable one of its own."""
    return int(job.params.get("seed", uuid.UUID(str(job.id)).int % 2**31))


def _concept_summary(concept: Concept | None) -> dict | None:
    if concept is None:
        return None
    keep = ("seed", "idea", "keywords", "chosen", "engine", "fallbacks")
    return {key: getattr(concept, key) for key in keep}


def _crashed(job: GenerationJob, error: Exception) -> PortraitResult:
    """A failed result for a job whose batch broke (including its photo failing to load)."""
    result = PortraitResult(str(job.id), "failed", 0, "", "", dict(job.params))
    result.error = "Something went wrong while painting."
    result.notes = [f"{type(error).__name__}: {error}"]
    return result


# The tiny preset paints toy pictures; at 1024 px they only take longer on a laptop's CPU.
TINY_PRESET_PARAMS = PortraitParams(
    width=256, height=256, steps=20, start_merge_step=6, detailing_steps=12, detailing_resolution=256
)


def worker_from_settings(*, batch_size: int = 4, lease_seconds: int = 60) -> Worker:
    """A worker on the models folder in NARCIS_MODELS_DIR, or on the tiny offline preset when unset.

    The tiny preset paints no real faces, so there a portrait without a detected face is still
    delivered (stage 1 only) instead of failing.
    """
    models_dir = settings.NARCIS_MODELS_DIR or TINY
    models = ModelRegistry.load(models_dir)
    offline = models.name == TINY
    pipeline = PortraitPipeline(
        models, face_analyzer(None if offline else models_dir), require_face=not offline
    )
    return Worker(
        pipeline,
        batch_size=batch_size,
        lease_seconds=lease_seconds,
        params=TINY_PRESET_PARAMS if offline else None,
    )
