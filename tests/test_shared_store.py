"""A store shared by several UNIX accounts, with real accounts and real permissions.

Runs only as root. A module fixture makes a group and two throwaway users (groupadd, useradd;
userdel and groupdel at the end); every `conductor` command runs as one of them, as its own
process (subprocess user=, group=, extra_groups=, umask=), in a clean environment that names the
agent explicitly. The store lives in a temp directory under /tmp that both accounts can reach.

- Set up as docs/SHARED-STORES.md says (a shared group, setgid group-writable directories,
  umask 002), the two accounts share a sprint: claims, aborts, completions and a reclaim of one
  account's stale claim by the other, and every audit event of both is in the log.
- Set up wrong (the store created with umask 022), the second account is refused with exit 2
  and one clear line, and the store is left exactly as it was.
- An audit event the account cannot write is a warning, never silent.

Which `conductor` the accounts run: the one beside this interpreter when they can execute it;
when they cannot (a venv whose base interpreter lives under a 0700 home, like /root/.pyenv), a
throwaway venv in the temp directory on a system interpreter of the same version that imports
this venv's site-packages, so the code under test is the same. Nothing outside the temp
directories changes mode.
"""

from __future__ import annotations

import grp
import hashlib
import json
import os
import pwd
import secrets
import shutil
import stat
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import CliResult

if not sys.platform.startswith("linux") or os.geteuid() != 0:
    pytest.skip(
        "shared-store tests make UNIX accounts and run commands as them: they need root on Linux",
        allow_module_level=True,
    )

SBIN = "/usr/sbin:/sbin:/usr/bin:/bin"
TOOLS = ("groupadd", "useradd", "userdel", "groupdel")
NO_ARTIFACT = "warning: completed without an artifact: the next agent gets no checkpoint\n"
SHARED_HINT = (
    "this account cannot write the store; a store shared by several accounts needs "
    "group-writable, setgid directories and umask 002"
)


@dataclass(frozen=True)
class Account:
    """A throwaway UNIX account."""

    name: str
    uid: int
    gid: int
    groups: tuple[int, ...]
    home: str


@dataclass(frozen=True)
class World:
    """The accounts, their shared group, the temp base directory and the command they run."""

    base: Path
    team: str
    team_gid: int
    a: Account
    b: Account
    conductor: str


@dataclass(frozen=True)
class Site:
    """A project and its store (NANOSTACK_STORE) in a directory of their own."""

    project: str
    store: str


def _sbin(tool: str) -> str:
    found = shutil.which(tool, path=SBIN)
    assert found is not None, tool
    return found


def _admin(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_sbin(args[0]), *args[1:]], capture_output=True, text=True, timeout=60, check=False
    )


def _env(acct: Account, bin_dir: str, site: Site | None) -> dict[str, str]:
    """A clean environment: nothing of root's, the agent named explicitly."""
    env = {
        "PATH": f"{bin_dir}:/usr/local/bin:/usr/bin:/bin",
        "HOME": acct.home,
        "USER": acct.name,
        "LOGNAME": acct.name,
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "NANOSTACK_AGENT": acct.name,
    }
    if site is not None:
        env.update(NANOSTACK_STORE=site.store, PWD=site.project)
    return env


def _spawn(
    cmd: list[str], acct: Account, *, cwd: str, env: dict[str, str], umask: int
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cmd,
        cwd=cwd,
        env=env,
        user=acct.uid,
        group=acct.gid,
        extra_groups=list(acct.groups),  # never root's: set them all
        umask=umask,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def run_as(world: World, acct: Account, site: Site, *args: str, umask: int = 0o002) -> CliResult:
    """`conductor ARGS...` as acct, in the project, with the given umask."""
    cmd = [world.conductor, *args]
    env = _env(acct, os.path.dirname(world.conductor), site)
    proc = _spawn(cmd, acct, cwd=site.project, env=env, umask=umask)
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def ok(result: CliResult, *, err: str = "") -> CliResult:
    """A success: exit 0, no traceback, and exactly err on stderr (nothing by default)."""
    assert result.rc == 0, result
    assert "Traceback" not in result.out + result.err, result
    assert result.err == err, result
    return result


def done(result: CliResult) -> CliResult:
    """A `complete` without an artifact: its own warning on stderr, and no other."""
    return ok(result, err=NO_ARTIFACT)


def tree(root: str) -> dict[str, tuple[int, int, int, int, str]]:
    """Root and every entry under it: type, mode, owner, group and a SHA-256 of its bytes (or
    its link target)."""
    paths = [root]
    for dirpath, dirnames, filenames in os.walk(root):
        paths += [os.path.join(dirpath, name) for name in dirnames + filenames]
    out: dict[str, tuple[int, int, int, int, str]] = {}
    for path in paths:
        st = os.lstat(path)
        if stat.S_ISREG(st.st_mode):
            digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        elif stat.S_ISLNK(st.st_mode):
            digest = "-> " + os.readlink(path)
        else:
            digest = ""
        out[os.path.relpath(path, root)] = (
            stat.S_IFMT(st.st_mode),
            stat.S_IMODE(st.st_mode),
            st.st_uid,
            st.st_gid,
            digest,
        )
    return out


def audit_lines(site: Site) -> list[dict[str, object]]:
    """audit.log as root reads it: one JSON object per line."""
    raw = Path(site.store, "audit.log").read_text()
    return [json.loads(line) for line in raw.splitlines()]


# ---------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def base() -> Iterator[Path]:
    """A temp directory both accounts can reach (pytest's tmp_path is under a 0700 one)."""
    path = Path(tempfile.mkdtemp(prefix="ct-shared-", dir="/tmp"))
    try:
        path.chmod(0o755)
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def accounts(base: Path) -> Iterator[tuple[str, int, Account, Account]]:
    """A group ct-<hex>-t and two users ct-<hex>-a, ct-<hex>-b in it (each with its own
    primary group), removed at the end."""
    missing = [t for t in TOOLS if shutil.which(t, path=SBIN) is None]
    if missing:
        pytest.skip(f"cannot make throwaway accounts: {', '.join(missing)} not installed")
    prefix = f"ct-{secrets.token_hex(3)}"
    team = f"{prefix}-t"
    names = [f"{prefix}-a", f"{prefix}-b"]
    made_users: list[str] = []
    made_team = False
    try:
        done = _admin("groupadd", team)
        if done.returncode != 0:
            pytest.skip(f"groupadd {team} failed: {done.stderr.strip()}")
        made_team = True
        made: list[Account] = []
        for name in names:
            home = base / f"home-{name}"
            done = _admin(
                "useradd", "--no-create-home", "--home-dir", str(home), "--user-group",
                "--groups", team, name,
            )  # fmt: skip
            if done.returncode != 0:
                pytest.skip(f"useradd {name} failed: {done.stderr.strip()}")
            made_users.append(name)
            entry = pwd.getpwnam(name)
            home.mkdir(mode=0o700)
            os.chown(home, entry.pw_uid, entry.pw_gid)
            groups = tuple(os.getgrouplist(name, entry.pw_gid))
            made.append(Account(name, entry.pw_uid, entry.pw_gid, groups, str(home)))
        gid = grp.getgrnam(team).gr_gid
        assert all(gid in acct.groups and 0 not in acct.groups for acct in made), made
        yield team, gid, made[0], made[1]
    finally:
        for name in made_users:
            _admin("userdel", name)
            try:  # userdel removes the user's own group when USERGROUPS_ENAB is on; else we do
                grp.getgrnam(name)
            except KeyError:
                continue
            _admin("groupdel", name)
        if made_team:
            _admin("groupdel", team)


def _system_python() -> str | None:
    """An interpreter of this version outside this venv's base (for the throwaway venv)."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    ours = os.path.realpath(sys.executable)
    for folder in ("/usr/local/bin", "/usr/bin", "/bin"):
        candidate = os.path.join(folder, version)
        if os.access(candidate, os.X_OK) and os.path.realpath(candidate) != ours:
            return candidate
    return None


def _probe(cmd: str, acct: Account, base: Path) -> str | None:
    """None when acct can run `cmd --version` as this checkout's conductor; else why not."""
    env = _env(acct, os.path.dirname(cmd), None)
    try:
        proc = _spawn([cmd, "--version"], acct, cwd=str(base), env=env, umask=0o022)
    except OSError as exc:
        return f"{cmd}: {exc.strerror}"
    if proc.returncode != 0 or "conductor-tui" not in proc.stdout:
        tail = (proc.stderr.strip().splitlines() or [""])[-1]
        return f"{cmd} exited {proc.returncode}: {tail}"
    return None


def _throwaway_venv(base: Path) -> str:
    """A venv in base on a system interpreter that imports this venv's site-packages; returns
    its `conductor` script, or raises RuntimeError saying why it cannot be made."""
    python = _system_python()
    if python is None:
        raise RuntimeError(f"no system python{sys.version_info.major}.{sys.version_info.minor}")
    venv = base / "venv"
    made = subprocess.run(
        [python, "-m", "venv", "--without-pip", str(venv)],
        capture_output=True,
        text=True,
        timeout=120,
        umask=0o022,
        check=False,
    )
    if made.returncode != 0:
        raise RuntimeError(f"{python} -m venv failed: {made.stderr.strip()}")
    found = list(venv.glob("lib/python3*/site-packages"))
    if len(found) != 1:
        raise RuntimeError(f"{python} -m venv made no single site-packages: {found}")
    ours = sysconfig.get_path("purelib")
    (found[0] / "conductor-under-test.pth").write_text(f"import site; site.addsitedir({ours!r})\n")
    script = venv / "bin" / "conductor"
    script.write_text(
        f"#!{venv}/bin/python\nimport sys\nfrom conductor_tui.cli import main\nsys.exit(main())\n"
    )
    for path in venv.rglob("*"):
        if not path.is_symlink():
            path.chmod(0o755 if path.is_dir() or path == script else 0o644)
    return str(script)


@pytest.fixture(scope="module")
def world(base: Path, accounts: tuple[str, int, Account, Account]) -> World:
    """The accounts and the `conductor` they can run (see the module docstring)."""
    team, gid, a, b = accounts
    ours = str(Path(sys.executable).parent / "conductor")
    why = _probe(ours, a, base)
    if why is None:
        return World(base, team, gid, a, b, ours)
    try:
        theirs = _throwaway_venv(base)
    except RuntimeError as exc:
        pytest.skip(f"the accounts cannot run conductor: {why}; and {exc}")
    why_not = _probe(theirs, a, base)
    if why_not is not None:
        pytest.skip(f"the accounts cannot run conductor: {why}; nor {why_not}")
    return World(base, team, gid, a, b, theirs)


def new_site(world: World) -> Path:
    """A fresh directory for one test's project and store."""
    path = Path(tempfile.mkdtemp(prefix="site-", dir=world.base))
    path.chmod(0o755)
    return path


def shared_site(world: World) -> Site:
    """Set up right: the project and the store owned by the shared group, setgid, 2775."""
    root = new_site(world)
    site = Site(str(root / "project"), str(root / "store"))
    for path in (site.project, site.store):
        os.mkdir(path)
        os.chown(path, -1, world.team_gid)
        os.chmod(path, 0o2775)
    return site


# ---------------------------------------------------------------------- set up right


def test_group_shared_store_two_accounts(world: World, dead_pid: tuple[int, int | None]) -> None:
    a, b = world.a, world.b
    site = shared_site(world)

    def as_a(*args: str) -> CliResult:
        return run_as(world, a, site, *args)

    def as_b(*args: str) -> CliResult:
        return run_as(world, b, site, *args)

    ok(as_a("start"))
    ok(as_a("claim", "think"))
    done(as_a("complete", "think"))
    assert ok(as_b("claim", "plan")).out.startswith(f"OK: claimed 'plan' as {b.name}")
    assert ok(as_b("abort", "plan")).out == f"OK: 'plan' released (was held by {b.name!r})\n"
    ok(as_b("claim", "plan"))
    done(as_b("complete", "plan"))

    # a stale claim of A's (its holder has exited) is reclaimed by B, who then takes the phase
    ok(as_a("claim", "build", "--ttl", "1", "--pid", str(dead_pid[0])))
    reclaimed = ok(as_b("reclaim", "build"))
    assert reclaimed.out.startswith(f"OK: reclaimed 'build' from {a.name!r} (stale: "), reclaimed
    assert f"holder pid {dead_pid[0]} is gone" in reclaimed.out
    ok(as_b("claim", "build"))
    done(as_b("complete", "build"))

    status = ok(as_a("status", "--json")).json
    phases = status["phases"]
    assert {name: (p["status"], p["agent"]) for name, p in phases.items()} == {
        "think": ("done", a.name),
        "plan": ("done", b.name),
        "build": ("done", b.name),
        "review": ("ready", ""),
        "security": ("ready", ""),
        "qa": ("ready", ""),
        "ship": ("blocked", ""),
    }, phases
    assert all(p["problems"] == [] for p in phases.values()), phases

    # nothing dropped: every event of both accounts, in order, in the log and in audit.log
    expected = [
        ("sprint_start", "", a.name),
        ("sprint_claim", "think", a.name),
        ("sprint_complete", "think", a.name),
        ("sprint_claim", "plan", b.name),
        ("sprint_abort", "plan", b.name),
        ("sprint_claim", "plan", b.name),
        ("sprint_complete", "plan", b.name),
        ("sprint_claim", "build", a.name),
        ("sprint_unstuck", "build", b.name),
        ("sprint_claim", "build", b.name),
        ("sprint_complete", "build", b.name),
    ]
    events = ok(as_b("log", "--json")).json["events"]
    assert [(e["event"], e["resource"], e["agent"]) for e in events] == expected, events
    on_disk = audit_lines(site)
    assert [(e["event"], e["resource"], e["agent"]) for e in on_disk] == expected, on_disk
    assert on_disk[8]["detail"] == f"{a.name} (stale; by {b.name})"

    # the records were written by the accounts themselves, and the setup held all the way down:
    # every entry belongs to the shared group and is group-writable, every directory is setgid
    sprint = Path(status["path"])
    assert os.stat(sprint / "think" / "done").st_uid == a.uid
    assert os.stat(sprint / "plan" / "done").st_uid == b.uid
    assert os.stat(Path(site.store, "audit.log")).st_uid == a.uid
    for rel, (kind, mode, _uid, gid, _digest) in tree(site.store).items():
        assert gid == world.team_gid, (rel, gid)
        assert mode & stat.S_IWGRP, (rel, oct(mode))
        if kind == stat.S_IFDIR:
            assert mode & stat.S_ISGID, (rel, oct(mode))


# ---------------------------------------------------------------------- set up wrong


def test_store_made_with_umask_022_refuses_the_other_account_cleanly(world: World) -> None:
    a, b = world.a, world.b
    root = new_site(world)
    os.chown(root, a.uid, a.gid)  # A's own directory; A makes the store in it
    site = Site(str(root / "project"), str(root / "store"))
    os.mkdir(site.project)
    os.chown(site.project, a.uid, a.gid)
    ok(run_as(world, a, site, "start", umask=0o022))
    ok(run_as(world, a, site, "claim", "think", umask=0o022))
    done(run_as(world, a, site, "complete", "think", umask=0o022))
    assert stat.S_IMODE(os.stat(site.store).st_mode) == 0o755
    before = tree(site.store)

    refused = run_as(world, b, site, "claim", "plan")
    assert refused.rc == 2, refused
    assert refused.out == ""
    assert "Traceback" not in refused.err
    line = refused.err_line
    assert line.startswith("ERROR: claim: permission denied ("), line
    assert SHARED_HINT in line, line
    assert tree(site.store) == before

    as_json = run_as(world, b, site, "claim", "plan", "--json")
    assert as_json.rc == 2, as_json
    assert as_json.err == ""
    data = as_json.json
    assert (data["ok"], data["word"], data["error"]) == (False, "ERROR", "disk"), data
    assert "permission denied" in data["message"] and SHARED_HINT in data["message"], data
    assert tree(site.store) == before

    # B can still read the store: only writing is refused
    phases = ok(run_as(world, b, site, "status", "--json")).json["phases"]
    assert (phases["think"]["status"], phases["think"]["agent"]) == ("done", a.name)
    assert phases["plan"]["status"] == "ready"
    assert tree(site.store) == before


def test_audit_log_the_account_cannot_write_is_a_warning(world: World) -> None:
    a, b = world.a, world.b
    site = shared_site(world)
    ok(run_as(world, a, site, "start"))
    audit = Path(site.store, "audit.log")
    audit.chmod(0o644)  # A's, and no longer group-writable; the directories still are
    before = audit.read_bytes()

    claimed = ok(
        run_as(world, b, site, "claim", "think"),
        err=f"warning: the audit event sprint_claim was not written to {audit}: "
        "Permission denied\n",
    )
    assert claimed.out.startswith(f"OK: claimed 'think' as {b.name}"), claimed

    aborted = ok(run_as(world, b, site, "abort", "think", "--json"))
    data = aborted.json
    assert data["ok"] is True
    assert data["warnings"] == [
        f"the audit event sprint_abort was not written to {audit}: Permission denied"
    ], data

    # the transitions happened; the log is as A left it, with nothing made up
    assert audit.read_bytes() == before
    status = ok(run_as(world, a, site, "status", "--json")).json
    assert status["phases"]["think"]["status"] == "ready", status
    history = os.listdir(Path(status["path"], "think", "history"))
    assert [name.split("@")[1].split("-")[0] for name in history] == ["aborted"], history


def test_umask_022_on_a_shared_store_breaks_it_until_the_documented_repair(world: World) -> None:
    a, b = world.a, world.b
    site = shared_site(world)
    ok(run_as(world, a, site, "start", umask=0o022))
    ok(run_as(world, a, site, "claim", "think", umask=0o022))
    done(run_as(world, a, site, "complete", "think", umask=0o022))
    before = tree(site.store)
    refused = run_as(world, b, site, "claim", "plan")
    assert refused.rc == 2, refused
    assert SHARED_HINT in refused.err_line and "permission denied" in refused.err_line
    assert tree(site.store) == before

    # the repair in docs/SHARED-STORES.md, word for word
    for cmd in (
        ["chgrp", "-R", world.team, site.store],
        ["chmod", "-R", "g+rwX", site.store],
        ["find", site.store, "-type", "d", "-exec", "chmod", "g+s", "{}", "+"],
    ):
        subprocess.run(cmd, check=True, capture_output=True, timeout=60)
    ok(run_as(world, b, site, "claim", "plan"))
    done(run_as(world, b, site, "complete", "plan"))
    phases = ok(run_as(world, a, site, "status", "--json")).json["phases"]
    assert (phases["plan"]["status"], phases["plan"]["agent"]) == ("done", b.name)
