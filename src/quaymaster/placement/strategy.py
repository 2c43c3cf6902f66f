"""Placement strategies (docs/semantics.md (placement, ECS contract section 6)): parsing and validation.

Each strategy keeps the best candidates by one rule and hands the survivors
to the next; the chain's ranking itself runs in the C core (csrc/place.c).

- ``binpack(cpu|memory)``: the smallest remaining amount of the field.
- ``spread(instanceId|host)``: the fewest live tasks of the group on the instance.
- ``spread(attribute:<name>)``: the smallest count of the group's live tasks over
  all instances sharing the candidate's value (lacking it is a value of its own).
- ``random``: one survivor, drawn by j(t, n); it ends the chain.
"""

from __future__ import annotations

from dataclasses import dataclass

from quaymaster.errors import InvalidParameterError
from quaymaster.placement.memo import Memo
from quaymaster.model.schema import ATTRIBUTE_PREFIX

MAX_STRATEGIES = 5
TYPES = ("binpack", "spread", "random")
BINPACK_FIELDS = ("cpu", "memory")
INSTANCE_FIELDS = ("instanceId", "host")


@dataclass(frozen=True)
class Strategy:
    """One validated strategy: ``type`` and its normalised ``field``."""

    type: str
    field: str | None = None  # "cpu" | "memory" | "instanceId" | "attribute:<name>" | None

    @property
    def attribute(self) -> str | None:
        """The attribute name of a spread(attribute:<name>), else None."""
        if self.field and self.field.startswith(ATTRIBUTE_PREFIX):
            return self.field[len(ATTRIBUTE_PREFIX):]
        return None

    def to_ecs(self) -> dict:
        return {"type": self.type, **({"field": self.field} if self.field else {})}


DEFAULT_RUN_TASK = (Strategy("random"),)
DEFAULT_SERVICE = (Strategy("spread", "attribute:ecs.availability-zone"), Strategy("spread", "instanceId"))


_memo = Memo()


def parse_strategies(strategies, *, default=DEFAULT_RUN_TASK) -> tuple[Strategy, ...]:
    """Validate ECS ``placementStrategy`` (a list of ``{"type", "field"}``)."""
    return _memo.get_for(strategies, (tuple(default),), lambda: _parse_strategies(strategies, default))


def _parse_strategies(strategies, default) -> tuple[Strategy, ...]:
    if strategies is None:
        return tuple(default)
    if not isinstance(strategies, (list, tuple)):
        raise InvalidParameterError(f"placementStrategy must be a list, found {type(strategies).__name__}",
                                    field="placementStrategy", value=strategies)
    if len(strategies) > MAX_STRATEGIES:
        raise InvalidParameterError(f"placementStrategy has {len(strategies)} entries; at most "
                                    f"{MAX_STRATEGIES} are allowed", field="placementStrategy",
                                    value=len(strategies))
    if not strategies:
        return tuple(default)
    return tuple(_parse_one(s, f"placementStrategy[{k}]") for k, s in enumerate(strategies))


def entry_type(entry, path: str, *, keys: tuple[str, ...], types: tuple[str, ...],
               shape: str) -> str:
    """The ``type`` of one entry of an ECS placement list (strategies here, constraints in
    constraints.py), once the entry is checked to be a dict holding only ``keys``, with a type
    among ``types``. ``shape`` is what the entry must be, for the message ("an object").

    Raises InvalidParameterError naming ``path`` (not a dict, the first unknown key in sorted
    order) or ``path.type`` (a type outside ``types``)."""
    if not isinstance(entry, dict):
        raise InvalidParameterError(f"{path} must be {shape}", field=path, value=entry)
    unknown = sorted(set(entry) - set(keys))
    if unknown:
        raise InvalidParameterError(f"{path}: unknown key {unknown[0]!r}", field=path, value=unknown[0])
    kind = entry.get("type")
    if kind not in types:
        raise InvalidParameterError(f"{path}.type: {kind!r} is not one of {', '.join(types)}",
                                    field=f"{path}.type", value=kind)
    return kind


def _parse_one(entry, path: str) -> Strategy:
    if isinstance(entry, Strategy):
        return entry
    kind = entry_type(entry, path, keys=("type", "field"), types=TYPES,
                      shape="an object with 'type' and 'field'")
    field = entry.get("field")
    if field is not None and not isinstance(field, str):
        raise InvalidParameterError(f"{path}.field must be a string, found {field!r}",
                                    field=f"{path}.field", value=field)
    if kind == "random":
        if field:
            raise InvalidParameterError(f"{path}.field: random takes no field, found {field!r}",
                                        field=f"{path}.field", value=field)
        return Strategy("random")
    if not field:
        raise InvalidParameterError(f"{path}.field: {kind} needs a field", field=f"{path}.field",
                                    value=field)
    if kind == "binpack":
        if field not in BINPACK_FIELDS:
            raise InvalidParameterError(f"{path}.field: binpack takes cpu or memory, found {field!r}",
                                        field=f"{path}.field", value=field)
        return Strategy("binpack", field)
    if field in INSTANCE_FIELDS:
        return Strategy("spread", "instanceId")
    if field.startswith(ATTRIBUTE_PREFIX) and len(field) > len(ATTRIBUTE_PREFIX):
        return Strategy("spread", field)
    raise InvalidParameterError(f"{path}.field: spread takes instanceId, host or attribute:<name>, "
                                f"found {field!r}", field=f"{path}.field", value=field)
