"""The parameter catalogue: every generation parameter once, with its type, default, bounds, help and who
may set it. The API's schema, the operators' /set and the CLI's flags all derive from `GenerationParams`.

    params = GenerationParams.parse({"steps": 20, "guidance_scale": 6}, defaults=TINY_DEFAULTS)
    params.batch_key()          # equal keys can share every UNet call of a batch

Types are strict: 30.5 steps, "7" as a number or "yes" as a boolean are refused, each with a message
that names the field (ParamError). A resolved parameter set (`seed` chosen) says exactly what runs.
"""

from __future__ import annotations

import hashlib
import json
from enum import StrEnum
from functools import cache
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
)

MAX_SEED = 2**31 - 1
LATENT_FACTOR = 8  # SDXL's VAE (and the tiny preset's) downsamples by 8: sides must divide by it


class Role(StrEnum):
    """Who asks for a generation. Visitors set no parameter today; staff and operators set them all."""

    VISITOR = "visitor"
    STAFF = "staff"
    OPERATOR = "operator"


TRUSTED = (Role.STAFF, Role.OPERATOR)


class ParamError(ValueError):
    code = "invalid_params"

    def __init__(self, field_name: str, problem: str):
        self.field = field_name
        self.message = f"{field_name} {problem}"
        super().__init__(self.message)


def _param(
    default: Any,
    help: str,
    *,
    settable_by: tuple[Role, ...] = TRUSTED,
    per_request: bool = False,
    **bounds: Any,
) -> Any:
    """A catalogue entry. `per_request` entries may differ between the requests of one UNet batch."""
    extra = {"x-settable-by": [role.value for role in settable_by], "x-per-request": per_request}
    return Field(default, description=help, json_schema_extra=extra, **bounds)


class GenerationParams(BaseModel):
    """Every parameter of one portrait. Validated when built; immutable."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, title="GenerationParams")

    width: int = _param(1024, "Portrait width in pixels.", ge=64, le=2048, multiple_of=LATENT_FACTOR)
    height: int = _param(1024, "Portrait height in pixels.", ge=64, le=2048, multiple_of=LATENT_FACTOR)
    steps: int = _param(30, "Denoising steps of stage 1 (AYS schedule).", ge=1, le=150)
    guidance_scale: float = _param(
        5.0, "Classifier-free guidance: how closely the portrait follows its prompt.", ge=1, le=30
    )
    adaptive_guidance: bool = _param(
        True, "Run the last unguided_fraction of steps without guidance (faster, same look)."
    )
    unguided_fraction: float = _param(
        0.2, "Share of final steps run unguided when adaptive_guidance is on.", ge=0, le=1
    )
    start_merge_step: int = _param(
        10, "Last step on the text prompt alone; identity (PhotoMaker) joins after it.", ge=0, le=150
    )
    photomaker_weight: float = _param(
        1.0,
        "Identity strength: 0 none, 1 as PhotoMaker was trained, 2 insistent.",
        ge=0,
        le=2,
        per_request=True,
    )
    detailing_steps: int = _param(20, "Denoising steps of stage 2, the face detailing.", ge=1, le=150)
    detailing_strength: float = _param(
        0.5, "How much of the face may change: it repaints during this share of the last steps.", ge=0, le=1
    )
    detailing_resolution: int = _param(
        1024, "Side of the magnified face crop, in pixels.", ge=64, le=2048, multiple_of=LATENT_FACTOR
    )
    detailing_padding: float = _param(
        0.35, "Margin around the face box on each side, as a share of its size.", ge=0, le=1
    )
    seed: int | None = _param(
        None, "Noise seed. Chosen for each job when not pinned.", ge=0, le=MAX_SEED, per_request=True
    )

    @field_validator("start_merge_step")
    @classmethod
    def _merge_within_steps(cls, value: int, info: ValidationInfo) -> int:
        steps = info.data.get("steps")
        if steps is not None and value > steps:
            raise ValueError(f"must not exceed steps ({steps}); lower start_merge_step or raise steps")
        return value

    @classmethod
    def parse(cls, data: dict, *, defaults: GenerationParams | None = None) -> GenerationParams:
        """`data` over `defaults` (the catalogue's when None), validated; ParamError names the field."""
        if not isinstance(data, dict):
            raise ParamError("params", "must be an object of parameter names and values")
        base = defaults.model_dump() if defaults is not None else {}
        try:
            return cls.model_validate({**base, **data})
        except ValidationError as error:
            raise _first_problem(error, data) from None

    def replace(self, **changes: Any) -> GenerationParams:
        """A copy with some fields changed, validated again (pydantic's model_copy would not validate)."""
        return GenerationParams.parse(changes, defaults=self)

    def shared(self) -> dict:
        """The fields every request of one UNet batch must agree on."""
        return {name: value for name, value in self.model_dump().items() if not SPECS[name].per_request}

    def batch_key(self) -> str:
        """Equal keys can share every UNet call (what differs between them is per request)."""
        return hashlib.sha1(json.dumps(self.shared(), sort_keys=True).encode()).hexdigest()[:16]


_PROBLEMS = {
    "int_type": "must be a whole number",
    "float_type": "must be a number",
    "bool_type": "must be true or false",
    "greater_than_equal": "must be at least {ge}",
    "less_than_equal": "must be at most {le}",
    "multiple_of": "must be a multiple of {multiple_of}",
}


def check_value(name: str, value: Any) -> None:
    """One known parameter's value alone, by the catalogue's type and bounds (the rules between fields,
    start_merge_step within steps, are the whole set's: GenerationParams.parse); ParamError otherwise.
    No GenerationParams is built: a front-end refuses a bad value early without validating a set."""
    try:
        _field_adapter(name).validate_python(value, strict=True)
    except ValidationError as error:
        raise _first_problem(error, {name: value}, name=name) from None


@cache
def _field_adapter(name: str) -> TypeAdapter:
    info = GenerationParams.model_fields[name]
    return TypeAdapter(Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation)


def _first_problem(error: ValidationError, data: dict, *, name: str | None = None) -> ParamError:
    problem = error.errors(include_url=False)[0]
    name = name or (str(problem["loc"][0]) if problem["loc"] else "params")
    if problem["type"] == "extra_forbidden":
        return ParamError(name, f"is not a known parameter (known: {', '.join(SPECS)})")
    template = _PROBLEMS.get(problem["type"])
    text = template.format(**problem.get("ctx", {})) if template else _plain(problem["msg"])
    if name in data:
        text += f" (got {json.dumps(data[name])})"
    return ParamError(name, text)


def _plain(message: str) -> str:
    return message.removeprefix("Value error, ")


class ParamSpec(BaseModel):
    """One catalogue entry, for front-ends (the bot's autocomplete, the CLI's flags, docs)."""

    model_config = ConfigDict(frozen=True)

    name: str
    type: str  # "int", "float" or "bool"
    default: Any
    minimum: float | None
    maximum: float | None
    multiple_of: int | None
    help: str
    settable_by: tuple[Role, ...]
    per_request: bool

    def describe(self) -> str:
        bounds = "" if self.minimum is None else f" [{_number(self.minimum)}..{_number(self.maximum)}]"
        return f"{self.name} ({self.type}{bounds}, default {self.default}): {self.help}"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _spec(name: str) -> ParamSpec:
    schema = GenerationParams.model_json_schema()["properties"][name]
    kinds = schema.get("anyOf", [schema])
    kind = next(k for k in kinds if k.get("type") != "null")
    return ParamSpec(
        name=name,
        type={"integer": "int", "number": "float", "boolean": "bool"}[kind["type"]],
        default=GenerationParams.model_fields[name].default,
        minimum=kind.get("minimum"),
        maximum=kind.get("maximum"),
        multiple_of=kind.get("multipleOf"),
        help=schema["description"],
        settable_by=tuple(Role(r) for r in schema["x-settable-by"]),
        per_request=schema["x-per-request"],
    )


SPECS: dict[str, ParamSpec] = {name: _spec(name) for name in GenerationParams.model_fields}


def settable(role: Role) -> list[str]:
    return [name for name, spec in SPECS.items() if role in spec.settable_by]


def refused_for(role: Role, names) -> list[str]:
    """The names in `names` that `role` may not set (unknown names are the catalogue's to refuse)."""
    return [name for name in names if name in SPECS and role not in SPECS[name].settable_by]
