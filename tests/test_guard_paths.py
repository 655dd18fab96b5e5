"""Where a write lands (conductor_tui.guard.where): paths resolved as the kernel opens them.

No path is exempt by its spelling: symlinks are followed, /proc/self/cwd is the command's
directory, /dev/fd and other /proc paths are unknown, and unknown counts as inside.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conductor_tui.guard.where import Scope, resolve


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    project = tmp_path / "shop"
    (project / "src").mkdir(parents=True)
    (project / ".nanostack").mkdir()
    (tmp_path / "scratch").mkdir()
    return project


def test_relative_paths_start_from_the_command_directory(tree: Path) -> None:
    assert resolve("src/app.py", str(tree)).path == str(tree / "src" / "app.py")
    assert resolve("../../shop/src", str(tree / "src")).path == str(tree / "src")
    assert resolve("x", None).path is None  # from a directory nobody knows: unknown


def test_symlinks_are_followed_and_dotdot_climbs_from_where_they_lead(tree: Path) -> None:
    scratch = tree.parent / "scratch"
    (scratch / "link").symlink_to(tree / "src")
    assert resolve(f"{scratch}/link/app.py", None).path == str(tree / "src" / "app.py")
    # the kernel climbs from the link's target, not from the link's parent
    assert resolve(f"{scratch}/link/../x", None).path == str(tree / "x")
    (scratch / "rel").symlink_to("../shop/src")
    assert resolve(f"{scratch}/rel/a", None).path == str(tree / "src" / "a")
    (scratch / "loop").symlink_to(scratch / "loop")
    assert resolve(f"{scratch}/loop/x", None).path is None  # too many links


def test_proc_self_cwd_is_the_command_directory(tree: Path) -> None:
    here = str(tree / "src")
    assert resolve("/proc/self/cwd/app.py", here).path == str(tree / "src" / "app.py")
    assert resolve("/proc/thread-self/cwd/../x", here).path == str(tree / "x")
    assert resolve("/proc/self/root" + str(tree), here).path == str(tree)
    assert resolve("/proc/self/cwd/app.py", None).path is None
    for path in ("/proc/1/cwd/x", "/proc/self/exe", "/proc/sys/x", "/proc/self/fd/3/x"):
        assert resolve(path, here).path is None, path


def test_descriptors_are_unknown_except_the_agents_own_streams(tree: Path) -> None:
    for path in ("/dev/fd/3", "/dev/fd/3/../x", "/dev/fd/0", "/dev/stdin", "/proc/self/fd/9"):
        where = resolve(path, str(tree))
        assert where.path is None and not where.sink, path
    for path in ("/dev/stdout", "/dev/stderr", "/dev/fd/1", "/proc/self/fd/2", "/dev/null"):
        assert resolve(path, str(tree)).sink, path
    # after `1<file` or `>&3`, /dev/stdout may be a file of the project
    assert resolve("/dev/stdout", str(tree), std_ok=False).path is None


def test_a_file_with_other_names_is_unknown(tree: Path) -> None:
    (tree / "src" / "app.py").write_text("x")
    outside = tree.parent / "scratch" / "same.py"
    os.link(tree / "src" / "app.py", outside)
    assert resolve(str(outside), None).path is None


def test_the_store_exempts_only_what_is_really_in_it(tree: Path) -> None:
    scope = Scope.of(str(tree), [str(tree / ".nanostack")], home=str(tree.parent / "home"))
    assert scope.place(str(tree / ".nanostack" / "review" / "r.json")) == "store"
    assert scope.place(str(tree / "src" / "app.py")) == "project"
    assert scope.place(str(tree.parent / "scratch" / "x")) == "outside"
    dotdot = resolve(f"{tree}/.nanostack/../src/app.py", None).path
    assert dotdot is not None and scope.place(dotdot) == "project"
    (tree / ".nanostack" / "src-link").symlink_to(tree / "src")
    linked = resolve(f"{tree}/.nanostack/src-link/app.py", None).path
    assert linked is not None and scope.place(linked) == "project"


def test_files_that_decide_what_later_commands_run_are_the_tree(tree: Path) -> None:
    home = tree.parent / "home"
    scope = Scope.of(str(tree), [], home=str(home))
    for name in (".gitconfig", ".bashrc", ".claude/settings.json", ".codex/hooks.json"):
        assert scope.place(str(home / name)) == "project", name
    assert scope.place(str(home / "notes.md")) == "outside"


def test_without_a_project_every_path_is_the_tree_but_the_store(tree: Path) -> None:
    scope = Scope.of(None, [str(tree / ".nanostack")])
    assert scope.place("/tmp/x") == "project"
    assert scope.place(str(tree / ".nanostack" / "x")) == "store"
    assert scope.show(str(tree / "src")) == str(tree / "src")
