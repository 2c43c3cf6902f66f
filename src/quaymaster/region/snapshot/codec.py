"""A typed JSON codec for quaymaster's own objects: what a region snapshot is written in.

Plain JSON values stay plain. Everything else is a JSON object with one ``$`` tag:

- ``{"$type": "quaymaster.m.C", "$id": n, field: value, ...}``: an instance of a
  quaymaster class (its ``__dict__`` and slots; ``__getstate__``/``__setstate__``
  where the class defines them). Only classes of the ``quaymaster`` package are
  ever instantiated, and no ``__init__`` runs: loading a snapshot executes no code
  of the snapshot's choosing.
- ``{"$ref": n}``: an object met before (shared objects and cycles stay shared).
  Lists, dicts and sets carry ``$id`` only when something else refers to them.
- ``$tuple``, ``$set``, ``$frozenset``, ``$dict`` (keys that are not plain strings),
  ``$deque``, ``$defaultdict``, ``$bytes``, ``$float`` (nan, inf), ``$datetime``,
  ``$date``, ``$timedelta``, ``$timezone``, ``$zoneinfo``, ``$ndarray``, ``$numpy`` (scalars), ``$random``
  (``random.Random``), ``$generator`` (numpy's ``Generator``), ``$enum``, ``$class``,
  ``$count`` (``itertools.count``), ``$counter``, ``$ordereddict``, ``$mappingproxy``, ``$lock``.
- Callables: ``{"$method": name, "self": obj}`` (a bound method), ``{"$function":
  "quaymaster.m.f"}`` (a module-level function), ``{"$partial": ...}``. A lambda or a
  closure has no name to be found again by: encoding one is refused naming where it
  was met, so state keeps bound methods or small named callables instead.
- ``{"$component": name}``: another top-level component (each is written in its own file).
- ``{"$root": name}``: an object the receiving process provides (the region itself,
  its ECR registry and blob store), never written.

A class may keep fields out with ``_snapshot_transient = ("name", ...)`` (caches it
rebuilds); they are missing after loading, so the class must make them on demand. Its
``_snapshot_observers`` (sinks and hooks its holder installs, such as a simulation's
metric recorder) are not written either and are None after loading: they belong to
whoever holds the object, not to its state. A class whose fields mean something only in
this process (an ``id()``) writes ``_snapshot_fields() -> dict`` instead, and puts them
right again in ``_snapshot_loaded()``, called once the whole region is loaded.
"""

from __future__ import annotations

import base64
import collections
import datetime as dt
import enum
import functools
import importlib
import itertools
import math
import random
import threading
import types
import zoneinfo
from typing import Any, Callable

import numpy as np

from quaymaster.region.snapshot.errors import SnapshotError

PACKAGE = "quaymaster"
_PLAIN = (str, int, bool, type(None))
_SCALAR_TYPES = frozenset(_PLAIN)
_LEAF_TYPES = frozenset((*_PLAIN, float))
_LOCKS = {type(threading.Lock()): "Lock", type(threading.RLock()): "RLock"}
_BUILTIN_CLASSES = {c.__name__: c for c in (int, float, str, bool, list, dict, set, frozenset, tuple,
                                            bytes, object)}
_MUTABLE = (list, dict, set)


def _qualified(thing: Any) -> str:
    return f"{thing.__module__}.{thing.__qualname__}"


def _ours(thing: Any) -> bool:
    module = getattr(thing, "__module__", None) or ""
    return module == PACKAGE or module.startswith(PACKAGE + ".")


# Cluster internals point C at their arrays (sizes, hash tables, addresses): they are only
# ever built from validated tables (quaymaster.region.snapshot.clusters), never from fields.
_NATIVE_STATE = ("quaymaster.model.", "quaymaster.placement.", "quaymaster.native", "quaymaster.kernels")
_PLAIN_MODEL = {"quaymaster.model.state_owner.SeedStream"}


def writable_class(cls: type) -> bool:
    """Whether a snapshot may hold an object of ``cls`` field by field."""
    name = _qualified(cls)
    return _ours(cls) and (name in _PLAIN_MODEL or not name.startswith(_NATIVE_STATE))


def _custom(cls: type, name: str) -> bool:
    """Whether ``cls`` defines ``name`` itself (or a quaymaster base does), not ``object``."""
    return any(name in vars(base) for base in cls.__mro__ if base is not object)


def _fields(obj: Any) -> dict:
    cls = type(obj)
    if hasattr(cls, "_snapshot_fields"):
        fields = obj._snapshot_fields()
    elif _custom(cls, "__getstate__"):
        state = obj.__getstate__()
        if not isinstance(state, dict):
            raise SnapshotError(f"{_qualified(cls)}.__getstate__ must give a dict", field="$type",
                                value=_qualified(cls))
        fields = dict(state)
    else:
        fields = dict(getattr(obj, "__dict__", {}))
        for base in cls.__mro__:
            for slot in base.__dict__.get("__slots__", ()):
                if slot not in ("__dict__", "__weakref__") and hasattr(obj, slot):
                    fields[slot] = getattr(obj, slot)
    for name in (*getattr(cls, "_snapshot_transient", ()), *getattr(cls, "_snapshot_observers", ())):
        fields.pop(name, None)
    return fields


class Encoder:
    """One pass to find what is shared, one to write; ``roots`` maps id -> root name.

    ``custom`` maps a class to ``fn(encoder, obj) -> dict`` for objects written their
    own way (clusters: their tables go to Parquet); the dict gets ``$type``/``$id``.
    """

    def __init__(self, roots: dict[int, str], custom: dict[type, Callable] | None = None):
        self.roots = roots
        self.custom = custom or {}
        self._seen: dict[int, int] = {}      # id -> times met (first pass)
        self._keep: list = []                # what the ids belong to, alive while encoding
        self._ids: dict[int, int] = {}       # id -> $id written (second pass)
        self._anchors: dict[int, str] = {}   # id -> component name, of the components that are objects

    def encode_all(self, components: dict[str, Any]) -> dict[str, Any]:
        """Each component encoded; a component that is one of our objects is written in its
        own place, and elsewhere only named (``{"$component": name}``)."""
        for name, value in components.items():
            self._count(value)
        self._anchors = {id(v): name for name, v in components.items()
                         if _ours(type(v)) and type(v) not in self.custom and not isinstance(v, tuple)}
        out = {}
        for name, value in components.items():
            anchor = self._anchors.pop(id(value), None)
            try:
                out[name] = self.encode(value)
            except _Unwritable as error:
                where = "".join(p if p.startswith("[") else f".{p}"
                                for p in [name, *reversed(error.path)]).lstrip(".")
                raise SnapshotError(f"{where}: {error.args[0]}", field=where, value=error.value) from None
            if anchor is not None:
                self._anchors[id(value)] = anchor
        return out

    # -- the first pass: what is met more than once ---------------------------------

    def _count(self, root: Any) -> None:
        stack, seen, roots, scalars = [root], self._seen, self.roots, _LEAF_TYPES
        while stack:
            obj = stack.pop()
            key = id(obj)
            if key in roots:
                continue
            met = seen.get(key, 0)
            seen[key] = met + 1
            if met:
                continue
            self._keep.append(obj)
            stack.extend([c for c in self._children(obj) if type(c) not in scalars])

    def _children(self, obj: Any) -> list:
        if isinstance(obj, (list, tuple, set, frozenset, collections.deque)):
            return list(obj)
        if isinstance(obj, types.MappingProxyType):
            return [dict(obj)]
        if isinstance(obj, dict):
            return [*obj.keys(), *obj.values(), *([obj.default_factory]
                                                  if isinstance(obj, collections.defaultdict) else [])]
        if isinstance(obj, types.MethodType):
            return [obj.__self__]
        if isinstance(obj, functools.partial):
            return [obj.func, *obj.args, *obj.keywords.values()]
        cls = type(obj)
        if cls in self.custom:
            return list(self.custom[cls](self, obj, children=True))
        if _ours(cls) and not isinstance(obj, (type, enum.Enum, types.FunctionType)):
            return list(_fields(obj).values())
        return []

    # -- the second pass ---------------------------------------------------------------

    def encode(self, obj: Any) -> Any:
        if type(obj) in _SCALAR_TYPES:
            return obj
        if type(obj) is float:
            return obj if math.isfinite(obj) else {"$float": repr(obj)}
        root = self.roots.get(id(obj))
        if root is not None:
            return {"$root": root}
        anchor = self._anchors.get(id(obj))
        if anchor is not None:
            return {"$component": anchor}
        written = self._ids.get(id(obj))
        if written is not None:
            return {"$ref": written}
        return self._encode_new(obj)

    def _mark(self, obj: Any, out: dict) -> dict:
        """Give ``out`` an ``$id`` when ``obj`` is met again (always for our objects)."""
        if self._seen.get(id(obj), 0) > 1 or "$type" in out:
            number = len(self._ids)
            self._ids[id(obj)] = number
            out["$id"] = number
        return out

    def _items(self, values, label: str) -> list:
        out: list = []
        scalars = _SCALAR_TYPES
        try:
            for value in values:
                out.append(value if type(value) in scalars else self.encode(value))
        except _Unwritable as error:   # where: added as the refusal travels up (no cost before)
            error.path.append(f"{label}[{len(out)}]")
            raise
        return out

    def _encode_new(self, obj: Any) -> Any:
        cls = type(obj)
        if cls is list:
            if self._seen.get(id(obj), 0) <= 1:
                return self._items(obj, "")
            out = self._mark(obj, {"$list": None})
            out["$list"] = self._items(obj, "")
            return out
        if cls is dict:
            return self._encode_dict(obj)
        if cls in (set, frozenset):
            tag = "$set" if cls is set else "$frozenset"
            out = self._mark(obj, {tag: None}) if cls is set else {tag: None}
            out[tag] = self._items(_stable(obj), "")
            return out
        if cls is tuple:
            return {"$tuple": self._items(obj, "")}
        encoder = _VALUE_ENCODERS.get(cls)
        if encoder is not None:
            return encoder(self, obj)
        return self._encode_other(obj, cls)

    def _encode_dict(self, obj: dict) -> Any:
        plain = all(type(k) is str and not k.startswith("$") for k in obj)
        if plain and self._seen.get(id(obj), 0) <= 1:
            return self._fields_of(obj)
        out = self._mark(obj, {"$dict": None})
        out["$dict"] = [[self.encode(k), self._at(str(k)[:40], v)] for k, v in obj.items()]
        return out

    def _fields_of(self, fields: dict, out: dict | None = None) -> dict:
        out = {} if out is None else out
        key, scalars = None, _SCALAR_TYPES
        try:
            for key, value in fields.items():
                out[key] = value if type(value) in scalars else self.encode(value)
        except _Unwritable as error:
            error.path.append(str(key))
            raise
        return out

    def _at(self, label: str, value: Any) -> Any:
        try:
            return self.encode(value)
        except _Unwritable as error:
            error.path.append(label)
            raise

    def _encode_other(self, obj: Any, cls: type) -> Any:
        if isinstance(obj, type):
            return {"$class": self._name_of_class(obj)}
        if isinstance(obj, enum.Enum):
            return {"$enum": self._name_of_class(cls), "name": obj.name}
        if isinstance(obj, types.MethodType):
            return {"$method": obj.__func__.__name__, "self": self._at("__self__", obj.__self__)}
        if isinstance(obj, (types.FunctionType, types.BuiltinFunctionType)):
            return {"$function": self._name_of_function(obj)}
        if cls in self.custom:
            out = self._mark(obj, {"$type": _qualified(cls)})
            out.update(self.custom[cls](self, obj))
            return out
        if _ours(cls) and isinstance(obj, tuple) and writable_class(cls):   # a named tuple
            return {"$type": _qualified(cls), "$items": self._items(obj, "")}
        if _ours(cls):
            if not writable_class(cls) or isinstance(obj, (dict, list, set)):
                raise self._refuse(f"a {_qualified(cls)} is not written field by field (it is part of a "
                                   "cluster's tables, or a container subclass)", _qualified(cls))
            return self._fields_of(_fields(obj), self._mark(obj, {"$type": _qualified(cls)}))
        raise self._refuse(f"a {_qualified(cls)} cannot be written to a snapshot", _qualified(cls))

    def _name_of_class(self, cls: type) -> str:
        if cls.__module__ == "builtins" and cls.__name__ in _BUILTIN_CLASSES:
            return cls.__name__
        if not _ours(cls) or "<locals>" in cls.__qualname__:
            raise self._refuse(f"class {_qualified(cls)} is not a quaymaster class", _qualified(cls))
        return _qualified(cls)

    def _name_of_function(self, fn: Any) -> str:
        if fn.__module__ == "builtins" and fn.__name__ in _BUILTIN_CLASSES:
            return fn.__name__
        qualname = getattr(fn, "__qualname__", "")
        if not _ours(fn) or "<" in qualname or getattr(fn, "__closure__", None):
            raise self._refuse(f"{fn.__module__}.{qualname} is a lambda or closure: state must hold "
                               "a bound method or a named callable instead", qualname)
        return f"{fn.__module__}.{qualname}"

    def _refuse(self, message: str, value: Any) -> "_Unwritable":
        return _Unwritable(message, value)


class _Unwritable(Exception):
    """Inside the encoder: what cannot be written; ``path`` grows as it travels up."""

    def __init__(self, message: str, value: Any):
        super().__init__(message)
        self.value = value
        self.path: list[str] = []


def _stable(values) -> list:
    """A set's members in an order that does not depend on the process (when they sort)."""
    items = list(values)
    try:
        return sorted(items)
    except TypeError:
        return items


def _ndarray(encoder: Encoder, array: np.ndarray) -> dict:
    if array.dtype == object:
        return {"$ndarray": "object", "shape": list(array.shape),
                "items": encoder._items(array.reshape(-1).tolist(), "")}
    if array.dtype.kind not in "biufcUSmM":
        raise encoder._refuse(f"a numpy array of dtype {array.dtype} cannot be written", str(array.dtype))
    data = np.ascontiguousarray(array)
    return {"$ndarray": data.dtype.str, "shape": list(array.shape),
            "data": base64.b64encode(data.tobytes()).decode("ascii")}


def _defaultdict(encoder: Encoder, value: collections.defaultdict) -> dict:
    out = encoder._mark(value, {"$defaultdict": encoder.encode(value.default_factory), "items": None})
    out["items"] = [[encoder.encode(k), encoder._at(str(k)[:40], x)] for k, x in value.items()]
    return out


def _numpy_scalar(encoder: Encoder, value: np.generic) -> dict:
    return {"$numpy": value.dtype.str, "value": value.item()
            if not (value.dtype.kind == "f" and not math.isfinite(value)) else repr(float(value))}


def _numpy_generator(encoder: Encoder, generator: np.random.Generator) -> dict:
    state = generator.bit_generator.state
    return {"$generator": state["bit_generator"], "state": encoder.encode(state)}


_VALUE_ENCODERS: dict[type, Callable[[Encoder, Any], Any]] = {
    bytes: lambda e, v: {"$bytes": base64.b64encode(v).decode("ascii")},
    dt.datetime: lambda e, v: {"$datetime": v.isoformat()},
    dt.date: lambda e, v: {"$date": v.isoformat()},
    dt.timedelta: lambda e, v: {"$timedelta": [v.days, v.seconds, v.microseconds]},
    collections.deque: lambda e, v: {"$deque": e._items(v, ""), "maxlen": v.maxlen},
    collections.defaultdict: lambda e, v: _defaultdict(e, v),
    collections.Counter: lambda e, v: {"$counter": [[e.encode(k), e.encode(n)] for k, n in v.items()]},
    collections.OrderedDict: lambda e, v: {"$ordereddict": [[e.encode(k), e.encode(x)] for k, x in v.items()]},
    dt.timezone: lambda e, v: {"$timezone": v.utcoffset(None).total_seconds(), "name": v.tzname(None)},
    zoneinfo.ZoneInfo: lambda e, v: {"$zoneinfo": v.key},
    types.MappingProxyType: lambda e, v: {"$mappingproxy": e.encode(dict(v))},
    random.Random: lambda e, v: {"$random": e.encode(v.getstate())},
    np.ndarray: _ndarray,
    np.random.Generator: _numpy_generator,
    itertools.count: lambda e, v: {"$count": int(repr(v)[len("count("):-1])},
    functools.partial: lambda e, v: {"$partial": e.encode(v.func), "args": e._items(v.args, "args"),
                                     "keywords": e.encode(dict(v.keywords))},
    **{lock: (lambda kind: lambda e, v: {"$lock": kind})(kind) for lock, kind in _LOCKS.items()},
}
for _scalar in (np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64,
                np.float32, np.float64):
    _VALUE_ENCODERS[_scalar] = _numpy_scalar
