"""Making instances of a frozen, slotted dataclass faster on a hot path.

A frozen dataclass's own __init__ sets each field through object.__setattr__, looked up and
bound anew per field: a 15-field object costs about twice what setting its slots through their
descriptors does. A hot path's builder function sets them that way: `slot_setters(cls, names)`
gives the setters, after checking that `names` are the class's fields in declaration order (so
a builder cannot put a value in the wrong field, or miss one added later). The instance is
the same as __init__ makes (same class, equal, frozen afterwards); defaults, default
factories and __post_init__ are not applied, so builders pass every field and are used only
for classes without __post_init__.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

Setter = Callable[[Any, Any], None]


def slot_setters(cls: type, *names: str) -> tuple[Setter, ...]:
    """The slot setters of `cls`'s fields, which must be exactly `names` in that order."""
    if not dataclasses.is_dataclass(cls) or "__slots__" not in cls.__dict__:
        raise TypeError(f"{cls.__name__} is not a slotted dataclass")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__} has a __post_init__ that a builder would skip")
    fields = tuple(f.name for f in dataclasses.fields(cls))
    if fields != names:
        raise TypeError(f"{cls.__name__} builder names {names}, the class has {fields}")
    return tuple(cls.__dict__[name].__set__ for name in names)
