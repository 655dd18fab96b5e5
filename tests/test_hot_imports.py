"""The commands agents call all day import only what they need (issue 11).

A bare interpreter starts in about 20 ms; pydantic alone takes 40 ms more to import, and the
argument parser of every subcommand took 10 ms. So each hot command runs in a fresh interpreter
here, and the modules it left in sys.modules are checked against what it may import: a new
import on these paths fails this test instead of quietly slowing every claim. Where a module
is allowed only for a reason, the reason is beside it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import IDENTITY_VARS

# Top-level packages the hot commands must never import.
FORBIDDEN = {
    "pydantic": "records are read by the lean reader (core/lean.py)",
    "pydantic_core": "the same",
    "typing_extensions": "pulled in by pydantic",
    "annotated_types": "pulled in by pydantic",
    "textual": "the app's, never the command line's",
    "rich": "the app's",
    "watchdog": "the app's",
    "dataclasses": "imports inspect: 7 ms; core records are lean.Lean classes",
    "inspect": "5 ms",
    "shutil": "argparse imports it to size help text; our formatter does not",
    "secrets": "random, hmac and base64 with it; fs.token_hex reads os.urandom",
    "socket": "the host name is os.uname().nodename",
    "hashlib": "OpenSSL's loader costs 2.5 ms; paths hashes with CPython's own sha256",
    "subprocess": "nothing on these paths runs a process",
    "typing": "2 ms: annotations are the checker's (TYPE_CHECKING = False in each module)",
    "datetime": "1.3 ms: liveness reads our own stamps itself",
    "argparse": "the hot argument lists are read by cli_fast; argparse only for the rest",
    "gettext": "argparse's",
    "locale": "argparse's gettext's",
    "signal": "its enums cost 0.5 ms; SIGPIPE is reset through _signal",
}

# The package's own modules these commands may import; anything else (doctor, handoff,
# artifacts, drawing, estimate, the guard, the TUI) belongs to other commands.
ALLOWED_OWN = {
    "conductor_tui",
    "conductor_tui.cli",
    "conductor_tui.cli_fast",
    "conductor_tui.storespec",  # where the store is (os only; config.json parsed if it names a db)
    "conductor_tui.text",
    "conductor_tui.core",
    "conductor_tui.core.audit",
    "conductor_tui.core.ending",
    "conductor_tui.core.errors",
    "conductor_tui.core.faults",
    "conductor_tui.core.fs",
    "conductor_tui.core.graph",
    "conductor_tui.core.jsonio",
    "conductor_tui.core.layout",
    "conductor_tui.core.lean",
    "conductor_tui.core.limits",
    "conductor_tui.core.liveness",
    "conductor_tui.core.models",
    "conductor_tui.core.paths",
    "conductor_tui.core.process",  # process facts; imports psutil only when a pid is judged
    "conductor_tui.core.reading",
    "conductor_tui.core.store",
    "conductor_tui.core.vocab",
}

PROBE = """
import json, sys
from conductor_tui import cli
rc = cli.main({argv!r})
sys.stdout.flush()
print("\\nMODULES=" + json.dumps(sorted(sys.modules)) + " RC=" + str(rc))
"""


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    project = tmp_path / "project"
    project.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in IDENTITY_VARS}
    env.pop("CONDUCTOR_CRASH_AT", None)
    env.update(NANOSTACK_STORE=str(tmp_path / "store"), NANOSTACK_AGENT="hot", PWD=str(project))
    return project, env


def modules_after(argv: list[str], project: Path, env: dict[str, str]) -> tuple[int, set[str]]:
    """Run `conductor ARGV` in a fresh interpreter: its exit code and every module it imported."""
    proc = subprocess.run(
        [sys.executable, "-c", PROBE.format(argv=argv)],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("MODULES="))
    listed, _, rc = line[len("MODULES=") :].rpartition(" RC=")
    return int(rc), set(json.loads(listed))


# psutil (issue 14: process facts on every platform, no /proc of our own) costs about 16 ms on
# this project's machines with what it imports (socket, subprocess, datetime, signal, threading,
# enum...). It is imported by core/process.py on the first pid judged, never at import: so only
# a command that judges a holder process pays for it (claim, for its own holder; status, next
# and why when a lock of this host is held), and the others stay as lean as before (checked
# below). Where psutil is in, what it brought is psutil's, not ours; the rest is checked as ever.
PSUTIL = """
import json, sys
import conductor_tui.cli, conductor_tui.core.store, conductor_tui.core.liveness
before = set(sys.modules)
import psutil
print(json.dumps(sorted(set(sys.modules) - before)))
"""


def psutil_brings() -> set[str]:
    """The modules `import psutil` adds to those the command line has already imported."""
    proc = subprocess.run(
        [sys.executable, "-c", PSUTIL], capture_output=True, text=True, timeout=60, check=True
    )
    return set(json.loads(proc.stdout))


def check(modules: set[str], psutil_modules: set[str] | None = None) -> list[str]:
    """What a hot command imported that it must not, with the reason."""
    if "psutil" in modules and psutil_modules:
        modules = modules - psutil_modules
    bad = [f"{m}: {FORBIDDEN[m]}" for m in sorted(modules) if m in FORBIDDEN]
    own = [m for m in sorted(modules) if m.split(".")[0] == "conductor_tui"]
    bad += [f"{m}: not a hot-path module" for m in own if m not in ALLOWED_OWN]
    return bad


def test_the_check_sees_a_forbidden_import(project: tuple[Path, dict[str, str]]) -> None:
    cwd, env = project
    assert modules_after(["start"], cwd, env)[0] == 0
    rc, modules = modules_after(["status"], cwd, env)
    assert rc == 0
    assert check(modules | {"pydantic", "conductor_tui.core.doctor"}) == [
        f"pydantic: {FORBIDDEN['pydantic']}",
        "conductor_tui.core.doctor: not a hot-path module",
    ]


def test_hot_commands_import_only_what_they_need(project: tuple[Path, dict[str, str]]) -> None:
    cwd, env = project
    rc, _ = modules_after(["start"], cwd, env)
    assert rc == 0
    brings = psutil_brings()
    assert "psutil" in brings
    # (argv, whether it judges a holder process, so imports psutil)
    sequence = [
        (["status"], False),  # nothing held: no process to judge
        (["claim", "think"], True),  # its own holder: the nearest ancestor that is not a shell
        (["heartbeat", "think"], False),
        (["status"], True),  # think held by a process of this host
        (["status", "--json"], True),
        (["next"], True),
        (["next", "--json"], True),
        (["abort", "think"], False),
        (["claim", "think", "--json"], True),
        (["complete", "think"], False),
        (["status"], False),  # with a done record to read, and nothing held
        (["next"], False),
        (["claim", "plan", "--ttl", "600"], True),
        (["status", "--json"], True),  # a held lock judged: its stamps read without datetime
        (["claim", "--agent", "other", "plan"], True),  # refused: held by another
    ]
    for argv, judges in sequence:
        rc, modules = modules_after(argv, cwd, env)
        assert rc == (1 if "other" in argv else 0), argv
        assert check(modules, brings) == [], argv
        assert ("psutil" in modules) == judges, argv


def test_complete_with_an_artifact_validates_it_with_pydantic(
    project: tuple[Path, dict[str, str]],
) -> None:
    """pydantic stays where it checks what comes from outside: an artifact's checkpoint."""
    cwd, env = project
    assert modules_after(["start"], cwd, env)[0] == 0
    assert modules_after(["claim", "think"], cwd, env)[0] == 0
    artifact = cwd / "think.json"
    checkpoint = {"summary": "s", "key_files": [], "decisions_made": [], "open_questions": []}
    artifact.write_text(json.dumps({"context_checkpoint": checkpoint}))
    rc, modules = modules_after(["complete", "think", "--artifact", str(artifact)], cwd, env)
    assert rc == 0
    assert "pydantic" in modules


def test_the_app_imports_pydantic_only_when_it_reads_a_checkpoint() -> None:
    """The app's first paint does not wait for pydantic (a tenth of a second): importing the
    app leaves it out; reading an artifact's checkpoint brings it in."""
    checkpoint = {"summary": "s", "key_files": ["a.py"], "decisions_made": [], "open_questions": []}
    code = (
        "import sys\n"
        "from conductor_tui.tui.app import ConductorApp\n"
        "from conductor_tui.tui.main import main\n"
        "from conductor_tui.core import artifacts\n"
        "before = 'pydantic' in sys.modules\n"
        f"cp, problem = artifacts.checkpoint_of({{'context_checkpoint': {checkpoint!r}}})\n"
        "print(before, 'pydantic' in sys.modules, cp.key_files, problem)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False", "True", "['a.py']", "None"]
