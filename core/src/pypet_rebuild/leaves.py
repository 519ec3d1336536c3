"""Parameters and results: the leaves that hold a trajectory's data."""

from __future__ import annotations

from typing import Any

from pypet_rebuild.errors import (
    ExplorationError,
    InvalidNameError,
    NodeNotFoundError,
    ParameterLockedError,
    StorageError,
)
from pypet_rebuild.storage.untrusted import pickled_items, reveal
from pypet_rebuild.tree import Leaf
from pypet_rebuild.values import check_parameter_value, check_result_value, type_key

__all__ = ["Parameter", "Result"]


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value).replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Parameter(Leaf):
    """A default value and, once explored, a range of values of one type.

    Reading the value locks the parameter, so that a run cannot silently use
    a value that differs from the one stored with it.
    """

    def __init__(self, name: str, value: Any = None, comment: str = "") -> None:
        super().__init__(name, comment)
        self._default: Any = None
        self._range: list[Any] | None = None
        self._locked = False
        self._loaded = True
        if value is not None:
            self._set_default(value)

    # -- value -------------------------------------------------------------------

    @property
    def value(self) -> Any:
        """The value for the current run (the default outside runs); locks."""
        self._ensure_loaded()
        self._locked = True
        return self._current()

    @value.setter
    def value(self, new: Any) -> None:
        self.set(new)

    def _current(self) -> Any:
        if self._range is not None:
            root = self.root
            idx = root.idx if root is not None else -1
            if idx >= 0:
                return self._range[idx]
        return self._default

    def set(self, value: Any) -> None:
        """Change the default value; an error once locked or explored."""
        if self._locked:
            raise ParameterLockedError(
                f"parameter {self.full_name!r} is locked because its value has been used; "
                f"call traj.get({self.full_name!r}).unlock() first if you really mean to change it"
            )
        if self._range is not None:
            raise ParameterLockedError(
                f"parameter {self.full_name!r} is explored; change its range with expand() instead"
            )
        self._set_default(value)

    def _set_default(self, value: Any) -> None:
        check_parameter_value(value)
        self._default = value
        self._loaded = True

    @property
    def default(self) -> Any:
        self._ensure_loaded()
        return self._default

    @property
    def locked(self) -> bool:
        return self._locked

    def lock(self) -> None:
        self._locked = True

    def unlock(self) -> None:
        self._locked = False

    # -- exploration ---------------------------------------------------------------

    @property
    def is_explored(self) -> bool:
        return self._range is not None

    @property
    def range(self) -> list[Any]:
        """The explored values, or ``[default]`` if not explored."""
        self._ensure_loaded()
        return list(self._range) if self._range is not None else [self._default]

    def _checked_range(self, values: list[Any]) -> list[Any]:
        if not values:
            raise ExplorationError(f"exploring {self.full_name!r} with an empty list of values")
        expected = type_key(self._default) if self._default is not None else type_key(values[0])
        for i, item in enumerate(values):
            check_parameter_value(item)
            if type_key(item) != expected:
                raise ExplorationError(
                    f"parameter {self.full_name!r} holds values of type {expected}, but explored "
                    f"value #{i} ({_short(item)}) is {type_key(item)}; give every value the same type"
                )
        return values

    def _explore(self, values: list[Any]) -> None:
        self._range = self._checked_range(list(values))
        if self._default is None:
            self._default = self._range[0]

    def _expand(self, values: list[Any]) -> None:
        self._range = (self._range or []) + self._checked_range(list(values))

    # -- storage plumbing ------------------------------------------------------------

    def _ensure_loaded(self) -> None:
        if not self._loaded:
            root = self.root
            if root is None:
                raise StorageError(f"the data of {self.full_name!r} is not loaded")
            root._load_leaf(self)

    def _fast_value(self) -> Any:
        return self.value

    def _summary(self) -> str:
        if not self._loaded:
            return "(not loaded)"
        if self._range is not None:
            return f"{_short(self._current())} (explored, {len(self._range)} values)"
        return _short(self._default)


class Result(Leaf):
    """Named items of any storable value, e.g. ``add_result("gen", x=..., fitness=...)``.

    A single positional value is stored under the result's own name, so
    ``traj.add_result("z", 3.0)`` is read back as ``traj.z``.
    """

    def __init__(self, name: str, *args: Any, comment: str = "", allow_pickle: bool = False, **items: Any) -> None:
        super().__init__(name, comment)
        self._items: dict[str, Any] | None = {}
        self._pickled: set[str] = set()
        self.set(*args, allow_pickle=allow_pickle, **items)

    def set(self, *args: Any, allow_pickle: bool = False, **items: Any) -> None:
        """Add or replace items; ``allow_pickle`` stores unsupported types by pickling."""
        if len(args) > 1:
            raise TypeError(
                f"result {self.name!r} takes at most one positional value; name the others, "
                "e.g. add_result('gen', x=..., fitness=...)"
            )
        if args:
            items = {self.name: args[0], **items}
        self._ensure_loaded()
        assert self._items is not None
        for key, value in items.items():
            if not (isinstance(key, str) and key.isidentifier()):
                raise InvalidNameError(f"invalid item name {key!r} for result {self.name!r}: use an identifier")
            if allow_pickle:
                try:
                    check_result_value(value)
                except Exception:
                    self._pickled.add(key)
            else:
                check_result_value(value)
                self._pickled.discard(key)
            self._items[key] = value

    def get(self, item: str | None = None) -> Any:
        """One item; without a name, the only item (an error if there are several)."""
        items = self.items()
        if item is None:
            if len(items) != 1:
                raise NodeNotFoundError(
                    f"result {self.full_name!r} holds {sorted(items)}; say which item you want"
                )
            return next(iter(items.values()))
        if item not in items:
            raise NodeNotFoundError(
                f"result {self.full_name!r} has no item {item!r}; it holds {sorted(items)}"
            )
        return reveal(items[item], allowed=False, where=f"item {item!r} of result {self.full_name!r}")

    def items(self) -> dict[str, Any]:
        """Every item; pickled ones unpickled if the trajectory allows it, else
        left as ``PickledValue`` placeholders that refuse to be used."""
        self._ensure_loaded()
        assert self._items is not None
        root = self.root
        if root is not None and getattr(root, "allow_pickle", False):
            for key in pickled_items(self._items):
                self._items[key] = reveal(self._items[key], allowed=True, where=f"{self.full_name}.{key}")
        return dict(self._items)

    def keys(self) -> list[str]:
        return list(self.items())

    def __getitem__(self, item: str) -> Any:
        return self.get(item)

    def __contains__(self, item: object) -> bool:
        return item in self.items()

    def __getattr__(self, item: str) -> Any:
        if item.startswith("_"):
            raise AttributeError(item)
        return self.get(item)

    def __len__(self) -> int:
        return len(self.items())

    @property
    def pickled_items(self) -> tuple[str, ...]:
        return tuple(sorted(self._pickled))

    def _ensure_loaded(self) -> None:
        if self._items is None:
            root = self.root
            if root is None:
                raise StorageError(f"the data of {self.full_name!r} is not loaded")
            root._load_leaf(self)

    def _fast_value(self) -> Any:
        items = self.items()
        if len(items) == 1 and self.name in items:
            return self.get(self.name)
        return self

    def _summary(self) -> str:
        if self._items is None:
            return "(not loaded)"
        return ", ".join(f"{k}={_short(v, 30)}" for k, v in self._items.items())
