"""What /set's value autocomplete offers, from memory: the operator's current value (as last seen by a
command of theirs), the default and the bounds, each written as /set accepts it ("150", not "150.0";
no "None" for a parameter without a default)."""

from __future__ import annotations

from apps.discord_ops.services import PRODUCTION_MODE
from inference.params import SPECS


def as_typed(kind: str, value) -> str | None:
    """`value` the way an operator types it for a parameter of this type; None when there is nothing."""
    if value is None:
        return None
    if kind == "bool":
        return "true" if value else "false"
    if kind == "int":
        return str(int(value))
    return f"{float(value):g}"


class ParameterHints:
    def __init__(self):
        self._sets: dict[int, tuple[dict, bool]] = {}  # Discord user id -> (values, production mode)

    def remember(self, user_id: int, values: dict, production_mode: bool) -> None:
        self._sets[int(user_id)] = (dict(values), bool(production_mode))

    def knows(self, user_id: int) -> bool:
        return int(user_id) in self._sets

    def values(self, user_id: int, name: str | None) -> list[str]:
        values, production_mode = self._sets.get(int(user_id), ({}, False))
        if name == PRODUCTION_MODE:
            return ["true", "false"] if not production_mode else ["false", "true"]
        spec = SPECS.get(name or "")
        if spec is None:
            return []
        hints = [
            as_typed(spec.type, values.get(name)),
            as_typed(spec.type, spec.default),
            as_typed(spec.type, spec.minimum),
            as_typed(spec.type, spec.maximum),
        ]
        if spec.type == "bool":
            hints += ["true", "false"]
        return list(dict.fromkeys(h for h in hints if h is not None))[:25]
