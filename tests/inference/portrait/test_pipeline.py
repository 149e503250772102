import numpy as np
import pytest
import skimage.data
import torch

from inference.faces import Face, OpenCVFaceAnalyzer, keypoints_from_box
from inference.params import GenerationParams
from inference.portrait.pipeline import PortraitPipeline, PortraitRequest

SMALL = GenerationParams(
    width=64, height=64, steps=4, start_merge_step=1, detailing_steps=4, detailing_resolution=64, seed=0
)


class CentredFaceAnalyzer:
    """Test double at the FaceAnalyzer boundary: one face in the middle of any non-blank image.

    The tiny preset paints textures, never faces; this lets the pipeline's success path run end to end.
    """

    def analyze(self, image):
        if image.std() < 1:
            return []  # a blank photo has no face
        h, w = image.shape[:2]
        bbox = (w * 0.3, h * 0.3, w * 0.7, h * 0.7)
        embedding = np.ones(512, dtype=np.float32) * (1 if image.mean() > 60 else -1)
        return [Face(bbox=bbox, score=0.9, keypoints=keypoints_from_box(bbox), embedding=embedding)]


@pytest.fixture(scope="module")
def pipeline(tiny_models):
    return PortraitPipeline(tiny_models, CentredFaceAnalyzer())


def test_a_portrait_with_its_metadata(pipeline):
    photo = skimage.data.astronaut()
    [result] = pipeline.run(
        [
            PortraitRequest(
                "job-1", "portrait of a woman img", "blurry", face_image=photo, params=SMALL.replace(seed=3)
            )
        ]
    )
    assert result.ok and result.image.size == (64, 64)
    assert (result.seed, result.prompt, result.negative_prompt) == (3, "portrait of a woman img", "blurry")
    assert result.params["steps"] == 4 and set(result.timings) == {
        "base_s",
        "detailing_s",
        "batch_size",
        *(f"detailing_{part}" for part in ("faces_s", "encode_s", "prompt_s", "denoise_s", "decode_s")),
        "detailing_steps_run",
    }
    assert result.face_box is not None and result.identity_score is not None


def test_the_detailing_steps_reported_are_the_unet_steps_it_ran(pipeline):
    """detailing_steps_run counts what detailing really did: one progress event per UNet step. With
    10 steps the mask releases its first pixels late enough that some steps are skipped."""
    seen = []
    params = SMALL.replace(detailing_steps=10)
    [result] = pipeline.run(
        [PortraitRequest("job-1", "a portrait", params=params)],
        on_progress=seen.append,
    )
    assert result.ok, result.error
    ran = sum(1 for update in seen if update.progress.stage == "detailing")
    assert result.timings["detailing_steps_run"] == ran < 10


def test_one_bad_request_does_not_fail_the_others(pipeline):
    results = pipeline.run(
        [
            PortraitRequest("ok", "portrait", params=SMALL),
            PortraitRequest(
                "no-face", "portrait", face_image=np.full((128, 128, 3), 128, np.uint8), params=SMALL
            ),
        ]
    )
    assert [r.status for r in results] == ["succeeded", "failed"]
    assert results[1].error_code == "no_face"


def test_requests_share_one_batch_whatever_their_seeds_and_identity_weights(pipeline, tiny_models):
    sizes = []
    handle = tiny_models.unet.register_forward_pre_hook(lambda m, args: sizes.append(args[0].shape[0]))
    try:
        results = pipeline.run(
            [
                PortraitRequest(f"r{i}", "portrait", params=SMALL.replace(seed=i, photomaker_weight=i / 2))
                for i in range(3)
            ]
        )
    finally:
        handle.remove()
    assert all(r.ok for r in results) and [r.seed for r in results] == [0, 1, 2]
    assert [r.timings["batch_size"] for r in results] == [3, 3, 3]
    assert max(sizes) == 6  # three requests, guided: [neg x 3, pos x 3]


def test_requests_that_cannot_share_a_batch_are_refused_not_regrouped(pipeline):
    # Grouping is the job queue's (the claim takes equal batch keys only): the pipeline never regroups.
    with pytest.raises(ValueError, match="batch key"):
        pipeline.run(
            [
                PortraitRequest("a", "portrait", params=SMALL),
                PortraitRequest("b", "portrait", params=SMALL.replace(steps=3)),
            ]
        )


def test_no_face_in_the_portrait_fails_that_request_with_real_face_finding(tiny_models):
    [result] = PortraitPipeline(tiny_models, OpenCVFaceAnalyzer()).run(
        [PortraitRequest("t", "x", params=SMALL)]
    )
    assert result.status == "failed" and result.error_code == "no_face_in_portrait"
    assert "without a recognisable face" in result.error


def test_the_offline_preset_can_keep_faceless_portraits(tiny_models):
    pipeline = PortraitPipeline(tiny_models, OpenCVFaceAnalyzer(), require_face=False)
    [result] = pipeline.run([PortraitRequest("t", "x", params=SMALL)])
    assert result.ok and result.face_box is None and result.notes


def test_progress_reaches_each_request_and_cancel_stops_one(pipeline):
    seen = []
    results = pipeline.run(
        [
            PortraitRequest("keep", "portrait", params=SMALL),
            PortraitRequest("drop", "portrait", params=SMALL),
        ],
        on_progress=seen.append,
        is_cancelled=lambda request_id: request_id == "drop" and len(seen) >= 2,
    )
    assert [r.status for r in results] == ["succeeded", "canceled"]
    stages = {(p.request_id, p.progress.stage) for p in seen}
    assert ("keep", "base") in stages and ("keep", "detailing") in stages
    assert ("drop", "detailing") not in stages
    assert seen[-1].preview(max_side=64)[:2] == b"\xff\xd8"  # a JPEG


def test_identity_flows_from_the_photo_into_stage_one(pipeline, tiny_models):
    from tests.inference.portrait.stages.test_base import UNetSpy

    params = SMALL.replace(start_merge_step=2)
    photo = skimage.data.astronaut()
    with UNetSpy(tiny_models.unet) as spy:
        [result] = pipeline.run(
            [PortraitRequest("id", "portrait of a woman img, oil painting", face_image=photo, params=params)]
        )
    assert result.ok
    base_calls = spy.calls[: params.steps]
    positives = [hidden[-1] for _, hidden in base_calls]  # the positive row is last in [neg, pos] and [pos]
    assert torch.equal(positives[0], positives[2])  # the text-only path up to start_merge_step
    assert not torch.equal(positives[2], positives[3])  # the identity-fused path after it


def test_identity_needs_the_trigger_word(pipeline):
    [result] = pipeline.run(
        [PortraitRequest("t", "portrait of a woman", face_image=skimage.data.astronaut(), params=SMALL)]
    )
    assert result.status == "failed" and result.error_code == "bad_trigger_word" and "img" in result.error


def test_without_identity_the_trigger_word_is_dropped_from_the_text(tiny_models):
    pipeline = PortraitPipeline(
        tiny_models, OpenCVFaceAnalyzer(), require_face=False
    )  # no embeddings offline
    assert (
        pipeline._prompts(PortraitRequest("t", "a man img, suit", params=SMALL), None).text == "a man, suit"
    )


def test_several_photos_of_one_person_feed_the_identity(pipeline):
    photo = skimage.data.astronaut()
    request = PortraitRequest(
        "multi",
        "portrait of a woman img",
        face_image=photo,
        more_face_images=(np.ascontiguousarray(photo[:, ::-1]),),
        params=SMALL,
    )
    faces = [pipeline.analyzer.analyze(p)[0] for p in (request.face_image, *request.more_face_images)]
    prompts = pipeline._prompts(request, faces)
    changed = (
        (prompts.face.embeds - pipeline.identity.text_encoder.encode(["portrait of a woman"]).embeds)
        .abs()
        .amax(dim=-1)
        > 1e-5
    )[0]
    assert changed[4:8].all()  # two photos: the class word four times, all fused
    [result] = pipeline.run([request])
    assert result.ok


def test_cancelling_the_first_request_keeps_progress_with_the_right_requests(pipeline):
    seen = []

    def handler(progress):
        progress.preview(max_side=32)  # must index this request's own latents
        seen.append((progress.request_id, progress.progress.stage, progress.progress.latents.shape[0]))

    requests = [
        PortraitRequest(name, "portrait", params=SMALL.replace(seed=i)) for i, name in enumerate("abc")
    ]
    results = pipeline.run(
        requests, on_progress=handler, is_cancelled=lambda request_id: request_id == "a" and len(seen) >= 3
    )
    assert [r.status for r in results] == ["canceled", "succeeded", "succeeded"]
    after_cancel = seen[3:]
    assert after_cancel and all(name != "a" for name, _, _ in after_cancel)
    assert all(rows == 2 for _, stage, rows in after_cancel if stage == "base")


cancel_now = {"detailing": False}


def test_cancel_during_stage_two_is_honoured(pipeline):
    def handler(progress):
        if progress.progress.stage == "detailing":
            cancel_now["detailing"] = True

    try:
        results = pipeline.run(
            [PortraitRequest("x", "portrait", params=SMALL), PortraitRequest("y", "portrait", params=SMALL)],
            on_progress=handler,
            is_cancelled=lambda request_id: request_id == "y" and cancel_now["detailing"],
        )
    finally:
        cancel_now["detailing"] = False
    assert [r.status for r in results] == ["succeeded", "canceled"]


def test_a_batch_mixing_face_and_faceless_requests_keeps_each_ones_path(pipeline, tiny_models):
    from tests.inference.portrait.stages.test_base import UNetSpy

    params = SMALL.replace(start_merge_step=0)
    with_face = PortraitRequest(
        "face", "portrait of a woman img", face_image=skimage.data.astronaut(), params=params
    )
    without = PortraitRequest("plain", "portrait of a woman img", params=params)
    with UNetSpy(tiny_models.unet) as spy:
        results = pipeline.run([with_face, without])
    assert all(r.ok for r in results)
    text = pipeline.identity.text_encoder.encode(["portrait of a woman"]).embeds[0]
    late = spy.calls[1][1]  # a guided stage-1 step after start_merge_step: [neg, neg, face, plain]
    assert not torch.equal(late[2], text) and torch.equal(late[3], text)
