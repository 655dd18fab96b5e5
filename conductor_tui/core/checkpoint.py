"""The context checkpoint an artifact carries, as a pydantic model.

Its own module so that pydantic (about a tenth of a second to import) is imported only when an
artifact's checkpoint is read: a reader that shows a sprint with no artifact never pays it.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Checkpoint(BaseModel):
    """The context checkpoint an artifact carries for the next agent."""

    model_config = ConfigDict(extra="allow", defer_build=True)

    summary: str = Field(min_length=1)
    key_files: list[str] = Field(default_factory=list)
    decisions_made: list[Any] = Field(default_factory=list)
    open_questions: list[Any] = Field(default_factory=list)
