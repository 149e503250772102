"""Faults of ours never cost a visitor a portrait: storage hiccups and dropped connections are retried,
a batch that runs out of GPU memory is split, and what cannot be done now goes back to the queue."""

import io

import pytest
import skimage.data
import torch
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage
from django.db import OperationalError
from PIL import Image

from apps.generation import services
from apps.generation.models import GenerationJob, JobStatus
from apps.generation.worker import Worker
from apps.sessions_tokens import selectors as token_selectors
from apps.sessions_tokens.models import LedgerEntry
from inference.faces import OpenCVFaceAnalyzer
from inference.portrait.pipeline import PortraitPipeline

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("generous_limits")]


@pytest.fixture
def pipeline(tiny_models):
    return PortraitPipeline(tiny_models, OpenCVFaceAnalyzer(), require_face=False)


def astronaut() -> ContentFile:
    buffer = io.BytesIO()
    Image.fromarray(skimage.data.astronaut()).save(buffer, format="PNG")
    return ContentFile(buffer.getvalue())


def submit(guest, count: int = 1) -> list[GenerationJob]:
    return [services.job_submit(owner=guest, idea="calm", face=astronaut()) for _ in range(count)]


def refunds() -> int:
    return LedgerEntry.objects.filter(reason="refund").count()


def test_a_storage_that_fails_twice_then_works_costs_nothing(guest, pipeline, monkeypatch):
    [job] = submit(guest)
    save, calls = FileSystemStorage._save, []

    def flaky_save(self, name, content):
        if name.startswith("productions/"):
            calls.append(name)
            if len(calls) <= 2:
                raise TimeoutError("storage timed out")
        return save(self, name, content)

    monkeypatch.setattr(FileSystemStorage, "_save", flaky_save)
    Worker(pipeline, worker_id="w1").run_once()
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.attempts == 1 and len(calls) == 3
    assert job.result_image.storage.exists(job.result_image.name) and refunds() == 0


def test_a_batch_out_of_gpu_memory_is_split_and_every_job_painted(guest, tiny_models, monkeypatch):
    jobs = submit(guest, 4)
    batches = []

    class Recording(PortraitPipeline):
        def run(self, requests, **kwargs):
            batches.append(len(requests))
            return super().run(requests, **kwargs)

    def out_of_memory_past_batch_2(module, args):
        if args[0].shape[0] > 4:  # guided: [neg x N, pos x N], so N > 2
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    hook = tiny_models.unet.register_forward_pre_hook(out_of_memory_past_batch_2)
    try:
        pipeline = Recording(tiny_models, OpenCVFaceAnalyzer(), require_face=False)
        assert Worker(pipeline, worker_id="w1", batch_size=4).run_once() == 4
    finally:
        hook.remove()
    assert batches == [4, 2, 2]
    assert all(
        j.status == JobStatus.SUCCEEDED for j in GenerationJob.objects.filter(id__in=[j.id for j in jobs])
    )
    assert refunds() == 0 and token_selectors.balance_of(guest) == 1


def test_a_dropped_connection_while_writing_progress_costs_only_that_snapshot(guest, pipeline, monkeypatch):
    from django.db.models.query import QuerySet

    [job] = submit(guest)
    update, drops = QuerySet.update, []

    def dropping(self, **fields):
        if "progress_step" in fields and fields["progress_step"] > 0 and len(drops) < 2:
            drops.append(fields["progress_step"])
            raise OperationalError("terminating connection due to administrator command")
        return update(self, **fields)

    monkeypatch.setattr(QuerySet, "update", dropping)
    Worker(pipeline, worker_id="w1").run_once()
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and drops == [1, 2] and job.progress_percent == 100.0
    assert job.attempts == 1 and refunds() == 0


def test_a_batch_broken_by_a_fault_of_ours_goes_back_to_the_queue_uncounted(guest, pipeline, monkeypatch):
    jobs = submit(guest, 2)
    run = PortraitPipeline.run

    def database_gone(self, requests, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(PortraitPipeline, "run", database_gone)
    assert Worker(pipeline, worker_id="w1").run_once() == 2
    for job in jobs:
        job.refresh_from_db()
        assert (job.status, job.attempts, job.infra_faults, job.worker_id) == (JobStatus.QUEUED, 0, 1, "")
    assert refunds() == 0 and token_selectors.balance_of(guest) == 3

    monkeypatch.setattr(PortraitPipeline, "run", run)  # the next worker is healthy
    assert Worker(pipeline, worker_id="w2").run_once() == 2
    assert set(GenerationJob.objects.values_list("status", "attempts")) == {(JobStatus.SUCCEEDED, 1)}
    assert refunds() == 0


def test_a_fault_of_the_job_still_fails_it_at_once_with_a_refund(guest, pipeline):
    blank = io.BytesIO()
    Image.new("RGB", (256, 256), (128, 128, 128)).save(blank, format="PNG")
    job = services.job_submit(owner=guest, idea="calm", face=ContentFile(blank.getvalue()))
    Worker(pipeline, worker_id="w1").run_once()
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.attempts == 1 and job.infra_faults == 0
    assert refunds() == 1
