"""Values to JSON and back, typed by their dataclass fields: what lets any process pick up a stored session.

`dump(value)` turns dataclasses, tuples, mappings, enums, dates and paths into JSON-ready data; `load(cls, data)`
rebuilds a `cls` from it by reading the field types (`X | None`, `tuple[X, ...]`, `list[X]`, `dict[str, X]`,
`Mapping[str, Any]`, nested dataclasses, enums, `date`, `Path`). The customer's state, a scenario and a
turn's scores are all plain frozen dataclasses, so a session is data, not a live object.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from datetime import date, datetime
from enum import Enum
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


class SerialError(ValueError):
    """Stored data that does not fit the type it is read as. One line."""


def dump(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: dump(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): dump(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [dump(v) for v in value]
    return value


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def load(cls: type[T], data: Any) -> T:
    return _load(cls, data, cls.__name__)


def _load(kind: Any, data: Any, where: str) -> Any:
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if kind is Any:
        return data
    if origin in (typing.Union, types.UnionType):
        if data is None and type(None) in args:
            return None
        others = [a for a in args if a is not type(None)]
        return _load(others[0], data, where) if len(others) == 1 else data
    if data is None:
        raise SerialError(f"{where}: missing, expected {getattr(kind, '__name__', kind)}")
    if dataclasses.is_dataclass(kind):
        if not isinstance(data, Mapping):
            raise SerialError(f"{where}: expected an object for {kind.__name__}")
        hints = _hints(kind)
        values = {f.name: _load(hints[f.name], data[f.name], f"{where}.{f.name}")
                  for f in dataclasses.fields(kind) if f.init and f.name in data}
        return kind(**values)
    if origin is tuple:
        items = args[:1] * len(data) if len(args) == 2 and args[1] is Ellipsis else args
        return tuple(_load(a, v, f"{where}[{i}]") for i, (a, v) in enumerate(zip(items, data, strict=True)))
    if origin in (list, set, frozenset):
        return origin(_load(args[0], v, f"{where}[{i}]") for i, v in enumerate(data))
    if origin in (dict, Mapping, typing.Mapping) or kind in (dict, Mapping):
        value_kind = args[1] if len(args) == 2 else Any
        return {k: _load(value_kind, v, f"{where}.{k}") for k, v in data.items()}
    if isinstance(kind, type) and issubclass(kind, Enum):
        return kind(data)
    if kind is datetime:
        return datetime.fromisoformat(data)
    if kind is date:
        return date.fromisoformat(data)
    if kind is Path:
        return Path(data)
    if kind is float and isinstance(data, int):
        return float(data)
    return data
