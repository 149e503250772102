"""The GPU worker: claims compatible jobs, paints them in one batch, stores the results.

`python manage.py run_worker` runs `Worker.run_forever`; tests drive `Worker.run_once`.
The claim is the only grouping: it takes queued jobs with equal batch keys, and the worker hands all of
them to the pipeline as one batch, each with the parameters its row holds. While a batch runs, a
background thread renews the jobs' lease; a worker that dies stops renewing and the reaper
(`services.jobs_reap_expired`, run by every worker between batches) requeues its jobs. A worker told to
stop (`stop()`, SIGTERM) claims nothing more and finishes its batch, or hands it back at once when the
batch cannot end before the stop deadline (apps.generation.stop_deadline).
"""

from __future__ import annotations

import io
import logging
import threading
import uuid

import numpy as np
import torch
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import close_old_connections
from PIL import Image

from apps.generation import concepts, faults, progress, services
from apps.generation.job_params import defaults_for, params_of
from apps.generation.models import GenerationJob, JobStatus
from apps.generation.stop_deadline import BatchPace, StopDeadline, must_hand_back
from inference.faces.analysis import CentredFace
from inference.mecene.agent import Concept, Mecene
from inference.models import fast
from inference.models.devices import batch_size_for
from inference.models.registry import TINY
from inference.params import Role
from inference.portrait.build import build
from inference.portrait.pipeline import (
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
        try:
            while not self._halt.wait(self.lease_seconds / 3):
                self._renew()
        finally:
            faults.reconnect()

    def _renew(self) -> None:
        """One round of renewals. A dropped connection costs this round only: the lease is three rounds
        long, and the next round reconnects."""
        for job in self.jobs:
            try:
                held = services.job_renew_lease(
                    job=job, worker_id=self.worker_id, lease_seconds=self.lease_seconds
                )
            except Exception as error:  # noqa: BLE001 - the keeper must outlive any database blip
                if not faults.is_infrastructure(error):
                    raise
                logger.warning("lease not renewed this round", extra={"job_id": str(job.id)})
                faults.reconnect()
                return
            if not held:
                self.lost.add(str(job.id))

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
        stop_grace_seconds: float = 110.0,
        mecene: Mecene | None = None,
    ):
        self.pipeline = pipeline
        self.mecene = mecene or Mecene.from_env()
        self.worker_id = worker_id or f"worker-{uuid.uuid4().hex[:8]}"
        self.batch_size, self.lease_seconds = batch_size, lease_seconds
        self.deadline = StopDeadline(stop_grace_seconds)
        self.stopping = self.deadline.stopping
        self._preempted: set[str] = set()  # this batch's jobs handed back before the stop deadline

    def stop(self) -> None:
        """Claim nothing more; finish the batch in hand if it can end in the stop grace, else hand it back."""
        self.deadline.begin()

    def _request(self, job: GenerationJob) -> tuple[PortraitRequest, Concept]:
        """The job as the pipeline takes it: its concept, its photos (the first is the one the identity
        score is measured against; all of them feed the identity encoder), the parameters its row holds."""
        params = params_of(job)
        concept = self._concept(job, params.seed)
        more = tuple(_pixels(extra.image) for extra in job.extra_faces.all())
        request = PortraitRequest(
            str(job.id),
            concept.prompt,
            concept.negative_prompt,
            face_image=_pixels(job.face_image),
            more_face_images=more,
            params=params,
        )
        return request, concept

    def _concept(self, job: GenerationJob, seed: int) -> Concept:
        """The mecene concept: the one the visitor previewed (concept_seed), else one seeded like the job."""
        if job.concept_seed is not None:
            concept = concepts.previewed(job.idea, job.concept_seed) or self.mecene.run(
                job.idea, seed=job.concept_seed
            )
        else:
            concept = self.mecene.run(job.idea, seed=seed)
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
        self._preempted = set()
        for job in jobs:
            progress.publish(job.id, {"event": "started"})
        progress.publish_queue_positions()
        keeper = LeaseKeeper(jobs, self.worker_id, self.lease_seconds)
        keeper.start()
        concept_of: dict[str, Concept] = {}
        handed_back: list[tuple[GenerationJob, Exception]] = []
        try:
            requests, concept_of, results, handed_back = self._requests(jobs)
            results += self._paint(requests, by_id, keeper) if requests else []
        except Exception as error:  # noqa: BLE001 - every job must end, whatever broke
            if faults.is_infrastructure(error):  # ours, not the visitors': another worker takes them
                logger.warning("batch handed back", exc_info=True, extra={"worker": self.worker_id})
                results, handed_back = [], [(job, error) for job in jobs]
            else:
                logger.exception("batch crashed", extra={"worker": self.worker_id})
                results = [_crashed(job, error) for job in jobs]
        finally:
            keeper.stop()
        for job, error in handed_back:
            self._hand_back(job, error)
        for result in results:
            if result.request_id in self._preempted:
                continue  # already back in the queue (_preempt)
            try:
                self._finish(by_id[result.request_id], result, concept_of.get(result.request_id))
            except Exception as error:  # noqa: BLE001 - storage or database down: the others still finish
                logger.exception("result not recorded", extra={"job_id": result.request_id})
                if faults.is_infrastructure(error):
                    self._hand_back(by_id[result.request_id], error)
                # Otherwise the lease runs out and the reaper retries the job, or fails and refunds it.
        return len(jobs)

    def _hand_back(self, job: GenerationJob, error: Exception) -> None:
        """Back to the queue for another worker (services.job_release); if even that cannot be written,
        the lease runs out and the reaper does it."""
        reason = f"{type(error).__name__}: {error}"[:500]
        try:
            status = faults.retrying(
                lambda: services.job_release(job=job, worker_id=self.worker_id, reason=reason),
                what="hand back",
            )
        except Exception:  # noqa: BLE001 - the reaper will
            logger.exception("job not handed back", extra={"job_id": str(job.id)})
            return
        if status == JobStatus.FAILED:
            progress.publish_final(job)

    def _requests(self, jobs: list[GenerationJob]) -> tuple[list, dict, list, list]:
        """The jobs' requests and concepts; a failed result for each job whose request cannot be built
        (its row's parameters are not valid, its photo cannot be read): that job fails alone; and the
        jobs to hand back (their photo could not be fetched from storage, even after retries)."""
        requests, concept_of, failed, handed_back = [], {}, [], []
        for job in jobs:
            try:
                request, concept_of[str(job.id)] = faults.retrying(
                    lambda job=job: self._request(job), what="read the job"
                )
                requests.append(request)
            except Exception as error:  # noqa: BLE001 - one bad job must not take its batch down
                if faults.is_infrastructure(error):
                    handed_back.append((job, error))
                    continue
                logger.exception("job not paintable", extra={"job_id": str(job.id)})
                failed.append(_crashed(job, error))
        return requests, concept_of, failed, handed_back

    def _paint(
        self, requests: list[PortraitRequest], by_id: dict, keeper: LeaseKeeper
    ) -> list[PortraitResult]:
        """One pipeline run for the claimed batch. A job canceled by its owner (or whose lease was lost)
        leaves the batch at the next step; progress is reported step by step."""
        reporter = progress.Reporter()
        stopped: set[str] = set()
        pace = BatchPace(requests[0].params)

        def on_progress(update):
            job = by_id[update.request_id]
            reporter.report(job, update)
            pace.observe(update.progress.stage, update.progress.step, update.progress.total)
            if update.request_id in keeper.lost or progress.cancel_requested(job):
                stopped.add(update.request_id)
            elif update.request_id not in self._preempted and must_hand_back(self.deadline, pace):
                self._preempt([by_id[r.request_id] for r in requests if r.request_id not in stopped])
                stopped.update(self._preempted)

        return self._paint_within_memory(requests, on_progress, stopped.__contains__)

    def _preempt(self, jobs: list[GenerationJob]) -> None:
        """The batch cannot end before this worker is killed: its jobs go back to the head of the queue
        now (services.job_preempt), and the pipeline drops them at its next step."""
        logger.warning(
            "stop deadline: handing the batch back",
            extra={
                "worker": self.worker_id,
                "batch": len(jobs),
                "seconds_left": self.deadline.seconds_left(),
            },
        )
        for job in jobs:
            try:
                faults.retrying(
                    lambda job=job: services.job_preempt(job=job, worker_id=self.worker_id), what="hand back"
                )
            except Exception:  # noqa: BLE001 - the lease expires and the reaper requeues it
                logger.exception("job not handed back", extra={"job_id": str(job.id)})
            self._preempted.add(str(job.id))
        progress.publish_queue_positions()

    def _paint_within_memory(self, requests: list[PortraitRequest], on_progress, is_cancelled) -> list:
        """The pipeline on the batch; when the GPU runs out of memory, on each half, down to one job."""
        try:
            return self.pipeline.run(requests, on_progress=on_progress, is_cancelled=is_cancelled)
        except Exception as error:
            if len(requests) < 2 or not faults.is_out_of_memory(error):
                raise
            logger.warning("out of GPU memory: splitting the batch", extra={"batch": len(requests)})
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            half = len(requests) // 2
            return self._paint_within_memory(
                requests[:half], on_progress, is_cancelled
            ) + self._paint_within_memory(requests[half:], on_progress, is_cancelled)

    def _finish(self, job: GenerationJob, result: PortraitResult, concept: Concept | None) -> None:
        """Record the result, retrying through faults of ours (a dropped connection, a storage timeout)."""
        faults.retrying(lambda: self._record(job, result, concept), what="record the result")
        progress.publish_final(job)

    def _record(self, job: GenerationJob, result: PortraitResult, concept: Concept | None) -> None:
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

    def warm_up(self) -> None:
        """With a compiled fast path: compile every graph this worker serves (a batch of 1 and a full
        batch, stage 1 and detailing, guided and unguided rows) on blank requests, before the first claim,
        so no visitor waits for a compiler. Compiled code is cached on disk (TORCHINDUCTOR_CACHE_DIR)."""
        models = self.pipeline.models
        if not (models.fast.compile or models.fast.compile_vae):
            return
        params = defaults_for(Role.VISITOR).replace(steps=5, start_merge_step=1, detailing_steps=4)
        blank = PortraitPipeline(models, CentredFace(), require_face=False)

        def paint(height: int, width: int, batch: int) -> None:
            sized = params.replace(height=height, width=width)
            blank.run([PortraitRequest(f"warm-{i}", "", params=sized.replace(seed=i)) for i in range(batch)])

        sizes = [(params.height, params.width)]
        seconds = fast.warm_up(sizes=sizes, max_batch=self.batch_size, run=paint)
        logger.info("worker warm", extra={"worker": self.worker_id, "seconds": round(seconds, 1)})

    def run_forever(self, *, idle_sleep: float = 1.0, max_backoff: float = 30.0) -> None:
        logger.info("worker started", extra={"worker": self.worker_id})
        self.warm_up()
        backoff = idle_sleep
        while not self.stopping.is_set():
            try:
                handled = self.run_once()
                backoff = idle_sleep
            except Exception:  # noqa: BLE001 - the database blinked: wait, then carry on (leases cover us)
                logger.exception("worker round failed", extra={"worker": self.worker_id})
                backoff, handled = min(backoff * 2, max_backoff), 0
                faults.reconnect()
            if handled == 0:
                # Idle: the connection goes back to the pool while the worker waits (embedded in the web
                # process it would otherwise keep one of the requests' slots for good).
                close_old_connections()
                self.stopping.wait(backoff)
        close_old_connections()  # the thread ends holding nothing
        logger.info("worker stopped", extra={"worker": self.worker_id})


def _pixels(stored) -> np.ndarray:
    with stored.open("rb") as handle:
        return np.asarray(Image.open(handle).convert("RGB"))


def _concept_summary(concept: Concept | None) -> dict | None:
    if concept is None:
        return None
    keep = ("seed", "idea", "keywords", "chosen", "engine", "fallbacks", "notes")
    return {key: getattr(concept, key) for key in keep}


def _crashed(job: GenerationJob, error: Exception) -> PortraitResult:
    """A failed result for a job whose batch broke (including its photo failing to load)."""
    result = PortraitResult(str(job.id), "failed", 0, "", "", dict(job.params))
    result.error = "Something went wrong while painting."
    result.notes = [f"{type(error).__name__}: {error}"]
    return result


def worker_from_settings(*, batch_size: int | None = None, lease_seconds: int = 60) -> Worker:
    """A worker on the models folder in NARCIS_MODELS_DIR, or on the tiny offline preset when unset, in
    NARCIS_DTYPE with NARCIS_FAST_PATH (ValueError when either cannot be honoured). Its batch size: the
    one given, else NARCIS_WORKER_BATCH, else what the device's memory holds."""
    pipeline = build(
        settings.NARCIS_MODELS_DIR or TINY, dtype=settings.NARCIS_DTYPE, fast=settings.NARCIS_FAST_PATH
    )
    batch_size = batch_size or settings.NARCIS_WORKER_BATCH or batch_size_for(pipeline.models.device)
    return Worker(
        pipeline,
        batch_size=batch_size,
        lease_seconds=lease_seconds,
        stop_grace_seconds=settings.NARCIS_WORKER_STOP_DEADLINE,
    )
