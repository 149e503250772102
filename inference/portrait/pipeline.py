"""PortraitPipeline: portrait requests in; portraits, metadata and timings out.

    pipeline = build("tiny")                                   # inference.portrait.build
    [result] = pipeline.run([PortraitRequest("job-1", "portrait of a person img, oil painting",
                                             params=GenerationParams(seed=7))])

The requests of one run share one UNet batch, so they must agree on every parameter but the per-request
ones (seed, photomaker_weight): equal `GenerationParams.batch_key()`. Grouping is the caller's: the job
queue's claim takes only jobs with equal keys. A request that fails (no face in its photo or in its
portrait, a prompt the trigger word cannot be placed in) fails alone, with a message a visitor can read;
the others go on.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from inference.faces import FaceAnalyzer, FaceError, largest_face
from inference.identity.conditioner import IdentityConditioner
from inference.identity.trigger import TriggerWordError, text_only
from inference.models.registry import ModelRegistry
from inference.params import GenerationParams
from inference.portrait.images import to_pil
from inference.portrait.progress import Progress
from inference.portrait.stages.base import BaseStage
from inference.portrait.stages.detailing import DetailingStage
from inference.portrait.stages.inputs import StageRequest
from inference.text.encoder import PromptEmbeds, TextEncoder


@dataclass(frozen=True)
class PortraitRequest:
    request_id: str
    prompt: str
    negative_prompt: str = ""
    face_image: np.ndarray | None = None  # the visitor's photo, RGB uint8 [H, W, 3]
    more_face_images: tuple[np.ndarray, ...] = ()  # further photos of the same person, for identity only
    params: GenerationParams = field(default_factory=lambda: GenerationParams(seed=0))

    def __post_init__(self):
        if self.params.seed is None:
            raise ValueError(f"request {self.request_id}: resolve the seed before painting (params.seed)")

    @property
    def seed(self) -> int:
        return self.params.seed


@dataclass
class PortraitResult:
    request_id: str
    status: str  # "succeeded", "failed" or "canceled"
    seed: int
    prompt: str
    negative_prompt: str
    params: dict
    image: Image.Image | None = None
    timings: dict[str, float] = field(default_factory=dict)
    face_box: tuple[int, int, int, int] | None = None
    identity_score: float | None = None  # cosine of input and output face embeddings, when recognisable
    error: str | None = None  # for the visitor
    error_code: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"

    @classmethod
    def for_request(cls, request: PortraitRequest, status: str = "failed") -> PortraitResult:
        return cls(
            request.request_id,
            status,
            request.seed,
            request.prompt,
            request.negative_prompt,
            request.params.model_dump(),
        )


@dataclass(frozen=True)
class RequestPrompts:
    text: str  # the prompt without the trigger word
    face: PromptEmbeds | None  # [1, 77, D] identity-fused, when identity applies


@dataclass(frozen=True)
class RequestProgress:
    request_id: str
    progress: Progress
    position: int  # this request's row in progress.latents

    def preview(self, *, max_side: int = 256) -> bytes:
        return self.progress.preview(self.position, max_side=max_side)


ProgressHandler = Callable[[RequestProgress], None]
CancelCheck = Callable[[str], bool]


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12))


class PortraitPipeline:
    def __init__(self, models: ModelRegistry, analyzer: FaceAnalyzer, *, require_face: bool = True):
        """require_face=False keeps a portrait whose face cannot be found, undetailed (the tiny preset's
        textures never hold a face; production wants a face or a refund)."""
        self.models = models
        self.analyzer = analyzer
        self.require_face = require_face
        self.identity = (
            IdentityConditioner(TextEncoder(models), models.id_encoder) if models.id_encoder else None
        )
        self.base = BaseStage(models)
        self.detailing = DetailingStage(models, analyzer)

    def run(
        self,
        requests: list[PortraitRequest],
        *,
        on_progress: ProgressHandler | None = None,
        is_cancelled: CancelCheck | None = None,
    ) -> list[PortraitResult]:
        """One result per request, in request order. All must share one batch key (see the module)."""
        if len({r.params.batch_key() for r in requests}) > 1:
            raise ValueError("the requests of one run must share a batch key (GenerationParams.batch_key)")
        results = {r.request_id: PortraitResult.for_request(r) for r in requests}
        input_faces, prompts, ready = {}, {}, []
        for request in requests:
            try:
                if request.face_image is not None:
                    input_faces[request.request_id] = [
                        largest_face(self.analyzer, photo)
                        for photo in (request.face_image, *request.more_face_images)
                    ]
                prompts[request.request_id] = self._prompts(request, input_faces.get(request.request_id))
            except (FaceError, TriggerWordError) as error:
                self._fail(results[request.request_id], error)
                continue
            ready.append(request)
        if ready:
            self._run_batch(ready, results, input_faces, prompts, on_progress, is_cancelled)
        return [results[r.request_id] for r in requests]

    @staticmethod
    def _fail(result: PortraitResult, error: FaceError | TriggerWordError) -> None:
        result.status, result.error, result.error_code = "failed", error.message, error.code

    def _prompts(self, request: PortraitRequest, faces) -> RequestPrompts:
        """The text-only prompt, and the identity-fused one when there is a face to fuse.

        The face path needs the PhotoMaker encoder and an identity embedding (insightface); without
        them the portrait follows the text alone and the trigger word is simply dropped.
        """
        if self.identity is None or not faces or any(face.embedding is None for face in faces):
            return RequestPrompts(text_only(request.prompt), None)
        photos = [request.face_image, *request.more_face_images]
        embeddings = np.stack([face.embedding for face in faces])
        fused = self.identity.face_embeds(
            request.prompt, photos, embeddings, weight=request.params.photomaker_weight
        )
        return RequestPrompts(text_only(request.prompt), fused)

    def _run_batch(self, group, results, input_faces, prompts, on_progress, is_cancelled) -> None:
        params = group[0].params
        ids = [r.request_id for r in group]
        cancelled = (lambda row: is_cancelled(ids[row])) if is_cancelled else (lambda row: False)

        def reporter(to_group_row: list[int]):
            """Progress rows index the stage's inputs; map each to its request."""

            def report(progress: Progress) -> None:
                if on_progress is not None:
                    for position, row in enumerate(progress.rows):
                        on_progress(RequestProgress(ids[to_group_row[row]], progress, position))

            return report

        started = time.perf_counter()
        base = self.base.run(
            [
                StageRequest(
                    prompts[r.request_id].text,
                    r.negative_prompt,
                    seed=r.seed,
                    face=prompts[r.request_id].face,
                )
                for r in group
            ],
            params,
            on_progress=reporter(list(range(len(group)))),
            is_cancelled=cancelled if is_cancelled else None,
        )
        base_s = time.perf_counter() - started
        survivors = [row for row in base.rows if not cancelled(row)]
        if survivors:
            started = time.perf_counter()
            detail = self.detailing.run(
                base.images[[base.rows.index(row) for row in survivors]],
                [
                    StageRequest(
                        prompts[ids[row]].text,
                        group[row].negative_prompt,
                        seed=group[row].seed,
                        face=prompts[ids[row]].face,
                    )
                    for row in survivors
                ],
                params,
                on_progress=reporter(survivors),
            )
            detailing_s = time.perf_counter() - started
            images = to_pil(detail.images)
        for row in range(len(group)):
            result = results[ids[row]]
            if row not in survivors or cancelled(row):  # cancelled in stage 1, or while detailing
                result.status = "canceled"
                continue
            position = survivors.index(row)
            result.timings = {
                "base_s": base_s,
                "detailing_s": detailing_s,
                "batch_size": len(group),
                **{f"detailing_{key}": value for key, value in detail.timings.items()},
            }
            if position in detail.errors:
                if self.require_face:
                    result.error_code = "no_face_in_portrait"
                    result.error = (
                        "The portrait came out without a recognisable face, so it was not finished. "
                        "Please try again, perhaps with another photo."
                    )
                    continue
                result.notes.append("no face found in the portrait: detailing skipped")
            result.status, result.image, result.face_box = (
                "succeeded",
                images[position],
                detail.boxes[position],
            )
            sources = input_faces.get(ids[row]) or [None]
            result.identity_score = self._identity_score(sources[0], images[position])

    def _identity_score(self, source, portrait: Image.Image) -> float | None:
        """Cosine between the sitter's embedding and the finished portrait's face (after detailing)."""
        if source is None or source.embedding is None:
            return None
        try:
            face = largest_face(self.analyzer, np.asarray(portrait))
        except FaceError:
            return None
        return None if face.embedding is None else cosine(source.embedding, face.embedding)
