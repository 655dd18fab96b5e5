"""Artifacts judged by the file opened, without /proc (core/opening.py).

Both ways are run here: the walk from `/` (Linux, the BSDs) and the kernel naming the open file
(F_GETPATH on macOS), the latter played on Linux by a test-only namer that reads
/proc/self/fd (the tests may read /proc; the package never does).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from conductor_tui.core.errors import BadInput
from conductor_tui.core.opening import open_file, resolved, still_there, walk_open
from conductor_tui.core.store import Store

CHECKPOINT = {"summary": "s", "key_files": [], "decisions_made": [], "open_questions": []}
HAS_PROC_FD = os.path.isdir("/proc/self/fd")


def proc_namer(fd: int) -> str:
    """F_GETPATH as Linux has it: the kernel's name of an open file."""
    return os.readlink(f"/proc/self/fd/{fd}")


NAMERS: list[Callable[[int], str] | None] = [None]
if HAS_PROC_FD:
    NAMERS.append(proc_namer)


@pytest.fixture(params=NAMERS, ids=lambda n: "walk" if n is None else "kernel-names-it")
def namer(request: pytest.FixtureRequest) -> Callable[[int], str] | None:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def world(tmp_path: Path) -> tuple[Store, Path, Path]:
    project = tmp_path / "project"
    (project / "sub").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    return Store(str(tmp_path / "store")), project, outside


def write(path: Path, where: str) -> Path:
    path.write_text(json.dumps({"context_checkpoint": CHECKPOINT, "where": where}))
    return path


def test_a_file_inside_is_read(world: tuple[Store, Path, Path], namer: object) -> None:
    store, project, _ = world
    art = write(project / "sub" / "a.json", "inside")
    real, _sha, parsed = store.load_artifact(str(art), str(project), named=namer)  # type: ignore[arg-type]
    assert real == os.path.realpath(art) and parsed["where"] == "inside"
    via_dots = str(project / "sub" / ".." / "sub" / "a.json")
    assert store.load_artifact(via_dots, str(project), named=namer)[0] == real  # type: ignore[arg-type]


def test_a_symlinked_folder_to_outside_is_outside(
    world: tuple[Store, Path, Path], namer: object
) -> None:
    store, project, outside = world
    write(outside / "a.json", "OUTSIDE")
    (project / "via").symlink_to(outside)
    with pytest.raises(BadInput, match="outside the project and the store"):
        store.load_artifact(str(project / "via" / "a.json"), str(project), named=namer)  # type: ignore[arg-type]


def test_a_symlink_is_refused(world: tuple[Store, Path, Path], namer: object) -> None:
    store, project, outside = world
    (project / "l.json").symlink_to(write(outside / "a.json", "OUTSIDE"))
    with pytest.raises(BadInput, match="is a symlink"):
        store.load_artifact(str(project / "l.json"), str(project), named=namer)  # type: ignore[arg-type]


def test_the_walk_never_follows_a_folder_symlink(world: tuple[Store, Path, Path]) -> None:
    """What a folder swapped for a symlink after the path was resolved meets: ELOOP/ENOTDIR."""
    _, project, outside = world
    write(outside / "a.json", "OUTSIDE")
    (project / "via").symlink_to(outside)
    with pytest.raises(OSError):
        walk_open(str(project / "via" / "a.json"))  # as if resolved before the swap
    with pytest.raises(OSError):
        walk_open(str(project / "via"))


def test_a_file_replaced_after_the_open_is_noticed(world: tuple[Store, Path, Path]) -> None:
    _, project, outside = world
    art = write(project / "a.json", "inside")
    fd, real = open_file(str(art))
    try:
        assert real == resolved(str(art)) and still_there(fd, str(art), real)
        os.rename(write(project / "b.json", "other"), art)  # another file under that name
        assert not still_there(fd, str(art), real)
    finally:
        os.close(fd)
    fd, real = open_file(str(project / "a.json"))
    try:
        os.rename(project, outside / "moved")  # the project's folder itself moved away
        assert not still_there(fd, str(project / "a.json"), real)
    finally:
        os.close(fd)


def test_a_kernel_name_outside_is_outside(world: tuple[Store, Path, Path]) -> None:
    """Where the kernel names the open file, its name decides, not the path given."""
    store, project, outside = world
    art = write(project / "a.json", "inside")
    with pytest.raises(BadInput, match="outside the project and the store"):
        store.load_artifact(str(art), str(project), named=lambda fd: str(outside / "a.json"))
    with pytest.raises(BadInput, match="moved while it was read"):  # named inside, not this file
        store.load_artifact(
            str(art), str(project), named=lambda fd: str(project / "sub" / "other.json")
        )


@pytest.mark.skipif(
    os.geteuid() == 0 or not sys.platform.startswith("linux"), reason="root reads all"
)
def test_a_folder_one_may_search_but_not_list(world: tuple[Store, Path, Path]) -> None:
    store, project, _ = world
    art = write(project / "sub" / "a.json", "inside")
    os.chmod(project / "sub", 0o311)
    try:
        assert store.load_artifact(str(art), str(project))[2]["where"] == "inside"
    finally:
        os.chmod(project / "sub", 0o755)
