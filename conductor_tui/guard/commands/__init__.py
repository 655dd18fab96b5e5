"""What each known program writes, in every spelling of its options.

A handler reads one command (its name and arguments, where it runs) and raises Mutation when it
writes into the tree; file targets go through Classifier.check, which resolves them and lets
writes outside the project or into the store pass. A handler that runs another command hands it
back to the classifier one level deeper. Unknown programs write nothing by themselves here: the
guard reads command lines, not programs (docs/GUARD.md says what that leaves to the sandbox).
"""

from __future__ import annotations

from . import archives, builds, code, conductor, files, git, network, runners, tools
from .base import handler

__all__ = ["handler"]
_MODULES = (archives, builds, code, conductor, files, git, network, runners, tools)  # registered
