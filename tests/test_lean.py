"""The lean records (core/lean.py) are kept in step with pydantic: on any document, the strict
reader accepts only what pydantic accepts, with the very same values, and what it does not
accept is pydantic's to decide, so a record read from disk is what it was with pydantic models.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conductor_tui.core import models
from conductor_tui.core.lean import LITERALS, MISSING, Lean, Reject, pydantic_twin

RECORDS: list[type[Lean]] = [
    models.PhaseDef,
    models.SprintRecord,
    models.LockMeta,
    models.OwnerRecord,
    models.DoneRecord,
    models.EndRecord,
    models.AuditEvent,
    models.StoreConfig,
]
VIEWS: list[type[Lean]] = [models.LockView, models.PhaseView, models.BatchView, models.SprintView]

# JSON values that exercise every checker: right types, near misses, and what pydantic coerces
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
    st.sampled_from(
        ["12", "1.5", " 7 ", "true", "held", "done", "read", "fenced", "\ud800", "aborted"]
    ),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)


def typed(annotation: str) -> st.SearchStrategy[Any]:
    """Values of the annotation's own type, so that the strict reader's accepting path is
    exercised as much as its refusals."""
    text = annotation.split("|")[0].strip()
    optional = "None" in annotation
    simple: dict[str, st.SearchStrategy[Any]] = {
        "str": st.text(max_size=8),
        "int": st.integers(min_value=-(2**64), max_value=2**64),
        "float": st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers()),
        "bool": st.booleans(),
        "list[str]": st.lists(st.text(max_size=4), max_size=3),
        "list[Any]": st.lists(scalars, max_size=3),
    }
    if text in simple:
        strategy = simple[text]
    elif text in LITERALS:
        strategy = st.sampled_from(sorted(LITERALS[text]))
    elif text.startswith("Literal["):
        strategy = st.sampled_from(["fenced", "upstream", "upstream-file", "unknown"])
    else:
        strategy = values
    return st.one_of(st.none(), strategy) if optional else strategy


def documents(cls: type[Lean]) -> st.SearchStrategy[dict[str, Any]]:
    """Dicts with some of cls's fields (and sometimes a stranger), each any JSON value."""
    names = [name for name, *_ in cls.__lean_fields__]
    field_values: dict[str, st.SearchStrategy[Any]] = {}
    for name, annotation, *_ in cls.__lean_fields__:
        if annotation.startswith("list[PhaseDef]"):
            field_values[name] = st.lists(documents(models.PhaseDef), max_size=2)
        elif annotation.startswith("list[PhaseView]"):
            field_values[name] = st.just([])
        else:
            field_values[name] = st.one_of(typed(annotation), values)
    required = {
        name: typed(annotation) if not annotation.startswith("list[P") else field_values[name]
        for name, annotation, default, factory in cls.__lean_fields__
        if default is MISSING and factory is None
    }
    anything = st.fixed_dictionaries({}, optional={**field_values, "extra_key": values})
    well_typed = st.fixed_dictionaries(
        required,
        optional={
            **{n: v for n, v in field_values.items() if n not in required},
            "extra_key": values,
        },
    )
    return st.one_of(anything.filter(lambda d: bool(d) or not names), well_typed)


def verdicts(cls: type[Lean], doc: dict[str, Any]) -> tuple[Any, Any]:
    """(lean strict reader's dump or 'reject', pydantic's dump or 'error')."""
    try:
        lean: Any = cls._strict(doc).model_dump()
    except Reject:
        lean = "reject"
    try:
        theirs: Any = pydantic_twin(cls).model_validate(doc).model_dump()
    except ValueError:
        theirs = "error"
    return lean, theirs


@pytest.mark.parametrize("cls", RECORDS, ids=lambda c: c.__name__)
@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_the_strict_reader_never_disagrees_with_pydantic(cls: type[Lean], data: Any) -> None:
    doc = data.draw(documents(cls))
    lean, theirs = verdicts(cls, doc)
    if lean != "reject":
        assert theirs != "error", (doc, lean)
        assert json.dumps(lean, sort_keys=True) == json.dumps(theirs, sort_keys=True)
    # and model_validate, which falls back to pydantic, always says what pydantic says
    try:
        ours: Any = cls.model_validate(doc).model_dump()
    except ValueError:
        ours = "error"
    assert json.dumps(ours, sort_keys=True) == json.dumps(theirs, sort_keys=True)


GOOD = {
    models.OwnerRecord: {
        "agent": "codex-1",
        "token": "3-0123456789abcdef",
        "epoch": 3,
        "claimed_at": "2026-11-21T10:02:11Z",
        "heartbeat_at": "2026-11-21T10:02:11.125Z",
        "ttl_s": 3600,
        "host": "box",
        "holder_pid": 4242,
        "holder_start": 99,
        "sprint_id": "3f2a9c1b7d4e-20261121-094744",
        "phase": "plan",
    },
    models.LockMeta: {"agent": "claude-1", "claimed_at": "2026-11-21T10:02:11Z", "pid": 48211},
    models.DoneRecord: {
        "agent": "a",
        "completed_at": "2026-11-21T10:40:03Z",
        "artifact": "",
        "token": "1-0123456789abcdef",
        "epoch": 1,
        "sha256": "ab" * 32,
        "unknown_upstream_key": {"kept": [1, 2]},
    },
    models.SprintRecord: {
        "sprint_id": "3f2a9c1b7d4e-20261121-094744",
        "project": "/home/dev/shop",
        "phases": [
            {"name": "think", "depends_on": []},
            {"name": "plan", "depends_on": ["think"], "concurrency": "read", "x": 1},
        ],
    },
    models.AuditEvent: {"at": "2026-11-21T10:02:11Z", "event": "sprint_claim", "resource": "p"},
    models.EndRecord: {"how": "aborted", "by": "a", "at": "2026-11-21T10:02:11Z"},
}


@pytest.mark.parametrize("cls", list(GOOD), ids=lambda c: c.__name__)
def test_what_the_store_writes_is_read_without_pydantic(cls: type[Lean]) -> None:
    doc = GOOD[cls]
    lean, theirs = verdicts(cls, doc)
    assert lean != "reject"
    assert lean == theirs
    # unknown keys are kept and written back after the fields, as pydantic does
    assert list(lean) == list(theirs)


@pytest.mark.parametrize("cls", RECORDS + VIEWS, ids=lambda c: c.__name__)
def test_twins_have_the_same_fields_and_defaults(cls: type[Lean]) -> None:
    twin = pydantic_twin(cls)
    assert list(twin.model_fields) == [name for name, *_ in cls.__lean_fields__]
    for name, _annotation, default, factory in cls.__lean_fields__:
        info = twin.model_fields[name]
        if factory is not None:
            assert info.default_factory is factory
        elif default is not MISSING:
            assert info.default == default


def test_views_round_trip_through_model_dump_and_model_validate() -> None:
    lock = models.LockView(form="fenced", verdict="held", agent="a", token="1-0123456789abcdef")
    done = models.DoneRecord(agent="b", completed_at="t", extra_key=[1])
    phases = [
        models.PhaseView(
            name="a", depends_on=[], status="held", state="running", lock=lock, notes=["n"]
        ),
        models.PhaseView(name="b", depends_on=["a"], status="done", state="done", done=done),
    ]
    view = models.SprintView(
        sprint_id="s",
        project="/p",
        path="/p/s",
        store="/st",
        status="active",
        now=1.0,
        phases=phases,
    )
    again = models.SprintView.model_validate(view.model_dump())
    assert again == view
    assert again.phase("b") is again.phases[1]
    assert again.phases[1].agent == "b"
    copied = view.phases[0].model_copy(update={"status": "stale"})
    assert copied.status == "stale" and view.phases[0].status == "held"
    assert copied.lock is view.phases[0].lock  # shallow, as pydantic's model_copy
    assert models.DoneRecord.model_validate(done.model_dump()).model_dump(exclude_none=True) == {
        "agent": "b",
        "completed_at": "t",
        "artifact": "",
        "extra_key": [1],
    }


def test_a_wrong_type_is_refused_with_pydantics_message() -> None:
    with pytest.raises(ValueError, match="1 validation error for LockMeta"):
        models.LockMeta.model_validate({"agent": "a", "pid": "not a pid"})
    # a number written as a string is what pydantic accepts, and so do we
    assert models.LockMeta.model_validate({"pid": "12"}).pid == 12
    with pytest.raises(ValueError):
        models.OwnerRecord.model_validate(["not", "an", "object"])


def test_frozen_records_hash_and_refuse_writes() -> None:
    from conductor_tui.core.paths import Identity

    who = Identity("alice", "--agent")
    assert hash(who) == hash(Identity("alice", "--agent"))
    with pytest.raises(AttributeError):
        who.agent = "bob"  # type: ignore[misc]
    with pytest.raises(TypeError):
        hash(models.DoneRecord())


@settings(max_examples=2000, deadline=None)
@given(
    stamp=st.datetimes(
        min_value=__import__("datetime").datetime(1, 1, 2),
        max_value=__import__("datetime").datetime(9999, 12, 30),
    ),
    millis=st.booleans(),
)
def test_our_stamps_are_read_as_datetime_reads_them(stamp: Any, millis: bool) -> None:
    """liveness reads its own stamps without importing datetime, to the same value."""
    import datetime

    from conductor_tui.core.liveness import _parse_utc, parse_iso

    text = (
        f"{stamp.year:04d}-{stamp.month:02d}-{stamp.day:02d}"
        f"T{stamp.hour:02d}:{stamp.minute:02d}:{stamp.second:02d}"
    )
    if millis:
        text += f".{stamp.microsecond // 1000:03d}"
    text += "Z"
    want = datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    assert _parse_utc(text) == want
    assert parse_iso(text) == want


@pytest.mark.parametrize(
    "text",
    [
        "2026-02-29T00:00:00Z",
        "2026-13-01T00:00:00Z",
        "2026-11-21T24:00:00Z",
        "2026-11-21 10:02:11Z",
        "2026-11-21T10:02:11.1234Z",
        "2026-11-21T10:02:11+00:00",
        "２０26-11-21T10:02:11Z",
    ],
)
def test_other_stamps_are_left_to_datetime(text: str) -> None:
    import datetime

    from conductor_tui.core.liveness import _parse_utc, parse_iso

    assert _parse_utc(text) is None
    try:
        want: float | None = datetime.datetime.fromisoformat(
            text.replace("Z", "+00:00")
        ).timestamp()
    except ValueError:
        want = None
    assert parse_iso(text) == want


def test_the_vocabulary_words_are_the_literal_types_arguments() -> None:
    import typing

    from conductor_tui.core import vocab

    for name, words in vocab.WORDS.items():
        assert typing.get_args(getattr(vocab, name)) == words
        assert getattr(models, name) is getattr(vocab, name)


class _Zero(Lean):
    pass


class _One(Lean, frozen=True):
    a: int


class _Two(Lean):
    a: int
    b: str = "x"


def test_equality_compares_every_field_whatever_their_number() -> None:
    assert _Zero() == _Zero()
    assert _One(a=1) == _One(a=1) and hash(_One(a=1)) == hash(_One(a=1))
    assert _One(a=1) != _One(a=2)
    assert _Two(a=1) == _Two(a=1, b="x")
    assert _Two(a=1) != _Two(a=1, b="y")
    assert _Two(a=1) != _Two(a=2)
    assert _One(a=1) != _Two(a=1)  # another class is never equal


def test_views_that_differ_in_one_nested_value_are_not_equal() -> None:
    """What the loader relies on to tell a changed phase: a lock's age alone makes it unequal."""
    lock = models.LockView(form="fenced", verdict="held", agent="a", age_s=1.0)
    pv = models.PhaseView(name="a", depends_on=[], status="held", state="running", lock=lock)
    same = pv.model_copy(update={"lock": lock.model_copy()})
    older = pv.model_copy(update={"lock": lock.model_copy(update={"age_s": 2.0})})
    assert pv == same
    assert pv != older
