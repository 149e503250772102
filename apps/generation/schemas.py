"""The shapes of the generations API: what a job looks like to its owner (JobOut, also every webhook's
`data`) and what a client sends. Field by field, so the OpenAPI document types each one."""

from __future__ import annotations

import datetime as dt

from ninja import Field, Schema

from inference.params import GenerationParams


class ProgressOut(Schema):
    stage: str
    step: int
    total: int
    percent: float


class PaintedConceptOut(Schema):
    seed: int = Field(description="Send it back as `concept_seed` (with the same idea) for the same concept.")
    idea: str = Field(description="The sentence the mecene grew from the idea's words.")


class OutcomeOut(Schema):
    """What painting produced: null fields where it did not get that far."""

    identity_score: float | None = Field(
        None, description="Cosine similarity of the face in the photo and in the portrait (1: the same)."
    )
    seconds: float | None = Field(None, description="Painting time, from a worker's claim to the end.")
    stage_seconds: dict[str, float] = Field(description="Seconds per stage: `base`, `detailing`.")
    keywords: list[str] = Field(description="The mecene keywords it was painted with.")
    concept: PaintedConceptOut | None = None


class JobOut(Schema):
    id: str
    status: str
    idea: str
    created_at: dt.datetime
    progress: ProgressOut
    queue_position: int | None = None
    eta_seconds: float | None = None
    result_url: str | None = None
    error: str | None = None
    prompt: str | None = None  # the mecene prompt, once painted
    keywords: list[str]  # the mecene keywords it was painted with (the idea's words until then)
    photos: int  # how many photos of the person it was painted from (1 to 4; 0 once they are deleted)
    wall_consent: bool  # its owner agreed that Narcis may show it on the public PhotoWall
    finished_at: dt.datetime | None = None
    params: GenerationParams | None = Field(
        description="Every parameter it runs with, resolved at submit (defaults filled, seed chosen): "
        "send them back with the same photos, idea and `concept_seed` for the same portrait."
    )
    outcome: OutcomeOut | None = Field(None, description="Once it ended: what painting produced.")


class ConsentIn(Schema):
    consent: bool


class UploadOut(Schema):
    id: str = Field(description="Name it as `face` or in `extra_faces` of a JSON POST /api/generations.")
    expires_at: dt.datetime = Field(description="Unused by then, it is deleted.")
