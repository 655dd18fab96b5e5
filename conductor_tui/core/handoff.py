"""The hand-off between phases: checkpoint templates, the context page, resume and verify."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .artifacts import ArtifactCheck, check_artifact
from .fs import write_file_durable
from .graph import topo_order
from .jsonio import dumps
from .liveness import iso
from .models import PhaseView
from .paths import check_phase
from .store import Sprint

if TYPE_CHECKING:
    from .checkpoint import Checkpoint

RESERVED = frozenset({"conductor", "skills", "artifacts"})  # the store's own folders
TEMPLATE_NOTE = "Fill in context_checkpoint: the next agent reads it instead of your chat log."


def template(phase: str, sprint_id: str, agent: str) -> dict[str, Any]:
    """An artifact to fill in, with every checkpoint field present."""
    return {
        "phase": phase,
        "sprint_id": sprint_id,
        "agent": agent,
        "note": TEMPLATE_NOTE,
        "context_checkpoint": {
            "summary": "",
            "key_files": [],
            "decisions_made": [],
            "open_questions": [],
        },
    }


def write_template(
    sprint: Sprint, phase: str, agent: str, out: str | None, root: str | None = None
) -> str:
    """Write a template artifact (never over an existing file); returns its path.

    The default place is <root>/<phase>/<UTC stamp>.json, root being the store's folder (beside
    upstream's artifacts) unless given (a database store has no folder).
    """
    check_phase(phase)
    sprint.phase_dir(phase)  # an unknown phase is refused before anything is written
    data = dumps(template(phase, sprint.sprint_id, agent))
    if out is not None:
        write_file_durable(out, data)  # a path the user chose is never overwritten
        return os.path.abspath(out)
    stamp = iso(sprint.store.clock()).replace(":", "").replace("-", "")
    # a phase named like the store's own folders gets a folder of its own
    sub = (phase,) if phase not in RESERVED else ("artifacts", phase)
    folder = os.path.join(sprint.store.root if root is None else root, *sub)
    os.makedirs(folder, exist_ok=True)
    for n in range(1, 1000):
        path = os.path.join(folder, f"{stamp}.json" if n == 1 else f"{stamp}-{n}.json")
        try:
            write_file_durable(path, data)
        except FileExistsError:
            continue  # two templates in one second: the next free name
        return os.path.abspath(path)
    raise FileExistsError(folder)


@dataclass
class Completed:
    """One completed phase as the context page shows it."""

    phase: str
    agent: str
    completed_at: str
    artifact: str
    check: ArtifactCheck | None

    @property
    def checkpoint(self) -> Checkpoint | None:
        """The checkpoint, when the artifact still has a valid one."""
        return self.check.checkpoint if self.check else None


@dataclass
class Context:
    """What an agent joining mid-sprint must know, in graph order."""

    sprint_id: str
    project: str
    completed: list[Completed] = field(default_factory=list)
    in_progress: list[PhaseView] = field(default_factory=list)
    ready: list[str] = field(default_factory=list)
    blocked: list[PhaseView] = field(default_factory=list)
    attention: list[PhaseView] = field(default_factory=list)


def context(sprint: Sprint) -> Context:
    """The sprint on one page: checkpoints of done phases, then what runs, then what is next."""
    view = sprint.view()
    out = Context(sprint_id=view.sprint_id, project=view.project)
    for name in topo_order(sprint.record.phases):
        pv = view.phase(name)
        if pv is None:
            continue
        if pv.status == "done" and pv.done is not None:
            d = pv.done
            out.completed.append(
                Completed(name, d.agent, d.completed_at, d.artifact, check_artifact(d))
            )
        elif pv.status in ("held", "suspect"):
            out.in_progress.append(pv)
        elif pv.status == "ready":
            out.ready.append(name)
        elif pv.status == "blocked":
            out.blocked.append(pv)
        else:
            out.attention.append(pv)
    return out


def verify(sprint: Sprint) -> list[tuple[str, ArtifactCheck]]:
    """Every done phase's artifact, re-read and compared with its recorded SHA-256."""
    checks = []
    for pv in sprint.view().phases:
        if pv.done is not None:
            check = check_artifact(pv.done)
            if check is not None:
                checks.append((pv.name, check))
    return checks


@dataclass
class Resume:
    """What the calling agent was doing: the phases it holds, else what it can claim next."""

    agent: str
    holding: list[PhaseView]
    ready: list[str]
    done_by_me: list[str]


def resume(sprint: Sprint, agent: str) -> Resume:
    """The calling agent's claims (with their tokens), else the phases it can claim now."""
    view = sprint.view()
    holding = [
        pv
        for pv in view.phases
        if pv.lock is not None and pv.lock.agent == agent and pv.status != "done"
    ]
    ready = [pv.name for pv in view.phases if pv.status == "ready"]
    mine = [pv.name for pv in view.phases if pv.done is not None and pv.done.agent == agent]
    return Resume(agent, holding, ready, mine)
