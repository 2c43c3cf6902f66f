"""Reading what :mod:`quaymaster.region.snapshot.codec` wrote, refusing what it would not write.

Names are resolved only inside the ``quaymaster`` package (a module outside it is
never imported) and must name a class or a module-level function defined there;
objects are made with ``object.__new__`` and their fields set, no ``__init__`` runs.
Anything else (an unknown tag, a foreign type, a ``$ref`` to nothing, bad base64) is a
:class:`SnapshotError` naming the component and the path inside it.
"""

from __future__ import annotations

import base64
import binascii
import collections
import datetime as dt
import enum
import functools
import importlib
import itertools
import random
import threading
import types
import zoneinfo
from typing import Any, Callable

import numpy as np

from quaymaster.region.snapshot.codec import PACKAGE, _BUILTIN_CLASSES, _custom, _ours, writable_class
from quaymaster.region.snapshot.errors import SnapshotError

_LOCK_MAKERS = {"Lock": threading.Lock, "RLock": threading.RLock}
_SCALARS = frozenset((str, int, float, bool, type(None)))   # JSON's own: read as they are


class _Refused(Exception):
    """Inside the decoder: what is wrong, turned into a SnapshotError with the path."""


def resolve(name: Any, *, kind: str = "class") -> Any:
    """The quaymaster class (or function) ``name`` names; never imports outside quaymaster."""
    if not isinstance(name, str):
        raise _Refused(f"a {kind} name must be a string, found {name!r}")
    if kind == "class" and name in _BUILTIN_CLASSES:
        return _BUILTIN_CLASSES[name]
    if not (name.startswith(PACKAGE + ".")):
        raise _Refused(f"{name!r} is not a quaymaster {kind}: a snapshot only names quaymaster's own")
    parts = name.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        module_name = ".".join(parts[:cut])
        try:
            thing: Any = importlib.import_module(module_name)
        except ImportError:
            continue
        try:
            for attribute in parts[cut:]:
                thing = getattr(thing, attribute)
        except AttributeError:
            raise _Refused(f"unknown {kind} {name!r}") from None
        break
    else:
        raise _Refused(f"unknown {kind} {name!r}")
    wanted = isinstance(thing, type) if kind == "class" else isinstance(thing, types.FunctionType)
    if not wanted or not _ours(thing) or getattr(thing, "__qualname__", "") != ".".join(parts[cut:]):
        raise _Refused(f"{name!r} is not a quaymaster {kind}")
    return thing


class Decoder:
    """Decodes components in the order they were encoded (a ``$ref`` follows its ``$id``)."""

    def __init__(self, roots: dict[str, Any], custom: dict[type, Callable] | None = None):
        self.roots = roots
        self.custom = custom or {}
        self._objects: dict[int, Any] = {}
        self._classes: dict[str, type] = {}
        self._components: dict[str, Any] = {}   # component name -> its object, made up front
        self._shell: Any = None                 # the object the component being read fills
        self.loaded_hooks: list = []            # _snapshot_loaded of the objects made, in order

    def decode_all(self, components: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, value in components.items():   # components named before they are read
            try:
                if isinstance(value, dict) and "$type" in value:
                    cls = self._class(value["$type"])
                    if cls not in self.custom and not issubclass(cls, (tuple, enum.Enum)) \
                            and cls.__module__ != "builtins" and writable_class(cls):
                        self._components[name] = object.__new__(cls)
            except _Refused as error:
                raise SnapshotError(f"snapshot component {name}: {error.args[0]}", field=name,
                                    value=name) from None
        for name, value in components.items():
            try:
                self._shell = self._components.get(name)
                out[name] = self.decode(value)
            except SnapshotError:
                raise
            except (_Refused, KeyError, TypeError, ValueError, AttributeError, IndexError,
                    OverflowError, binascii.Error) as error:
                path = [name, *reversed(error.__dict__.get("snapshot_path", []))]
                where = "".join(p if p.startswith("[") else f".{p}" for p in path).lstrip(".")
                text = error.args[0] if isinstance(error, _Refused) else f"{type(error).__name__}: {error}"
                raise SnapshotError(f"snapshot component {where}: {text}", field=where,
                                    value=name) from None
        return out

    def decode(self, data: Any) -> Any:
        kind = type(data)
        if kind is list:
            return self._items(data)
        if kind is not dict or not data:
            return data if kind is not dict else {}
        tag = next(iter(data))
        if tag[:1] != "$":     # a plain object: the encoder writes a tag as the first key
            return self._plain(data)
        if tag == "$type":
            return self._object(data)
        handler = _TAGGED.get(tag)
        if handler is None:
            raise _Refused(f"unknown tag {tag!r}")
        return handler(self, data)

    def _plain(self, data: dict, skip_tags: bool = False) -> dict:
        out: dict = {}
        key, scalars = None, _SCALARS
        try:
            for key, value in data.items():
                if skip_tags and key[:1] == "$":
                    continue
                out[key] = value if type(value) in scalars else self.decode(value)
        except Exception as error:   # where: added as the refusal travels up (no cost before)
            _where(error, str(key))
            raise
        return out

    def _at(self, label: str, value: Any) -> Any:
        try:
            return self.decode(value)
        except Exception as error:
            _where(error, label)
            raise

    def register(self, data: dict, obj: Any) -> Any:
        number = data.get("$id")
        if number is not None:
            if not isinstance(number, int) or number in self._objects:
                raise _Refused(f"bad or repeated $id {number!r}")
            self._objects[number] = obj
        return obj

    def _class(self, name: Any) -> type:
        cls = self._classes.get(name) if isinstance(name, str) else None
        if cls is None:
            cls = self._classes[name] = resolve(name)
        return cls

    def _object(self, data: dict) -> Any:
        cls = self._class(data["$type"])
        if cls in self.custom:
            fields = {k: v for k, v in data.items() if k[:1] != "$"}
            return self.register(data, self.custom[cls](self, fields))
        if cls.__module__ == "builtins" or issubclass(cls, enum.Enum) or not writable_class(cls):
            raise _Refused(f"$type {data['$type']!r} is not an object type a snapshot holds")
        if issubclass(cls, tuple):   # named tuples: made from their items
            return self.register(data, cls(*self._items(data.get("$items", []))))
        shell, self._shell = self._shell, None
        obj = self.register(data, shell if shell is not None else object.__new__(cls))
        values = self._plain(data, skip_tags=True)
        for name in getattr(cls, "_snapshot_observers", ()):
            values.setdefault(name, None)
        if hasattr(cls, "_snapshot_loaded"):
            self.loaded_hooks.append(obj._snapshot_loaded)
        if _sets_state(cls):
            obj.__setstate__(values)
            return obj
        slots = _slots(cls)
        if not slots:
            obj.__dict__.update(values)
            return obj
        for name, value in values.items():
            if name in slots:
                object.__setattr__(obj, name, value)
            else:
                obj.__dict__[name] = value
        return obj

    def _items(self, values: Any) -> list:
        if not isinstance(values, list):
            raise _Refused(f"expected a list, found {type(values).__name__}")
        out: list = []
        scalars = _SCALARS
        try:
            for value in values:
                out.append(value if type(value) in scalars else self.decode(value))
        except Exception as error:
            _where(error, f"[{len(out)}]")
            raise
        return out


@functools.lru_cache(maxsize=None)
def _sets_state(cls: type) -> bool:
    return _custom(cls, "__setstate__")


@functools.lru_cache(maxsize=None)
def _slots(cls: type) -> frozenset:
    return frozenset(s for base in cls.__mro__ for s in base.__dict__.get("__slots__", ()))


def _where(error: BaseException, label: str) -> None:
    """Note on a refusal travelling up where it was met (read by ``decode_all``)."""
    error.__dict__.setdefault("snapshot_path", []).append(label)


def _ref(decoder: Decoder, data: dict) -> Any:
    number = data["$ref"]
    if number not in decoder._objects:
        raise _Refused(f"$ref {number!r} names no object written before it")
    return decoder._objects[number]


def _component(decoder: Decoder, data: dict) -> Any:
    name = data["$component"]
    if name not in decoder._components:
        raise _Refused(f"unknown $component {name!r}")
    return decoder._components[name]


def _root(decoder: Decoder, data: dict) -> Any:
    name = data["$root"]
    if name not in decoder.roots or decoder.roots[name] is None:
        raise _Refused(f"unknown $root {name!r}")
    return decoder.roots[name]


def _list(decoder: Decoder, data: dict) -> list:
    out = decoder.register(data, [])
    out.extend(decoder._items(data["$list"]))
    return out


def _dict(decoder: Decoder, data: dict) -> dict:
    out = decoder.register(data, {})
    for pair in decoder._items(data["$dict"]):
        key, value = pair
        out[key] = value
    return out


def _set(decoder: Decoder, data: dict) -> set:
    out = decoder.register(data, set())
    out.update(decoder._items(data["$set"]))
    return out


def _defaultdict(decoder: Decoder, data: dict) -> collections.defaultdict:
    factory = decoder.decode(data["$defaultdict"])
    if factory is not None and not callable(factory):
        raise _Refused("a defaultdict's factory must be callable")
    out = decoder.register(data, collections.defaultdict(factory))
    for key, value in decoder._items(data["items"]):
        out[key] = value
    return out


def _ndarray(decoder: Decoder, data: dict) -> np.ndarray:
    shape = tuple(int(n) for n in data["shape"])
    if data["$ndarray"] == "object":
        array = np.empty(len(data["items"]), dtype=object)
        array[:] = decoder._items(data["items"]) if data["items"] else []
        return array.reshape(shape)
    dtype = np.dtype(data["$ndarray"])
    if dtype.kind not in "biufcUSmM":
        raise _Refused(f"numpy dtype {dtype} is not one a snapshot holds")
    raw = base64.b64decode(data["data"], validate=True)
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()   # a copy: writable


def _numpy(decoder: Decoder, data: dict) -> Any:
    dtype = np.dtype(data["$numpy"])
    if dtype.kind not in "biuf":
        raise _Refused(f"numpy scalar dtype {dtype} is not one a snapshot holds")
    return dtype.type(float(data["value"]) if isinstance(data["value"], str) else data["value"])


def _generator(decoder: Decoder, data: dict) -> np.random.Generator:
    name = data["$generator"]
    maker = {"PCG64": np.random.PCG64, "PCG64DXSM": np.random.PCG64DXSM, "Philox": np.random.Philox,
             "SFC64": np.random.SFC64, "MT19937": np.random.MT19937}.get(name)
    if maker is None:
        raise _Refused(f"unknown numpy bit generator {name!r}")
    bit_generator = maker()
    bit_generator.state = decoder.decode(data["state"])
    return np.random.Generator(bit_generator)


def _random(decoder: Decoder, data: dict) -> random.Random:
    out = random.Random()
    out.setstate(decoder.decode(data["$random"]))
    return out


def _method(decoder: Decoder, data: dict) -> Any:
    owner = decoder._at("__self__", data["self"])
    name = data["$method"]
    if not isinstance(name, str) or name.startswith("__") or not _ours(type(owner)) and not isinstance(owner, type):
        raise _Refused(f"method {name!r} of a {type(owner).__name__} is not one a snapshot names")
    if isinstance(owner, type):   # a class method
        method = getattr(owner, name, None)
        if not isinstance(method, types.MethodType) or method.__self__ is not owner:
            raise _Refused(f"{owner.__name__} has no class method {name!r}")
        return method
    # Looked up on the class: an instance attribute of that name (a seam another
    # component replaced) is not the method that was bound.
    function = getattr(type(owner), name, None)
    if not isinstance(function, types.FunctionType):
        raise _Refused(f"{type(owner).__name__} has no method {name!r}")
    return types.MethodType(function, owner)


def _function(decoder: Decoder, data: dict) -> Any:
    name = data["$function"]
    if name in _BUILTIN_CLASSES:
        return _BUILTIN_CLASSES[name]
    return resolve(name, kind="function")


def _enum(decoder: Decoder, data: dict) -> Any:
    cls = decoder._class(data["$enum"])
    if not issubclass(cls, enum.Enum):
        raise _Refused(f"{data['$enum']!r} is not an enumeration")
    return cls[data["name"]]


def _class_tag(decoder: Decoder, data: dict) -> type:
    return decoder._class(data["$class"])


def _partial(decoder: Decoder, data: dict) -> functools.partial:
    func = decoder.decode(data["$partial"])
    if not callable(func):
        raise _Refused("a partial's function must be callable")
    return functools.partial(func, *decoder._items(data["args"]), **decoder.decode(data["keywords"]))


def _lock(decoder: Decoder, data: dict) -> Any:
    maker = _LOCK_MAKERS.get(data["$lock"])
    if maker is None:
        raise _Refused(f"unknown lock kind {data['$lock']!r}")
    return maker()


def _timezone(data: dict) -> dt.timezone:
    offset = dt.timedelta(seconds=float(data["$timezone"]))
    if offset == dt.timedelta(0) and data.get("name") == "UTC":
        return dt.timezone.utc
    return dt.timezone(offset, data["name"]) if data.get("name") else dt.timezone(offset)


_TAGGED: dict[str, Callable[[Decoder, dict], Any]] = {
    "$ref": _ref, "$root": _root, "$component": _component, "$list": _list, "$dict": _dict, "$set": _set,
    "$frozenset": lambda d, v: frozenset(d._items(v["$frozenset"])),
    "$tuple": lambda d, v: tuple(d._items(v["$tuple"])),
    "$deque": lambda d, v: collections.deque(d._items(v["$deque"]), v["maxlen"]),
    "$defaultdict": _defaultdict,
    "$bytes": lambda d, v: base64.b64decode(v["$bytes"], validate=True),
    "$float": lambda d, v: float({"nan": "nan", "inf": "inf", "-inf": "-inf"}[v["$float"]]),
    "$datetime": lambda d, v: dt.datetime.fromisoformat(v["$datetime"]),
    "$date": lambda d, v: dt.date.fromisoformat(v["$date"]),
    "$timedelta": lambda d, v: dt.timedelta(*[int(x) for x in v["$timedelta"]]),
    "$ndarray": _ndarray, "$numpy": _numpy, "$generator": _generator, "$random": _random,
    "$method": _method, "$function": _function, "$enum": _enum, "$class": _class_tag,
    "$partial": _partial, "$lock": _lock,
    "$timezone": lambda d, v: _timezone(v),
    "$zoneinfo": lambda d, v: zoneinfo.ZoneInfo(str(v["$zoneinfo"])),
    "$counter": lambda d, v: collections.Counter(dict(d._items(v["$counter"]))),
    "$ordereddict": lambda d, v: collections.OrderedDict(d._items(v["$ordereddict"])),
    "$mappingproxy": lambda d, v: types.MappingProxyType(d.decode(v["$mappingproxy"])),
    "$count": lambda d, v: itertools.count(int(v["$count"])),
}
