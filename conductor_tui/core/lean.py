"""Lean record classes: the store's models without pydantic on the hot paths.

Importing pydantic and building its model classes costs more than a whole `conductor claim`
may take (the interpreter alone is about 20 ms; pydantic's import is 40 ms or more). So the
records and views are plain classes built from their annotations by `Lean`, and a record read
from disk is checked by a strict reader made from those same annotations: it accepts only the
exact JSON types (a string for `str`, an integer for `int`, a number for `float`...). Anything it
does not accept (a number written as a string, a wrong type, a missing field) goes to pydantic,
which is imported then, with a model generated from the same annotations (`pydantic_twin`): its
verdict and its error message are the answer, so a lean read never accepts what pydantic would
refuse, and never refuses what pydantic would accept. `tests/test_lean.py` checks both on random
documents.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter

from . import vocab

TYPE_CHECKING = False  # typing is 2 ms of every command: the checker's alone
if TYPE_CHECKING:
    from typing import Any, Self, TypeVar, dataclass_transform, overload

    _T = TypeVar("_T")
else:

    def dataclass_transform(**_kwargs: object) -> Callable[[type], type]:
        """typing.dataclass_transform does nothing at run time either."""
        return lambda cls: cls


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class _Field:
    __slots__ = ("default", "factory")

    def __init__(self, default: Any, factory: Callable[[], Any] | None) -> None:
        self.default = default
        self.factory = factory


if TYPE_CHECKING:

    @overload
    def field(*, default_factory: Callable[[], _T]) -> _T: ...
    @overload
    def field(*, default: _T) -> _T: ...


def field(*, default: Any = MISSING, default_factory: Callable[[], Any] | None = None) -> Any:
    """A field's default made by a factory (a fresh list for each record), as dataclasses do."""
    return _Field(default, default_factory)


# ---------------------------------------------------------------------- strict checkers


class Reject(Exception):
    """The strict reader does not accept this value (pydantic decides instead)."""


_INT_LIMIT = 1 << 63  # pydantic-core's fast integers; beyond, leave the verdict to pydantic


def _check_str(value: Any) -> Any:
    if type(value) is not str:
        raise Reject
    if not value.isascii():
        try:
            value.encode("utf-8")  # a lone surrogate from \ud800 in JSON: pydantic's call
        except UnicodeEncodeError:
            raise Reject from None
    return value


def _check_int(value: Any) -> Any:
    if type(value) is not int or not -_INT_LIMIT < value < _INT_LIMIT:
        raise Reject
    return value


def _check_float(value: Any) -> Any:
    if type(value) is float:
        return value
    if type(value) is int and -_INT_LIMIT < value < _INT_LIMIT:
        return float(value)
    raise Reject


def _check_bool(value: Any) -> Any:
    if type(value) is not bool:
        raise Reject
    return value


def _check_any(value: Any) -> Any:
    return value


def _optional(inner: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        return None if value is None else inner(value)

    return check


def _list_of(inner: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if type(value) is not list:
            raise Reject
        return [inner(item) for item in value]

    return check


def _one_of(allowed: frozenset[str]) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if type(value) is not str or value not in allowed:
            raise Reject
        return value

    return check


def _nested(cls: type[Lean]) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if type(value) is not dict:
            raise Reject
        return cls._strict(value)

    return check


_SIMPLE: dict[str, Callable[[Any], Any]] = {
    "str": _check_str,
    "int": _check_int,
    "float": _check_float,
    "bool": _check_bool,
    "Any": _check_any,
}

# The Literal aliases of vocab.py, by name, with their values.
LITERALS: dict[str, frozenset[str]] = {
    name: frozenset(words) for name, words in vocab.WORDS.items()
}
# Every Lean class by name, so that an annotation string can name another record.
_CLASSES: dict[str, type[Lean]] = {}


def _split_top(text: str, sep: str) -> list[str]:
    """Split text at sep where it is not inside brackets."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        elif depth == 0 and text.startswith(sep, i):
            parts.append(text[start:i].strip())
            start = i + len(sep)
    parts.append(text[start:].strip())
    return parts


def _checker(annotation: str) -> Callable[[Any], Any]:
    """The strict checker of one annotation string (the forms the models use)."""
    options = _split_top(annotation, "|")
    if len(options) > 1:
        rest = [o for o in options if o != "None"]
        if len(rest) != 1 or len(options) != 2:
            raise TypeError(f"unsupported annotation {annotation!r}")
        return _optional(_checker(rest[0]))
    text = options[0]
    if text in _SIMPLE:
        return _SIMPLE[text]
    if text.startswith("list[") and text.endswith("]"):
        return _list_of(_checker(text[5:-1]))
    if text.startswith("Literal[") and text.endswith("]"):
        values = [v.strip().strip("'\"") for v in _split_top(text[8:-1], ",")]
        return _one_of(frozenset(values))
    if text in LITERALS:
        return _one_of(LITERALS[text])
    if text in _CLASSES:
        return _nested(_CLASSES[text])
    raise TypeError(f"unsupported annotation {annotation!r}")


# ---------------------------------------------------------------------- the base class


def _dump(value: Any, exclude_none: bool) -> Any:
    if isinstance(value, Lean):
        return value.model_dump(exclude_none=exclude_none)
    if isinstance(value, list):
        return [_dump(v, exclude_none) for v in value]
    if isinstance(value, dict):
        return {k: _dump(v, exclude_none) for k, v in value.items()}
    return value


def _getter(names: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    """The values of these attributes of an object, as a tuple, read in C (operator.attrgetter):
    equality of two records compares them, a hot path of every reload."""
    if len(names) > 1:
        return attrgetter(*names)
    if names:
        one = attrgetter(names[0])
        return lambda obj: (one(obj),)
    return lambda _obj: ()


@dataclass_transform(kw_only_default=True, field_specifiers=(field,))
class Lean:
    """A record class made from its annotations: construction with defaults (keyword-only for
    the type checker unless the class says `kw_only=False`), equality, a repr, and the part of
    pydantic's API the project uses (model_dump, model_copy, model_construct, model_validate).
    Unknown keys are kept when the class sets `lean_extra = True`, and written back by
    model_dump after the fields, as pydantic does."""

    __lean_fields__: tuple[tuple[str, str, Any, Callable[[], Any] | None], ...] = ()
    __lean_names__: frozenset[str] = frozenset()
    __lean_order__: tuple[str, ...] = ()
    __lean_defaults__: dict[str, Any] = {}
    __lean_factories__: tuple[tuple[str, Callable[[], Any]], ...] = ()
    __lean_required__: frozenset[str] = frozenset()
    __lean_frozen__: bool = False
    lean_extra: bool = False
    __lean_checks__: dict[str, Callable[[Any], Any]] | None = None
    __lean_twin__: Any = None
    __lean_extra_values__: dict[str, Any] | None = None
    __lean_values__: Callable[[Any], tuple[Any, ...]] = staticmethod(lambda _self: ())

    def __init_subclass__(
        cls, *, frozen: bool = False, kw_only: bool = True, **kwargs: Any
    ) -> None:
        super().__init_subclass__(**kwargs)
        fields = {name: rest for name, *rest in cls.__lean_fields__}
        # inspect.get_annotations would import inspect (5 ms): the class dict is enough here
        for name, annotation in cls.__dict__.get("__annotations__", {}).items():  # noqa: RUF063
            if not isinstance(annotation, str):
                annotation = getattr(annotation, "__name__", repr(annotation))
            if annotation.startswith(("ClassVar", "typing.ClassVar")):
                continue
            default: Any = cls.__dict__.get(name, MISSING)
            factory = None
            if isinstance(default, _Field):
                default, factory = default.default, default.factory
                if default is MISSING:
                    delattr(cls, name)
                else:
                    setattr(cls, name, default)
            fields.pop(name, None)  # a redefinition moves to the end, as in dataclasses
            fields[name] = [annotation, default, factory]
        cls.__lean_fields__ = tuple((n, a, d, f) for n, (a, d, f) in fields.items())
        cls.__lean_names__ = frozenset(fields)
        cls.__lean_order__ = tuple(fields)
        cls.__lean_values__ = _getter(tuple(fields))
        cls.__lean_defaults__ = {
            n: d for n, (_, d, f) in fields.items() if f is None and d is not MISSING
        }
        cls.__lean_factories__ = tuple((n, f) for n, (_, _, f) in fields.items() if f is not None)
        cls.__lean_required__ = frozenset(
            n for n, (_, d, f) in fields.items() if f is None and d is MISSING
        )
        cls.__lean_frozen__ = frozen or cls.__lean_frozen__
        cls.__lean_checks__ = None
        cls.__lean_twin__ = None
        # frozen records hash by value; others are unhashable, as pydantic's and dataclasses'
        hasher = Lean.__frozen_hash__ if cls.__lean_frozen__ else None
        setattr(cls, "__hash__", hasher)  # noqa: B010  (mypy refuses the plain assignment)
        _CLASSES[cls.__name__] = cls

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Written for speed (a status of 1,000 phases builds 7,000 of these): the defaults in
        # one update, the given values in another, straight into the instance's dict.
        cls = type(self)
        if args:
            kwargs = cls._positional(args, kwargs)
        values = self.__dict__
        values.update(cls.__lean_defaults__)
        for name, factory in cls.__lean_factories__:
            if name not in kwargs:
                values[name] = factory()
        names = cls.__lean_names__
        if not names.issuperset(kwargs):
            extra = {k: v for k, v in kwargs.items() if k not in names}
            if not cls.lean_extra:
                raise TypeError(f"{cls.__name__} has no field {next(iter(extra))!r}")
            kwargs = {k: v for k, v in kwargs.items() if k in names}
            values["__lean_extra_values__"] = extra
        values.update(kwargs)
        if not cls.__lean_required__.issubset(kwargs):
            missing = sorted(cls.__lean_required__.difference(kwargs))
            raise TypeError(f"{cls.__name__} needs {', '.join(map(repr, missing))}")

    @classmethod
    def _positional(cls, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        order = cls.__lean_order__
        if len(args) > len(order):
            raise TypeError(f"{cls.__name__} takes {len(order)} positional arguments")
        given = dict(zip(order, args, strict=False))
        for name in kwargs:
            if name in given:
                raise TypeError(f"{cls.__name__} got {name!r} twice")
        given.update(kwargs)
        return given

    # ------------------------------------------------------------------ object protocol

    def __setattr__(self, name: str, value: Any) -> None:
        if self.__lean_frozen__:
            raise AttributeError(f"{type(self).__name__} is frozen: cannot set {name!r}")
        object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        extra = self.__dict__.get("__lean_extra_values__")
        if extra is not None and name in extra:
            return extra[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _values(self) -> tuple[Any, ...]:
        return type(self).__lean_values__(self)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, Lean)
        return (
            self._values() == other._values()
            and self.__lean_extra_values__ == other.__lean_extra_values__
        )

    def __frozen_hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={getattr(self, name)!r}" for name, *_ in self.__lean_fields__)
        return f"{type(self).__name__}({inner})"

    def __copy__(self) -> Self:
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new.__dict__.pop("_by_name", None)  # a cached property of the old object
        return new

    # ------------------------------------------------------------------ pydantic's API

    def model_dump(self, *, exclude_none: bool = False) -> dict[str, Any]:
        """The record as plain data: fields in order, then the unknown keys kept from disk."""
        out: dict[str, Any] = {}
        for name, *_ in self.__lean_fields__:
            value = getattr(self, name)
            if value is None and exclude_none:
                continue
            out[name] = _dump(value, exclude_none)
        for name, value in (self.__lean_extra_values__ or {}).items():
            if value is None and exclude_none:
                continue
            out[name] = _dump(value, exclude_none)
        return out

    def model_copy(self, *, update: dict[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy with some fields replaced (not validated, as pydantic's model_copy)."""
        if deep:
            import copy

            new = copy.deepcopy(self)
        else:
            new = self.__copy__()
        if new.__lean_extra_values__ is not None and not deep:
            object.__setattr__(new, "__lean_extra_values__", dict(new.__lean_extra_values__))
        for name, value in (update or {}).items():
            object.__setattr__(new, name, value)
        return new

    @classmethod
    def model_construct(cls, **values: Any) -> Self:
        """Build without any check (pydantic's model_construct)."""
        return cls(**values)

    @classmethod
    def model_validate(cls, data: Any) -> Self:
        """Check data read from outside: the strict reader, else pydantic's verdict."""
        if type(data) is dict:
            try:
                return cls._strict(data)
            except Reject:
                pass
        return cls._from_pydantic(data)

    @classmethod
    def _strict(cls, data: dict[str, Any]) -> Self:
        checks = cls.__lean_checks__
        if checks is None:
            checks = {name: _checker(annotation) for name, annotation, *_ in cls.__lean_fields__}
            cls.__lean_checks__ = checks
        values: dict[str, Any] = {}
        for name, value in data.items():
            check = checks.get(name)
            if check is not None:
                values[name] = check(value)
            elif cls.lean_extra:
                values[name] = value
            else:
                raise Reject  # pydantic ignores unknown keys here; let it say so
        for name, _annotation, default, factory in cls.__lean_fields__:
            if name not in values and default is MISSING and factory is None:
                raise Reject
        return cls(**values)

    @classmethod
    def _from_pydantic(cls, data: Any) -> Self:
        """pydantic's verdict (its ValidationError is a ValueError), turned into this class."""
        twin = pydantic_twin(cls)
        checked = twin.model_validate(data)
        return cls._adopt(checked.model_dump())

    @classmethod
    def _adopt(cls, data: dict[str, Any]) -> Self:
        """Build from data pydantic has already checked and converted (nested records too)."""
        values: dict[str, Any] = {}
        for name, value in data.items():
            values[name] = cls._adopt_value(name, value)
        return cls(**values)

    @classmethod
    def _adopt_value(cls, name: str, value: Any) -> Any:
        annotation = next((a for n, a, *_ in cls.__lean_fields__ if n == name), None)
        if annotation is None or value is None:
            return value
        target = annotation.split("|")[0].strip()
        if target.startswith("list[") and isinstance(value, list):
            inner = _CLASSES.get(target[5:-1])
            return [inner._adopt(v) for v in value] if inner else value
        nested = _CLASSES.get(target)
        if nested is not None and isinstance(value, dict):
            return nested._adopt(value)
        return value


def pydantic_twin(cls: type[Lean]) -> Any:
    """The pydantic model with the same fields, types, defaults and extra-key rule as cls,
    built on first use (the only place the store imports pydantic)."""
    if cls.__lean_twin__ is not None:
        return cls.__lean_twin__
    import sys
    import typing

    from pydantic import ConfigDict, Field, create_model

    module = sys.modules[cls.__module__]
    namespace = dict(vars(module))
    namespace.update({name: getattr(vocab, name) for name in vocab.WORDS})
    for name, other in _CLASSES.items():
        if other is not cls and any(name in a for _, a, *_ in cls.__lean_fields__):
            namespace[name] = pydantic_twin(other)
    fields: dict[str, Any] = {}
    for name, annotation, default, factory in cls.__lean_fields__:
        kind = eval(annotation, {"typing": typing, **vars(typing)}, namespace)
        if factory is not None:
            fields[name] = (kind, Field(default_factory=factory))
        elif default is MISSING:
            fields[name] = (kind, ...)
        else:
            fields[name] = (kind, default)
    config = ConfigDict(extra="allow" if cls.lean_extra else "ignore")
    twin = create_model(cls.__name__, __config__=config, **fields)
    cls.__lean_twin__ = twin
    return twin
