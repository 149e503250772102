"""The worker end to end on the tiny preset: queue -> pipeline -> storage -> events."""

import io
import uuid

import numpy as np
import pytest
import skimage.data
from channels.layers import get_channel_layer
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.core.files.base import ContentFile
from PIL import Image

from apps.generation import services
from apps.generation.models import GenerationJob, JobStatus
from apps.generation.progress import group_name
from apps.generation.worker import Worker
from apps.sessions_tokens import selectors as token_selectors
from apps.sessions_tokens.models import LedgerEntry
from inference.faces import OpenCVFaceAnalyzer
from inference.params import GenerationParams, Role
from inference.portrait.pipeline import PortraitPipeline, PortraitRequest

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("generous_limits")]


@pytest.fixture(scope="module")
def pipeline(tiny_models):
    return PortraitPipeline(tiny_models, OpenCVFaceAnalyzer(), require_face=False)


def png(array: np.ndarray) -> ContentFile:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return ContentFile(buffer.getvalue())


class Listener:
    """A websocket's view of a job's group, on an event loop of its own that lives until `drain()`: the
    pub/sub layer keeps subscriptions per event loop, so the subscription must outlive the worker's run."""

    def __init__(self, job_id):
        import asyncio
        import threading

        self.layer, self.loop = get_channel_layer(), asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.channel = self._on_loop(self._subscribe(group_name(job_id)))

    def _on_loop(self, coroutine):
        import asyncio

        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(30)

    async def _subscribe(self, group: str) -> str:
        channel = await self.layer.new_channel()
        await self.layer.group_add(group, channel)
        return channel

    async def _read_all(self) -> list[dict]:
        import asyncio

        events = []
        while True:
            try:
                message = await asyncio.wait_for(self.layer.receive(self.channel), timeout=0.5)
            except TimeoutError:
                return events
            events.append(message["event"])

    def drain(self) -> list[dict]:
        """Every event received so far; then the listener stops."""
        try:
            return self._on_loop(self._read_all())
        finally:
            if isinstance(self.layer, RedisPubSubChannelLayer):
                self._on_loop(self.layer.flush())  # this loop's Redis connection, closed on its loop
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)


def test_a_job_is_painted_stored_and_announced(guest, pipeline):
    job = services.job_submit(owner=guest, idea="corporate confidence", face=png(skimage.data.astronaut()))
    listener = Listener(job.id)
    assert Worker(pipeline, worker_id="w1").run_once() == 1
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    concept = job.metadata["mecene"]
    assert job.prompt == ", ".join(["portrait of a person img", "corporate confidence", *concept["chosen"]])
    assert concept["engine"] == "offline" and 10 <= len(concept["chosen"]) <= 15 and concept["idea"]
    assert (len(concept["chosen"]) < 15) == bool(concept["notes"])  # the metadata says why fewer
    with job.result_image.open("rb") as handle:
        assert Image.open(handle).size == (64, 64)
    assert job.progress_percent == 100.0 and job.progress_stage in ("base", "detailing")
    assert token_selectors.balance_of(guest) == 4 and LedgerEntry.objects.filter(reason="spend").count() == 1
    events = listener.drain()
    kinds = [e["event"] for e in events]
    assert kinds[:2] == ["started", "concept"] and kinds[-1] == "succeeded"
    assert set(kinds[2:-1]) == {"progress"} and events[1]["keywords"] == concept["chosen"]
    assert events[2]["preview"].startswith("data:image/jpeg;base64,")
    assert [e["step"] for e in events if e.get("stage") == "base"] == [1, 2, 3]


def test_a_photo_without_a_face_fails_the_job_and_refunds(guest, pipeline):
    blank = np.full((256, 256, 3), 128, np.uint8)
    job = services.job_submit(owner=guest, idea="calm", face=png(blank))
    listener = Listener(job.id)
    Worker(pipeline, worker_id="w1").run_once()
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "could not find a face" in job.error_message
    assert token_selectors.balance_of(guest) == 5
    assert listener.drain()[-1] == {"event": "failed", "message": job.error_message}


def test_an_empty_queue_is_a_quiet_round(pipeline):
    assert Worker(pipeline, worker_id="w1").run_once() == 0
    assert GenerationJob.objects.count() == 0


def test_a_batch_that_breaks_fails_its_jobs_with_a_refund(guest, pipeline):
    job = services.job_submit(owner=guest, idea="calm", face=png(skimage.data.astronaut()))
    job.face_image.storage.delete(job.face_image.name)  # the photo vanished from storage
    Worker(pipeline, worker_id="w1").run_once()
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.error_message == "Something went wrong while painting. Your token has been returned."
    assert "FileNotFoundError" in job.error_detail and token_selectors.balance_of(guest) == 5


def test_a_running_job_canceled_by_its_owner_stops_refunds_and_says_so(guest, pipeline, monkeypatch):
    from apps.generation import progress

    monkeypatch.setattr(progress, "CANCEL_CHECK_INTERVAL_S", 0.0)
    job = services.job_submit(
        owner=guest, idea="calm", face=png(skimage.data.astronaut()), params={"steps": 12}, role=Role.OPERATOR
    )
    listener = Listener(job.id)
    report = progress.Reporter.report

    def owner_cancels_at_step_2(self, running_job, update):  # the owner's click lands mid-run
        report(self, running_job, update)
        if update.progress.step == 2:
            assert services.job_cancel(job=running_job) == JobStatus.RUNNING

    monkeypatch.setattr(progress.Reporter, "report", owner_cancels_at_step_2)
    Worker(pipeline, worker_id="w1").run_once()

    job.refresh_from_db()
    assert job.status == JobStatus.CANCELED and not job.result_image
    assert token_selectors.balance_of(guest) == 5
    assert LedgerEntry.objects.filter(reference=f"generation:{job.id}", reason="refund").count() == 1
    events = listener.drain()
    steps = [e["step"] for e in events if e["event"] == "progress"]
    assert events[-1] == {"event": "canceled"} and max(steps) < 12  # stopped well before the end


def test_waiting_jobs_hear_their_new_place_when_the_queue_moves(guest, pipeline):
    first, second, third = (
        services.job_submit(owner=guest, idea="calm", face=png(skimage.data.astronaut())) for _ in range(3)
    )
    listener = Listener(third.id)
    Worker(pipeline, worker_id="w1", batch_size=1).run_once()  # takes the first
    assert {"event": "queued", "position": 1} in listener.drain()  # only the second is ahead now


def test_the_concept_the_visitor_previewed_is_the_one_painted(guest, pipeline):
    from inference.mecene.agent import Mecene

    previewed = Mecene().run("ethereal beauty", seed=1234)
    job = services.job_submit(
        owner=guest,
        idea="ethereal beauty",
        face=png(skimage.data.astronaut()),
        concept_seed=1234,
    )
    Worker(pipeline, worker_id="w1").run_once()
    job.refresh_from_db()
    assert job.prompt == previewed.prompt and job.metadata["mecene"]["idea"] == previewed.idea


def test_a_lost_event_never_costs_the_job(guest, pipeline, monkeypatch):
    from apps.generation import progress

    class BrokenLayer:
        async def group_send(self, group, message):
            raise ConnectionError("redis is down")

    monkeypatch.setattr(progress, "get_channel_layer", lambda: BrokenLayer())
    job = services.job_submit(owner=guest, idea="calm", face=png(skimage.data.astronaut()))
    Worker(pipeline, worker_id="w1").run_once()
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED


def test_the_worker_loop_survives_a_failed_round(pipeline, monkeypatch):
    worker = Worker(pipeline, worker_id="w1")
    rounds = []

    def flaky_round():
        rounds.append(1)
        if len(rounds) == 1:
            raise RuntimeError("database went away")
        worker.stopping.set()
        return 0

    monkeypatch.setattr(worker, "run_once", flaky_round)
    worker.run_forever(idle_sleep=0.01)
    assert len(rounds) == 2


def test_claimed_jobs_are_painted_as_one_batch(guest, tiny_models):
    batches = []

    class CountingPipeline(PortraitPipeline):
        def run(self, requests, **kwargs):
            batches.append(len(requests))
            return super().run(requests, **kwargs)

    for _ in range(3):
        services.job_submit(owner=guest, idea="calm", face=png(skimage.data.astronaut()))
    pipeline = CountingPipeline(tiny_models, OpenCVFaceAnalyzer(), require_face=False)
    assert Worker(pipeline, worker_id="w1", batch_size=3).run_once() == 3
    assert batches == [3]  # one claim, one pipeline run: the claim is the only grouping
    assert GenerationJob.objects.filter(status=JobStatus.SUCCEEDED).count() == 3


class RecordingPipeline(PortraitPipeline):
    """The real pipeline, noting the parameters of every request it paints."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.painted = []

    def run(self, requests, **kwargs):
        self.painted += [request.params for request in requests]
        return super().run(requests, **kwargs)


def test_a_pinned_seed_is_the_seed_painted(staff_user, tiny_models):
    from apps.sessions_tokens import services as tokens

    tokens.grant(owner=staff_user, amount=1, actor=staff_user, reason="seed test")
    job = services.job_submit(
        owner=staff_user,
        idea="calm",
        face=png(skimage.data.astronaut()),
        params={"seed": 42},
        role=Role.STAFF,
    )
    assert job.params["seed"] == 42
    pipeline = RecordingPipeline(tiny_models, OpenCVFaceAnalyzer(), require_face=False)
    Worker(pipeline, worker_id="w1").run_once()
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and pipeline.painted[0].seed == 42
    assert job.metadata["seed"] == 42 and job.metadata["params"] == job.params


def test_a_queued_job_runs_with_what_its_row_says_whatever_the_defaults_become(
    guest, tiny_models, monkeypatch
):
    from inference.models import presets

    job = services.job_submit(owner=guest, idea="calm", face=png(skimage.data.astronaut()))
    stored = dict(job.params)
    assert set(stored) == set(GenerationParams.model_fields) and stored["seed"] is not None
    monkeypatch.setattr(presets, "TINY_DEFAULTS", presets.TINY_DEFAULTS.replace(steps=5, guidance_scale=9.0))
    pipeline = RecordingPipeline(tiny_models, OpenCVFaceAnalyzer(), require_face=False)
    Worker(pipeline, worker_id="w1").run_once()
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert pipeline.painted[0].model_dump() == stored == job.params  # steps 3, guidance 5: the row's


def test_a_row_queued_before_the_catalogue_is_upgraded_once_and_runs_as_it_did(guest, tiny_models):
    """Migration 0010 resolves such rows as the worker used to read them; the worker then reads every
    row as stored, and one the migration could not resolve fails alone, never painted with guesses."""
    import importlib

    from django.apps import apps as django_apps

    upgrade = importlib.import_module("apps.generation.migrations.0010_resolve_legacy_params")
    job, unresolved, seedless = (
        services.job_submit(owner=guest, idea="calm", face=png(skimage.data.astronaut())) for _ in range(3)
    )
    legacy = {"steps": 4}  # what the API stored then: only the fields staff set, no seed
    GenerationJob.objects.filter(id=job.id).update(params=legacy, batch_key="legacy")
    GenerationJob.objects.filter(id=seedless.id).update(params={**seedless.params, "seed": None})
    upgrade.resolve_legacy_params(django_apps, None)
    job.refresh_from_db(), seedless.refresh_from_db()
    assert set(job.params) == set(GenerationParams.model_fields) and job.batch_key != "legacy"
    assert seedless.params["seed"] == uuid.UUID(str(seedless.id)).int % 2**31  # every key, but no seed
    GenerationJob.objects.filter(id=seedless.id).update(status=JobStatus.CANCELED)  # not this test's
    GenerationJob.objects.filter(id=unresolved.id).update(params=legacy)  # after the upgrade: not resolved
    pipeline = RecordingPipeline(tiny_models, OpenCVFaceAnalyzer(), require_face=False)
    worker = Worker(pipeline, worker_id="w1")
    while worker.run_once():  # their batch keys differ now: two rounds
        pass
    job.refresh_from_db(), unresolved.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    painted = pipeline.painted[0]
    assert painted.steps == 4 and painted.width == 64  # the row's field over the models' defaults
    assert painted.seed == uuid.UUID(str(job.id)).int % 2**31  # the seed the worker gave such jobs
    assert unresolved.status == JobStatus.FAILED and "resolved parameters" in unresolved.error_detail


def test_a_row_whose_params_are_not_complete_fails_alone_with_a_refund(guest, tiny_models):
    """The row was validated once, at submit: the worker checks it is complete (every field, a seed), not
    its values again. A row missing one fails alone, refunded; the others of its batch paint."""
    bad, no_seed, good = (
        services.job_submit(owner=guest, idea="calm", face=png(skimage.data.astronaut())) for _ in range(3)
    )
    incomplete = {name: value for name, value in bad.params.items() if name != "steps"}
    GenerationJob.objects.filter(id=bad.id).update(params=incomplete)
    GenerationJob.objects.filter(id=no_seed.id).update(params={**no_seed.params, "seed": None})
    pipeline = RecordingPipeline(tiny_models, OpenCVFaceAnalyzer(), require_face=False)
    assert Worker(pipeline, worker_id="w1").run_once() == 3
    bad.refresh_from_db(), no_seed.refresh_from_db(), good.refresh_from_db()
    assert bad.status == JobStatus.FAILED and "steps is missing" in bad.error_detail
    assert no_seed.status == JobStatus.FAILED and "seed is missing" in no_seed.error_detail
    assert good.status == JobStatus.SUCCEEDED and token_selectors.balance_of(guest) == 4


@pytest.mark.parametrize(
    "params",
    [
        None,
        {"steps": 3, "guidance_scale": 6},  # an int for a float: stored as the float parse made of it
        {"guidance_scale": 7.5, "adaptive_guidance": False, "seed": 42, "photomaker_weight": 0},
        GenerationParams(steps=4, width=72, height=64, start_merge_step=4, seed=0),
    ],
)
def test_the_worker_reads_a_stored_row_as_parse_would_without_validating_it(guest, params, monkeypatch):
    from apps.generation.job_params import params_of

    job = services.job_submit(
        owner=guest, idea="calm", face=png(skimage.data.astronaut()), params=params, role=Role.STAFF
    )
    job.refresh_from_db()  # the row as the database gives it back (JSON)
    validations = []
    original = GenerationParams.model_validate.__func__
    monkeypatch.setattr(
        GenerationParams,
        "model_validate",
        classmethod(lambda cls, *a, **k: validations.append(a) or original(cls, *a, **k)),
    )
    read = params_of(job)
    assert validations == []
    assert read == GenerationParams.parse(job.params) and read.model_dump() == job.params
    assert read.batch_key() == job.batch_key and isinstance(read.guidance_scale, float)


def test_a_job_failed_by_the_reaper_is_announced(guest, pipeline):
    import datetime as dt

    from django.utils import timezone

    job = services.job_submit(owner=guest, idea="calm", face=png(skimage.data.astronaut()))
    GenerationJob.objects.filter(id=job.id).update(
        status=JobStatus.RUNNING,
        attempts=5,
        progress_step=2,  # its fifth worker had begun painting when it died
        lease_expires_at=timezone.now() - dt.timedelta(seconds=5),
    )
    listener = Listener(job.id)
    Worker(pipeline, worker_id="w1").run_once()
    (event,) = listener.drain()
    assert event["event"] == "failed" and "interrupted" in event["message"]
    assert token_selectors.balance_of(guest) == 5


def test_the_batch_size_comes_from_the_setting_else_the_device(settings):
    from apps.generation.worker import worker_from_settings

    settings.NARCIS_MODELS_DIR = ""
    settings.NARCIS_WORKER_BATCH = 3
    assert worker_from_settings().batch_size == 3
    settings.NARCIS_WORKER_BATCH = 0
    assert worker_from_settings().batch_size == 4  # the tiny preset on the CPU
    assert worker_from_settings(batch_size=2).batch_size == 2  # run_worker --batch


def test_the_precision_and_fast_path_settings_reach_the_worker_or_stop_it_with_a_clear_error(
    settings, monkeypatch
):
    import torch
    from django.core.management import CommandError, call_command

    from apps.generation.worker import worker_from_settings

    settings.NARCIS_MODELS_DIR = ""
    settings.NARCIS_DTYPE, settings.NARCIS_FAST_PATH = "bf16", "channels-last"
    pipeline = worker_from_settings().pipeline
    models = pipeline.models
    assert models.dtype == models.unet.dtype == torch.bfloat16 and models.fast.channels_last
    small = GenerationParams(
        width=64, height=64, steps=3, start_merge_step=1, detailing_steps=3, detailing_resolution=64, seed=1
    )
    [portrait] = pipeline.run([PortraitRequest("bf16", "a portrait", params=small)])
    assert portrait.status == "succeeded" and portrait.image.size == (64, 64)
    for dtype, fast, message in (
        ("fp16", "off", "fp16 is not supported on the CPU"),
        ("fp64", "off", "unknown dtype 'fp64'"),
        (None, "compile,turbo", "unknown fast-path option 'turbo'"),
    ):
        settings.NARCIS_DTYPE, settings.NARCIS_FAST_PATH = dtype, fast
        with pytest.raises(CommandError, match=f"^cannot start the worker: {message}"):
            call_command("run_worker")
    settings.NARCIS_DTYPE, settings.NARCIS_FAST_PATH = None, "off"
    with monkeypatch.context() as patched:
        patched.setenv("NARCIS_TORCH_THREADS", "two")
        with pytest.raises(
            CommandError, match="^cannot start the worker: NARCIS_TORCH_THREADS must be a whole"
        ):
            call_command("run_worker")


@pytest.mark.compiles
def test_a_compiled_worker_warms_up_before_its_first_claim_and_its_jobs_compile_nothing(
    guest, tiny_models, monkeypatch
):
    """The fast path's graphs are compiled before the worker claims anything; painting the first job
    then compiles nothing more: no visitor waits for the compiler.

    Which graphs exist and when they are traced is TorchDynamo's decision, whatever backend turns them
    into code, so dynamo hands them to its "eager" backend here: inductor's code for these graphs and
    the guards it adds are tested in tests/inference/models/test_fast_path.py (two graphs serve batches
    one to four), and compiling them cold again here cost CI minutes."""
    import functools

    import torch
    from torch._dynamo.utils import counters

    from apps.generation import job_params
    from inference.models.fast import FastPath, prepare

    # Visitors paint 64 px here, stage 1 and detailing.
    small = {"width": 64, "height": 64, "detailing_resolution": 64, "steps": 4, "start_merge_step": 1}
    monkeypatch.setattr(job_params, "_visitor_defaults_provider", lambda: small)
    monkeypatch.setattr(torch, "compile", functools.partial(torch.compile, backend="eager"))
    torch._dynamo.reset()
    models = prepare(tiny_models, FastPath(compile=True), copy=True)
    worker = Worker(PortraitPipeline(models, OpenCVFaceAnalyzer(), require_face=False), batch_size=2)
    job = services.job_submit(owner=guest, idea="calm", face=png(skimage.data.astronaut()))
    start, seen = counters["stats"]["unique_graphs"], []
    claim, paint_once = services.jobs_claim, worker.run_once

    def claim_and_count(**kwargs):
        seen.append(("claim", counters["stats"]["unique_graphs"] - start))
        return claim(**kwargs)

    def one_round():
        painted = paint_once()
        seen.append(("painted", painted, counters["stats"]["unique_graphs"] - start))
        worker.stopping.set()
        return painted

    monkeypatch.setattr(services, "jobs_claim", claim_and_count)
    monkeypatch.setattr(worker, "run_once", one_round)
    worker.run_forever(idle_sleep=0.01)
    # Stage 1's two graphs and detailing's before the claim; none after it.
    [(first, warmed), painted] = seen
    assert first == "claim" and warmed >= 2 and painted == ("painted", 1, warmed)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.params["width"] == 64
