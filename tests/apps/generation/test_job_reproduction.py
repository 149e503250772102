"""A job says what it ran (issue 33, item 2): GET /api/generations/{id} returns its resolved parameters,
seed included, and its outcome; its webhooks carry the same object; and sending those parameters back with
the same photo, idea and concept paints the same portrait, pixel for pixel, on the tiny preset."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from apps.generation.models import GenerationJob, JobStatus, WebhookDelivery
from apps.generation.worker import Worker
from apps.sessions_tokens import services as tokens
from inference.faces import OpenCVFaceAnalyzer
from inference.params import GenerationParams
from inference.portrait.pipeline import PortraitPipeline
from tests.apps.generation.test_api import ASTRONAUT

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("generous_limits")]
IDEA = "corporate confidence"


@pytest.fixture(scope="module")
def pipeline(tiny_models):
    return PortraitPipeline(tiny_models, OpenCVFaceAnalyzer(), require_face=False)


@pytest.fixture
def staff(staff_user):
    tokens.grant(owner=staff_user, amount=5, actor=staff_user, reason="reproduction")
    client = Client()
    client.force_login(staff_user)
    return client


def submit(client, **fields) -> dict:
    face = SimpleUploadedFile("me.jpg", ASTRONAUT, content_type="image/jpeg")
    response = client.post("/api/generations", {"idea": IDEA, "face": face, **fields})
    assert response.status_code == 201, response.content
    return response.json()


def paint(pipeline, client, job_id: str) -> tuple[dict, np.ndarray]:
    assert Worker(pipeline, worker_id="w1", batch_size=1).run_once() == 1
    shown = client.get(f"/api/generations/{job_id}").json()
    assert shown["status"] == JobStatus.SUCCEEDED, shown
    with GenerationJob.objects.get(pk=job_id).result_image.open("rb") as handle:
        return shown, np.asarray(Image.open(io.BytesIO(handle.read())).convert("RGB"))


def test_a_jobs_params_and_concept_sent_back_paint_the_same_portrait(pipeline, staff):
    first = submit(staff)
    assert first["outcome"] is None  # nothing painted yet; its parameters are fixed already
    GenerationParams.model_validate(first["params"])  # every field, resolved
    assert first["params"]["seed"] is not None
    GenerationJob.objects.filter(pk=first["id"]).update(webhook_url="https://hooks.example/narcis")
    shown, pixels = paint(pipeline, staff, first["id"])

    assert shown["params"] == first["params"]
    outcome = shown["outcome"]
    assert set(outcome["stage_seconds"]) == {"base", "detailing"}
    assert all(seconds > 0 for seconds in outcome["stage_seconds"].values()) and outcome["seconds"] > 0
    assert outcome["keywords"] == shown["keywords"] and len(outcome["keywords"]) >= 10
    assert outcome["concept"]["seed"] == first["params"]["seed"] and outcome["concept"]["idea"]
    assert "identity_score" in outcome
    succeeded = WebhookDelivery.objects.get(job_id=first["id"], event="generation.succeeded")
    assert succeeded.payload["data"]["params"] == shown["params"]
    assert succeeded.payload["data"]["outcome"] == outcome

    again = submit(
        staff, params=json.dumps(shown["params"]), concept_seed=str(outcome["concept"]["seed"])
    )
    assert again["params"] == shown["params"]
    _, same = paint(pipeline, staff, again["id"])
    assert np.array_equal(same, pixels)

    reseeded = {**shown["params"], "seed": shown["params"]["seed"] + 1}
    other = submit(staff, params=json.dumps(reseeded), concept_seed=str(outcome["concept"]["seed"]))
    _, different = paint(pipeline, staff, other["id"])
    assert not np.array_equal(different, pixels)  # the seed is what the equality above rests on


def test_a_stranger_never_sees_a_jobs_params_or_outcome(staff, make_user):
    job = submit(staff)
    stranger = Client()
    stranger.force_login(make_user())
    response = stranger.get(f"/api/generations/{job['id']}")
    assert response.status_code == 404 and "params" not in response.json()
    assert Client().get(f"/api/generations/{job['id']}").status_code == 404
