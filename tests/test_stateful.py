"""A stateful model of one store: every operation's outcome and the stored invariants.

Hypothesis drives claim, heartbeat, complete, abort, reclaim, agent crashes and the clock against
a real store, and checks each outcome (success or the precise ConductorError) against a small
model, plus the invariants of PROTOCOL.md read back from what the store keeps after every step.

Both backends run the same rules and the same model: the file store on a tmp directory (its clock
moved by hand through Store(clock=...)), and PgStore on a schema of its own, one sprint per example
(a project of its own), the schema dropped after the test. PostgreSQL judges leases on the
server's clock, so there "the clock moves by s seconds" is played by moving every live claim's
stamps (claimed_at, heartbeat_at, lease_end) s seconds into the past: the same verdicts, with no
sleep. Its truth is read from the tables: phases (the live token), done, claims (every ended
claim) and events (the audit log).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from conductor_tui.core import audit
from conductor_tui.core.errors import (
    AlreadyDone,
    Blocked,
    ConductorError,
    Fenced,
    Held,
    NotOwner,
    NotStale,
    Refused,
)
from conductor_tui.core.liveness import proc_info
from conductor_tui.core.models import AuditEvent
from conductor_tui.core.paths import TOKEN_RE
from conductor_tui.core.store import Store

from .pg_server import fresh_url

T0 = 1_795_000_000  # a whole second: iso() truncates, so the model's leases stay exact
GRAPH = [
    {"name": "a", "depends_on": []},
    {"name": "b", "depends_on": ["a"]},
    {"name": "c", "depends_on": ["a"]},
    {"name": "d", "depends_on": []},
]
DEPS = {p["name"]: p["depends_on"] for p in GRAPH}
PHASES = list(DEPS)
AGENTS = ["alice", "bob", "carol"]
TTLS = [60, 600, 3600]
HOW = {"complete": "done", "abort": "aborted", "reclaim": "reclaimed"}
END_EVENT = {"done": "sprint_complete", "aborted": "sprint_abort", "reclaimed": "sprint_unstuck"}


class Clock:
    """A clock moved by hand, read by the store through Store(clock=...)."""

    def __init__(self, start: float = T0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


@cache
def dead_holder() -> tuple[int, int | None]:
    """A process that has exited and been reaped (computed once per module)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    info = proc_info(child.pid)
    child.wait()
    return child.pid, info.start if info else None


def live_holder() -> tuple[int, int | None]:
    """This test process: alive for the whole run."""
    info = proc_info(os.getpid())
    return os.getpid(), info.start if info else None


@dataclass
class PhaseModel:
    """What the model believes of one phase."""

    done: bool = False
    token: str | None = None
    holder: str | None = None
    alive: bool = True
    lease_end: float = 0.0
    ttl: float = 0.0
    last_epoch: int = 0


class LifecycleMachine(RuleBasedStateMachine):
    """One store, one sprint (a -> b, a -> c, d), three agents: the rules, the model and the
    invariants every backend keeps. A backend gives the store, the clock, and reads its truth."""

    # model seconds -> the store's seconds (ttls and clock moves): PostgreSQL's real clock runs
    # on beside the moved one, so its unit is larger than any step's real duration
    scale = 1

    def __init__(self) -> None:
        super().__init__()
        self.dir = tempfile.mkdtemp(prefix="conductor-stateful-")
        self.project = os.path.join(self.dir, "project")
        os.mkdir(self.project)
        self.now = float(T0)  # the model's clock
        self.store: Any = self.make_store()
        self.sprint: Any = self.store.start(self.project, agent="starter", phases=GRAPH)
        self.model = {p: PhaseModel() for p in PHASES}
        # the tokens each agent still remembers (a crash forgets them): (phase, token)
        self.known: dict[str, list[tuple[str, str]]] = {a: [] for a in AGENTS}
        self.ended: dict[str, tuple[str, str]] = {}  # token -> (phase, how)
        self.issued: dict[str, str] = {}  # token -> phase
        self.heartbeats: list[str] = []  # the token of each heartbeat that succeeded
        self.fenced_completes: list[str] = []  # the token of each completion refused as fenced

    def teardown(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)

    # ------------------------------------------------------------------ the backend

    def make_store(self) -> Any:
        raise NotImplementedError

    def move_clock(self, seconds: int) -> None:
        """Let the store's clock run on by `seconds` (model seconds)."""
        raise NotImplementedError

    def stored_done(self, phase: str) -> bool:
        """Whether the store holds a done record for the phase."""
        raise NotImplementedError

    def events(self) -> list[AuditEvent]:
        """This sprint's audit events, in order (every record must parse)."""
        raise NotImplementedError

    def outcome(self, expected: type[ConductorError] | None, what: str, fn: Any) -> Any:
        """Run fn; it must succeed (expected None) or raise exactly the expected error class."""
        try:
            result = fn()
        except ConductorError as exc:
            assert expected is not None, f"{what}: expected success, got {exc!r}"
            assert type(exc) is expected, (
                f"{what}: expected {expected.__name__}, got {type(exc).__name__}: {exc.message}"
            )
            assert exc.exit_code == 1, f"{what}: {exc!r} exits {exc.exit_code}"
            return None
        assert expected is None, f"{what}: expected {expected.__name__}, but it succeeded"
        return result

    def verdict(self, m: PhaseModel) -> str:
        if not m.alive:
            return "stale"
        return "held" if m.lease_end > self.now else "suspect"

    def end(self, phase: str, how: str) -> None:
        m = self.model[phase]
        assert m.token is not None
        self.ended[m.token] = (phase, how)
        m.token, m.holder = None, None
        if how == "done":
            m.done = True

    def pick(self, data: st.DataObject, prefer: list[str], everything: list[str]) -> str:
        """Mostly one of prefer (the interesting choices), sometimes anything."""
        if prefer and data.draw(st.integers(0, 3), label="prefer") > 0:
            return data.draw(st.sampled_from(prefer))
        return data.draw(st.sampled_from(everything))

    def claimable(self) -> list[str]:
        return [
            p
            for p, m in self.model.items()
            if not m.done and m.token is None and all(self.model[d].done for d in DEPS[p])
        ]

    def locked(self) -> list[str]:
        return [p for p, m in self.model.items() if m.token is not None]

    def tokenless_expectation(self, phase: str, agent: str, verb: str) -> type | None:
        m = self.model[phase]
        if m.token is None:
            return AlreadyDone if (m.done and verb != "heartbeat") else Refused
        return None if m.holder == agent else NotOwner

    def token_expectation(self, phase: str, token: str) -> type | None:
        m = self.model[phase]
        if token == m.token:
            return None
        assert token in self.ended, "a remembered token is either current or ended"
        return Fenced

    # ------------------------------------------------------------------ rules

    @rule(
        data=st.data(),
        agent=st.sampled_from(AGENTS),
        alive=st.booleans(),
        ttl=st.sampled_from(TTLS),
    )
    def claim(self, data: st.DataObject, agent: str, alive: bool, ttl: int) -> None:
        """Claim any phase (ready, blocked, held or done)."""
        self.claim_phase(data.draw(st.sampled_from(PHASES)), agent, alive, ttl)

    def claim_phase(self, phase: str, agent: str, alive: bool, ttl: int) -> None:
        m = self.model[phase]
        if m.done:
            expected: type | None = AlreadyDone
        elif any(not self.model[d].done for d in DEPS[phase]):
            expected = Blocked
        elif m.token is not None:
            expected = Held
        else:
            expected = None
        pid, start = live_holder() if alive else dead_holder()
        owner = self.outcome(
            expected,
            f"claim {phase} by {agent}",
            lambda: self.sprint.claim(
                phase, agent=agent, ttl=ttl * self.scale, holder_pid=pid, holder_start=start
            ),
        )
        if owner is None:
            return
        # a claim is granted only when every dependency is done, in the store
        for dep in DEPS[phase]:
            assert self.stored_done(dep), (phase, dep)
        # epochs strictly grow across the successful claims of a phase
        assert owner.epoch > m.last_epoch, (owner.epoch, m.last_epoch)
        assert owner.token.split("-", 1)[0] == str(owner.epoch)
        assert owner.token not in self.issued, "a token was issued twice"
        assert owner.agent == agent and owner.holder_pid == pid
        self.issued[owner.token] = phase
        m.token, m.holder, m.alive = owner.token, agent, alive
        m.ttl, m.lease_end, m.last_epoch = ttl, self.now + ttl, owner.epoch
        self.known[agent].append((phase, owner.token))

    @precondition(lambda self: self.claimable())
    @rule(
        data=st.data(),
        agent=st.sampled_from(AGENTS),
        alive=st.booleans(),
        ttl=st.sampled_from(TTLS),
    )
    def claim_ready(self, data: st.DataObject, agent: str, alive: bool, ttl: int) -> None:
        """Claim a phase the model says is ready (the common, successful case)."""
        self.claim_phase(data.draw(st.sampled_from(self.claimable())), agent, alive, ttl)

    @precondition(lambda self: any(self.known.values()))
    @rule(data=st.data())
    def heartbeat(self, data: st.DataObject) -> None:
        agent = data.draw(st.sampled_from([a for a in AGENTS if self.known[a]]))
        phase, token = data.draw(st.sampled_from(self.known[agent]))
        expected = self.token_expectation(phase, token)
        owner = self.outcome(
            expected,
            f"heartbeat {phase} {token} by {agent}",
            lambda: self.sprint.heartbeat(phase, agent=agent, token=token),
        )
        if owner is not None:
            m = self.model[phase]
            assert owner.token == token
            m.lease_end = self.now + m.ttl
            self.heartbeats.append(token)

    @precondition(lambda self: any(self.known.values()))
    @rule(data=st.data(), verb=st.sampled_from(["complete", "abort"]))
    def end_with_token(self, data: st.DataObject, verb: str) -> None:
        agent = data.draw(st.sampled_from([a for a in AGENTS if self.known[a]]))
        phase, token = data.draw(st.sampled_from(self.known[agent]))
        expected = self.token_expectation(phase, token)
        op = getattr(self.sprint, verb)
        result = self.outcome(
            expected,
            f"{verb} {phase} {token} by {agent}",
            lambda: op(phase, agent=agent, token=token),
        )
        if expected is None:
            if verb == "complete":
                assert result.token == token and result.epoch == int(token.split("-")[0])
            self.end(phase, HOW[verb])
        elif expected is Fenced and verb == "complete":
            self.fenced_completes.append(token)

    @precondition(lambda self: self.locked())
    @rule(data=st.data(), verb=st.sampled_from(["complete", "abort", "heartbeat"]))
    def act_without_token(self, data: st.DataObject, verb: str) -> None:
        """The upstream-style call: by agent name, no token."""
        phase = data.draw(st.sampled_from(self.locked()))
        holder = self.model[phase].holder
        agent = self.pick(data, [holder] if holder else [], AGENTS)
        self.act_by_name(phase, agent, verb)

    def act_by_name(self, phase: str, agent: str, verb: str) -> None:
        expected = self.tokenless_expectation(phase, agent, verb)
        m = self.model[phase]
        op = getattr(self.sprint, verb)
        result = self.outcome(
            expected, f"{verb} {phase} by {agent} without a token", lambda: op(phase, agent=agent)
        )
        if expected is not None:
            return
        if verb == "heartbeat":
            assert result.token == m.token
            m.lease_end = self.now + m.ttl
            self.heartbeats.append(result.token)
        else:
            self.end(phase, HOW[verb])

    @precondition(lambda self: any(self.known.values()))
    @rule(data=st.data(), verb=st.sampled_from(["complete", "abort", "heartbeat"]))
    def token_of_another_phase(self, data: st.DataObject, verb: str) -> None:
        """A token used on a phase it was not issued for never ends or extends that phase."""
        agent = data.draw(st.sampled_from([a for a in AGENTS if self.known[a]]))
        own_phase, token = data.draw(st.sampled_from(self.known[agent]))
        phase = data.draw(st.sampled_from([p for p in PHASES if p != own_phase]))
        m = self.model[phase]
        if m.token is not None:
            expected: type = NotOwner
        elif m.done and verb != "heartbeat":
            expected = AlreadyDone
        else:
            expected = Refused
        op = getattr(self.sprint, verb)
        self.outcome(
            expected,
            f"{verb} {phase} with {own_phase}'s token {token}",
            lambda: op(phase, agent=agent, token=token),
        )

    @precondition(lambda self: self.locked())
    @rule(data=st.data(), agent=st.sampled_from(AGENTS), force=st.booleans())
    def reclaim(self, data: st.DataObject, agent: str, force: bool) -> None:
        phase = data.draw(st.sampled_from(self.locked()))
        self.reclaim_phase(phase, agent, force)

    def reclaim_phase(self, phase: str, agent: str, force: bool) -> None:
        m = self.model[phase]
        if m.token is None:
            expected: type | None = Refused
        elif self.verdict(m) != "stale" and not force:
            expected = NotStale
        else:
            expected = None
        view = self.outcome(
            expected,
            f"reclaim {phase} by {agent} (force={force})",
            lambda: self.sprint.reclaim(phase, agent=agent, force=force),
        )
        if view is not None:
            assert view.token == m.token and view.verdict == self.verdict(m)
            self.end(phase, "reclaimed")

    @rule(
        agent=st.sampled_from(AGENTS),
        phase=st.sampled_from(PHASES),
        verb=st.sampled_from(["complete", "abort", "heartbeat", "reclaim"]),
        force=st.booleans(),
    )
    def act_on_any_phase(self, agent: str, phase: str, verb: str, force: bool) -> None:
        """Any verb on any phase, locked or not, by anyone (mostly refusals)."""
        if verb == "reclaim":
            self.reclaim_phase(phase, agent, force)
        else:
            self.act_by_name(phase, agent, verb)

    @precondition(lambda self: any(self.known.values()))
    @rule(data=st.data())
    def crash(self, data: st.DataObject) -> None:
        """An agent crashes: it forgets its tokens; whatever it held stays locked."""
        agent = data.draw(st.sampled_from([a for a in AGENTS if self.known[a]]))
        self.known[agent] = []

    @rule(seconds=st.integers(min_value=0, max_value=5000))
    def advance_clock(self, seconds: int) -> None:
        self.now += seconds
        self.move_clock(seconds)

    # ------------------------------------------------------------------ invariants (every backend)

    @invariant()
    def status_view_is_consistent(self) -> None:
        view = self.sprint.view()
        for pv in view.phases:
            m = self.model[pv.name]
            if pv.status == "done":
                assert pv.lock is None, f"{pv.name} is both done and locked"
            if m.done:
                want = "done"
            elif m.token is not None:
                want = self.verdict(m)
            elif any(not self.model[d].done for d in DEPS[pv.name]):
                want = "blocked"
            else:
                want = "ready"
            assert pv.status == want, (pv.name, pv.status, want, pv.lock)
            assert not pv.problems, (pv.name, pv.problems)
            if m.token is not None:
                assert pv.lock is not None and pv.lock.token == m.token
                assert pv.lock.agent == m.holder
        ready = [p for p in PHASES if view.phase(p).status == "ready"]  # type: ignore[union-attr]
        for p in ready:
            assert all(self.model[d].done for d in DEPS[p]), p

    @invariant()
    def the_audit_log_tells_the_models_story(self) -> None:
        """One sprint_claim per token issued, one ending event per token ended (the event of
        how it ended), one heartbeat event per heartbeat, and one sprint_fenced (detail "done")
        per completion refused as fenced: on both backends alike."""
        events = self.events()
        for event in events:
            assert isinstance(event, AuditEvent), event
        by_kind: dict[str, list[AuditEvent]] = {}
        for event in events:
            by_kind.setdefault(event.event, []).append(event)
        claims = sorted(e.token or "" for e in by_kind.get("sprint_claim", []))
        assert claims == sorted(self.issued), (claims, self.issued)
        for how, name in END_EVENT.items():
            got = sorted(e.token or "" for e in by_kind.get(name, []))
            want = sorted(t for t, (_, h) in self.ended.items() if h == how)
            assert got == want, (name, got, want)
        beats = sorted(e.token or "" for e in by_kind.get("sprint_heartbeat", []))
        assert beats == sorted(self.heartbeats), (beats, self.heartbeats)
        fenced = by_kind.get("sprint_fenced", [])
        assert sorted(e.token or "" for e in fenced) == sorted(self.fenced_completes), fenced
        assert all(e.detail == "done" for e in fenced), fenced

    @invariant()
    def doctor_finds_nothing(self) -> None:
        assert self.sprint.doctor() == []


class StoreMachine(LifecycleMachine):
    """The file store in a tmp directory, its clock moved by hand; its truth is the disk."""

    def make_store(self) -> Store:
        self.clock = Clock()
        return Store(os.path.join(self.dir, "store"), clock=self.clock)

    def move_clock(self, seconds: int) -> None:
        self.clock.now += seconds

    def stored_done(self, phase: str) -> bool:
        return os.path.isfile(os.path.join(self.pdir(phase), "done"))

    def events(self) -> list[AuditEvent]:
        out = []
        for event in audit.read(self.store.audit_path):
            assert isinstance(event, AuditEvent), event
            if event.sprint == self.sprint.sprint_id:
                out.append(event)
        return out

    def pdir(self, phase: str) -> str:
        return os.path.join(self.sprint.path, phase)

    @invariant()
    def one_token_per_lock_and_it_is_the_models(self) -> None:
        for phase, m in self.model.items():
            lock = os.path.join(self.pdir(phase), "lock")
            try:
                entries = os.listdir(lock)
            except FileNotFoundError:
                entries = None
            tokens = sorted(e for e in entries or [] if TOKEN_RE.match(e))
            assert len(tokens) <= 1, f"{phase}: {tokens}"
            assert tokens == ([m.token] if m.token else []), (phase, tokens, m.token)
            if m.token is None:
                assert entries is None, f"{phase}: a lock remains with no claim: {entries}"
            else:
                assert sorted(entries or []) == sorted([m.token, "meta.json"]), entries
            # the upstream sentinel lives exactly as long as our claim
            sentinel = os.path.isdir(os.path.join(self.pdir(phase), "lock.d"))
            assert sentinel == (m.token is not None), f"{phase}: lock.d={sentinel}"

    @invariant()
    def done_is_terminal_and_matches_the_model(self) -> None:
        for phase, m in self.model.items():
            done = os.path.join(self.pdir(phase), "done")
            assert os.path.isfile(done) == m.done, phase
            if m.done:
                assert not os.path.lexists(os.path.join(self.pdir(phase), "lock")), phase

    @invariant()
    def a_token_ends_at_most_once(self) -> None:
        for phase in PHASES:
            try:
                names = os.listdir(os.path.join(self.pdir(phase), "history"))
            except FileNotFoundError:
                names = []
            seen: dict[str, str] = {}
            for name in names:
                if name.startswith("."):
                    continue
                token, sep, rest = name.partition("@")
                assert sep and TOKEN_RE.match(token), f"{phase}: history entry {name!r}"
                assert token not in seen, f"{phase}: {token} ended twice: {seen[token]}, {name}"
                seen[token] = rest.split("-", 1)[0]
            expected = {t: how for t, (p, how) in self.ended.items() if p == phase}
            assert seen == expected, (phase, seen, expected)

    @invariant()
    def audit_log_parses(self) -> None:
        for event in audit.read(self.store.audit_path):
            assert isinstance(event, AuditEvent), event


StoreMachine.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestStoreMachine = StoreMachine.TestCase


class PgStoreMachine(LifecycleMachine):
    """PgStore on the test's schema, one sprint (and project) per example; its truth is the
    tables. A model second is ten of the server's, so that the real time a step takes (the
    server's clock runs on) never tips a verdict the model makes at a whole-second boundary."""

    scale = 10
    url = ""  # the test's schema, set by the test before the machine runs

    def make_store(self) -> Any:
        from conductor_tui.pg.store import PgStore

        return PgStore(self.url)

    def teardown(self) -> None:
        self.store.close()
        super().teardown()

    def q(self, query: str, *args: Any) -> list[tuple[Any, ...]]:
        return self.store.conn.execute(query, (self.sprint.sprint_id, *args)).fetchall()

    def move_clock(self, seconds: int) -> None:
        """The server's clock cannot be moved: move every live claim's stamps into the past."""
        self.store.conn.execute(
            "UPDATE phases SET claimed_at = claimed_at - make_interval(secs => %(d)s), "
            "heartbeat_at = heartbeat_at - make_interval(secs => %(d)s), "
            "lease_end = lease_end - make_interval(secs => %(d)s) "
            "WHERE sprint_id = %(s)s AND token IS NOT NULL",
            {"d": float(seconds * self.scale), "s": self.sprint.sprint_id},
        )

    def stored_done(self, phase: str) -> bool:
        return bool(self.q("SELECT 1 FROM done WHERE sprint_id = %s AND phase = %s", phase))

    def events(self) -> list[AuditEvent]:
        return [e for e in self.store.events(sprint=self.sprint.sprint_id) if e.sprint]

    @invariant()
    def one_row_per_phase_its_token_the_models(self) -> None:
        rows = {
            name: (state, token, agent)
            for name, state, token, agent in self.q(
                "SELECT name, state, token, agent FROM phases WHERE sprint_id = %s"
            )
        }
        assert sorted(rows) == sorted(PHASES), rows
        for phase, m in self.model.items():
            state, token, agent = rows[phase]
            want = "done" if m.done else ("running" if m.token else "pending")
            assert (state, token, agent) == (want, m.token, m.holder), (phase, rows[phase])

    @invariant()
    def done_is_terminal_and_is_the_completed_tokens(self) -> None:
        done = dict(self.q("SELECT phase, token FROM done WHERE sprint_id = %s"))
        completed = {p: t for t, (p, how) in self.ended.items() if how == "done"}
        assert done == completed, (done, completed)

    @invariant()
    def a_token_ends_at_most_once(self) -> None:
        rows = self.q("SELECT token, phase, how FROM claims WHERE sprint_id = %s")
        ended = {token: (phase, how) for token, phase, how in rows}
        assert len(ended) == len(rows), rows
        assert ended == self.ended, (ended, self.ended)


@pytest.fixture
def pg_url() -> Any:
    """A store URL on a schema of its own, dropped after the test."""
    yield from fresh_url()


def test_pg_store_machine(pg_url: str) -> None:
    """The same rules, model and audit story on PgStore."""
    PgStoreMachine.url = pg_url
    run_state_machine_as_test(
        PgStoreMachine,
        settings=settings(
            max_examples=60,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
