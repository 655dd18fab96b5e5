"""Artifacts and their context checkpoints: read safely, checked against the recorded SHA-256."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import BadInput
from .jsonio import MAX_ARTIFACT, MalformedJSON, loads_strict, read_bytes_nofollow
from .models import DoneRecord

if TYPE_CHECKING:  # pydantic is imported when a checkpoint is read (core/checkpoint.py)
    from .checkpoint import Checkpoint


@dataclass
class ArtifactCheck:
    """What the recorded artifact of a done phase looks like now."""

    path: str
    recorded_sha256: str | None
    actual_sha256: str | None = None
    problem: str | None = None
    checkpoint: Checkpoint | None = None
    checkpoint_problem: str | None = None

    @property
    def changed(self) -> bool:
        """True when the file no longer matches the SHA-256 recorded at completion."""
        return (
            self.recorded_sha256 is not None
            and self.actual_sha256 is not None
            and self.actual_sha256 != self.recorded_sha256
        )


# pydantic's error types said in JSON's terms, for people and agents who write JSON
JSON_WORDS = {
    "dict_type": "must be a JSON object",
    "model_type": "must be a JSON object",
    "model_attributes_type": "must be a JSON object",
    "list_type": "must be a JSON array",
    "string_type": "must be a string",
    "missing": "is required but missing",
    "string_too_short": "is empty: say what was done and what matters",
}


def checkpoint_of(parsed: Any) -> tuple[Checkpoint | None, str | None]:
    """The artifact's context_checkpoint, or the reason it has none usable."""
    if not isinstance(parsed, dict):
        return None, "the artifact is not a JSON object"
    raw = parsed.get("context_checkpoint")
    if raw is None:
        return None, "the artifact has no context_checkpoint"
    from .checkpoint import Checkpoint

    try:
        return Checkpoint.model_validate(raw), None
    except ValueError as exc:
        errors = getattr(exc, "errors", None)
        if callable(errors):
            first = errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ()))
            where = f"context_checkpoint.{where}" if where else "context_checkpoint"
            kind = first.get("type", "")
            return None, f"{where} {JSON_WORDS.get(kind, first.get('msg', 'is invalid').lower())}"
        return None, f"context_checkpoint is invalid: {exc}"


def require_checkpoint(parsed: Any) -> Checkpoint:
    """The artifact's checkpoint, or BadInput saying precisely what is missing or wrong."""
    checkpoint, problem = checkpoint_of(parsed)
    if checkpoint is None:
        raise BadInput(
            f"{problem}; the next agent reads it instead of your chat log. Write one with "
            "`conductor artifact new PHASE`, or pass --allow-no-checkpoint"
        )
    if not checkpoint.summary.strip():
        raise BadInput("context_checkpoint.summary is empty: say what was done and what matters")
    return checkpoint


def check_artifact(done: DoneRecord) -> ArtifactCheck | None:
    """Re-read a done record's artifact (never through a symlink) and compare its SHA-256."""
    if not done.artifact:
        return None
    check = ArtifactCheck(path=done.artifact, recorded_sha256=done.sha256)
    try:
        data = read_bytes_nofollow(done.artifact, limit=MAX_ARTIFACT)
    except FileNotFoundError:
        check.problem = "the artifact file is gone"
        return check
    except MalformedJSON as exc:
        check.problem = f"the artifact {exc}"
        return check
    except OSError as exc:
        check.problem = f"the artifact cannot be read: {exc.strerror}"
        return check
    check.actual_sha256 = hashlib.sha256(data).hexdigest()
    if check.changed:
        check.problem = "the artifact changed after completion (SHA-256 differs)"
    try:
        parsed = loads_strict(data, limit=MAX_ARTIFACT)
    except MalformedJSON as exc:
        check.checkpoint_problem = f"the artifact is no longer valid JSON: {exc}"
        return check
    check.checkpoint, check.checkpoint_problem = checkpoint_of(parsed)
    return check
