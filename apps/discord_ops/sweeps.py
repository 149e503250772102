"""Sweep configurations: YAML in, the list of combinations out.

    ideas: [corporate confidence, ethereal beauty]   # mecene inputs
    faces: [team-a]                                   # face folders: every photo in them
    seeds: [1, 2, 3]
    guidance_scale: [4.0, 6.0]                        # any catalogue parameter: a list is swept,
    steps: 20                                         # a single value is fixed

Lists make a cartesian product (faces count photo by photo); at most MAX_COMBINATIONS. Every refusal
says where and what: a YAML error its line and column, an unknown parameter the closest known one, an
out-of-range value the catalogue's bounds.
"""

from __future__ import annotations

import difflib
import itertools
from dataclasses import dataclass, field

import yaml

from inference import params as catalogue
from inference.params import SPECS, ParamError

MAX_COMBINATIONS = 200
SWEEP_KEYS = ("ideas", "faces", "seeds")


class SweepError(ValueError):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Combination:
    idea: str
    folder: str
    face: str  # the photo's name in its folder
    params: dict = field(default_factory=dict)  # the parameters this combination sets (seed included)


@dataclass(frozen=True)
class SweepSpec:
    ideas: list[str]
    folders: list[str]
    seeds: list[int | None]
    fixed: dict  # parameter -> value
    swept: dict  # parameter -> list of values


def parse_sweep(text: str) -> SweepSpec:
    try:
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "somewhere"
        raise SweepError(f"The sweep is not valid YAML ({where}): {error.problem or error}") from None
    except yaml.YAMLError as error:
        raise SweepError(f"The sweep is not valid YAML: {error}") from None
    if not isinstance(data, dict):
        raise SweepError("A sweep is a YAML mapping: ideas, faces, seeds and parameters as keys.")
    ideas, folders = _texts(data, "ideas"), _texts(data, "faces")
    seeds = _listed(data.get("seeds", [None]), "seeds")
    fixed, swept = {}, {}
    for name, value in data.items():
        if name in SWEEP_KEYS:
            continue
        if name not in SPECS:
            raise SweepError(unknown_parameter(name))
        values = _listed(value, name)
        for one in values:
            check_value(name, one)
        (swept if len(values) > 1 else fixed)[name] = values if len(values) > 1 else values[0]
    return SweepSpec(ideas, folders, seeds, fixed, swept)


def unknown_parameter(name: str) -> str:
    close = difflib.get_close_matches(str(name), [*SPECS, *SWEEP_KEYS], n=1, cutoff=0.5)
    hint = f" Did you mean '{close[0]}'?" if close else f" Known: {', '.join(SPECS)}."
    shown = str(name) if len(str(name)) <= 60 else str(name)[:59] + "…"  # a pasted essay stays short here
    return f"'{shown}' is not a parameter.{hint}"


def check_value(name: str, value) -> None:
    """The catalogue's own check of one value alone (type and bounds), refused early with its message.
    Rules between parameters (start_merge_step within steps) are the combination's: each combination is
    validated once, whole, when the session is prepared."""
    try:
        catalogue.check_value(name, value)
    except ParamError as error:
        raise SweepError(error.message) from None


def _listed(value, name: str) -> list:
    values = value if isinstance(value, list) else [value]
    if not values:
        raise SweepError(f"'{name}' is an empty list.")
    return values


def _texts(data: dict, key: str) -> list[str]:
    values = _listed(data.get(key), key) if key in data else []
    if not values or not all(isinstance(v, str) and v.strip() for v in values):
        raise SweepError(f"The sweep needs '{key}': a list of names (e.g. {key}: [a, b]).")
    return [v.strip() for v in values]


def expand(spec: SweepSpec, photos_of: dict[str, list[str]]) -> list[Combination]:
    """Every combination, faces photo by photo (`photos_of[folder]`); SweepError above the cap."""
    faces = [(folder, photo) for folder in spec.folders for photo in photos_of[folder]]
    names = list(spec.swept)
    count = len(spec.ideas) * len(faces) * len(spec.seeds)
    for name in names:
        count *= len(spec.swept[name])
    if count > MAX_COMBINATIONS:
        raise SweepError(
            f"This sweep makes {count} combinations; the limit is {MAX_COMBINATIONS}. Sweep fewer values."
        )
    combinations = []
    for idea, (folder, photo), seed, values in itertools.product(
        spec.ideas, faces, spec.seeds, itertools.product(*(spec.swept[n] for n in names))
    ):
        params = {**spec.fixed, **dict(zip(names, values, strict=True))}
        if seed is not None:
            params["seed"] = seed
        combinations.append(Combination(idea, folder, photo, params))
    return combinations
