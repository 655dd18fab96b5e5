"""`conductor-tui --demo`: a throw-away sprint worked by simulated agents, each its own process.

Every simulated agent drives the real `conductor` CLI (claim, heartbeat, complete) exactly as an AI
agent would, in a separate process that passes its own pid as the claim's holder. One of them dies
holding its lock, so the sprint shows a stale lock that a person reclaims; a rescuer then finishes
the phase and the sprint runs to the end. Imports neither textual nor watchdog.

    python -m conductor_tui.demo run [--speed X]      # the whole demo, headless
    python -m conductor_tui.demo agent --store S ...  # one simulated agent (spawned by DemoAgents)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .core.jsonio import MalformedJSON, loads_strict, read_json
from .core.paths import AGENT_RE, PHASE_RE, SPRINT_RE, TOKEN_RE
from .text import safe

HUMAN = "lead-human"
TTL_S = 20.0  # lease of every demo claim (real seconds, whatever the speed)
HEARTBEAT_S = 3.0  # heartbeat period at speed 1
RETRY_S = 0.5  # claim retry period while BLOCKED or CLAIMED
POLL_S = 0.2  # cheap wait on the store's files before asking the CLI again
SLOW_RETRY_S = 5.0  # while the files say the claim cannot win, ask the CLI only this often
CLI_TIMEOUT_S = 30.0
MAX_CLI_OUTPUT = 256 * 1024
MAX_LIFETIME_S = 1800.0  # an agent nobody stops still ends on its own
STOP_GRACE_S = 3.0
LOG_NAME = "agents.log"


@dataclass(frozen=True)
class Role:
    """One simulated agent: who it is, what phase it works and for how long (at speed 1)."""

    name: str
    phase: str
    work: float
    die: bool = False
    rescue: bool = False


CAST: tuple[Role, ...] = (
    Role("claude-5e1a90c2", "think", 4.0),
    Role("codex-7b21e0aa", "plan", 4.0),
    Role("claude-5e1a90c2", "build", 6.0),
    Role("codex-7b21e0aa", "review", 8.0),
    Role("cursor-31f0b6d2", "security", 3.0, die=True),
    Role("opencode-9c44d1e8", "qa", 7.0),
    Role("codex-7b21e0aa", "ship", 5.0),
    Role("claude-5e1a90c2", "security", 4.0, rescue=True),
)


@dataclass
class DemoEnv:
    """A demo's directories and sprint; everything lives under root."""

    root: str
    store: str
    project: str
    sprint_id: str

    @property
    def log_path(self) -> str:
        """Where the simulated agents write their log."""
        return os.path.join(self.root, LOG_NAME)


# ---------------------------------------------------------------------- the fake project

PROJECT_FILES: dict[str, str] = {
    "README.md": "# shop\n\nA tiny web shop: catalogue, cart and checkout.\n",
    "app/__init__.py": '"""The shop application."""\n',
    "app/models.py": (
        '"""Products and orders."""\n\n'
        "from dataclasses import dataclass, field\n\n\n"
        "@dataclass\nclass Product:\n    sku: str\n    name: str\n    price_cents: int\n\n\n"
        "@dataclass\nclass Order:\n"
        "    lines: list[tuple[Product, int]] = field(default_factory=list)\n"
        "    total_cents: int = 0\n"
    ),
    "app/cart.py": (
        '"""The shopping cart."""\n\n'
        "from .models import Product\n\n\n"
        "class Cart:\n"
        "    def __init__(self) -> None:\n"
        "        self.lines: dict[str, tuple[Product, int]] = {}\n\n"
        "    def add(self, product: Product, qty: int = 1) -> None:\n"
        "        _, old = self.lines.get(product.sku, (product, 0))\n"
        "        self.lines[product.sku] = (product, old + qty)\n\n"
        "    def subtotal_cents(self) -> int:\n"
        "        return sum(p.price_cents * q for p, q in self.lines.values())\n"
    ),
    "app/checkout.py": (
        '"""Checkout: turn a cart into an order."""\n\n'
        "from .cart import Cart\nfrom .models import Order\n\n\n"
        "def checkout(cart: Cart) -> Order:\n"
        "    order = Order(lines=list(cart.lines.values()))\n"
        "    order.total_cents = cart.subtotal_cents()\n"
        "    return order\n"
    ),
    "app/templates/checkout.html": (
        "<form method=post action=/checkout>\n  <p>Total: {{ total }}</p>\n"
        "  <button>Pay</button>\n</form>\n"
    ),
    "tests/test_checkout.py": (
        "from app.cart import Cart\nfrom app.checkout import checkout\n"
        "from app.models import Product\n\n\n"
        "def test_total() -> None:\n"
        "    cart = Cart()\n    cart.add(Product('mug', 'Mug', 1200), 2)\n"
        "    assert checkout(cart).total_cents == 2400\n"
    ),
}

BUILD_FILES: dict[str, str] = {
    "app/discounts.py": (
        '"""Discount codes: percent or fixed amount, validated server-side."""\n\n'
        "from dataclasses import dataclass\n\n\n"
        "@dataclass(frozen=True)\nclass Discount:\n"
        "    code: str\n    percent: int = 0\n    amount_cents: int = 0\n\n"
        "    def apply(self, subtotal_cents: int) -> int:\n"
        "        off = subtotal_cents * self.percent // 100 + self.amount_cents\n"
        "        return max(0, subtotal_cents - off)\n"
    ),
    "tests/test_discounts.py": (
        "from app.discounts import Discount\n\n\n"
        "def test_never_below_zero() -> None:\n"
        "    assert Discount('BIG', amount_cents=5000).apply(1200) == 0\n"
    ),
}

NOTES: dict[str, dict[str, Any]] = {
    "think": {
        "summary": "Shoppers want discount codes at checkout; marketing needs one-per-order codes.",
        "key_files": ["app/checkout.py", "app/cart.py", "app/models.py"],
        "decisions_made": [
            "scope: one code per order, percent or fixed amount",
            "codes are validated on the server, never trusted from the form",
        ],
        "open_questions": ["do codes stack with the free-shipping threshold?"],
    },
    "plan": {
        "summary": "Add app/discounts.py, apply it in checkout(), show the code field in the form.",
        "key_files": ["app/checkout.py", "app/models.py", "app/templates/checkout.html"],
        "decisions_made": [
            "new module app/discounts.py holds Discount.apply()",
            "Order gains discount_code and discount_cents",
            "totals are integers in cents; the discount never makes a total negative",
        ],
        "open_questions": ["expiry dates now or in a follow-up?"],
    },
    "build": {
        "summary": "Implemented Discount.apply() and wired it into checkout with unit tests.",
        "key_files": ["app/discounts.py", "app/checkout.py", "tests/test_discounts.py"],
        "decisions_made": [
            "codes are matched case-insensitively",
            "percent and fixed amounts are applied to the subtotal, before shipping",
        ],
        "open_questions": [],
    },
    "review": {
        "summary": "Code review passed with two nits (naming, one missing docstring).",
        "key_files": ["app/discounts.py", "app/checkout.py"],
        "decisions_made": ["rounding down in the customer's favour is acceptable"],
        "open_questions": ["should invalid codes be rate-limited per session?"],
    },
    "security": {
        "summary": "No injection path; invalid codes are rejected server-side; added rate limit.",
        "key_files": ["app/discounts.py", "app/checkout.py"],
        "decisions_made": [
            "the form's code is only a lookup key, never a price",
            "five wrong codes per session per minute, then a 429",
        ],
        "open_questions": [],
    },
    "qa": {
        "summary": "Checkout tested with valid, expired, unknown and over-large discounts.",
        "key_files": ["tests/test_discounts.py", "tests/test_checkout.py"],
        "decisions_made": ["a 100% code yields a zero total and still creates an order"],
        "open_questions": [],
    },
    "ship": {
        "summary": "Discount codes shipped behind the `discounts` flag; changelog updated.",
        "key_files": ["README.md", "app/discounts.py"],
        "decisions_made": ["enable the flag for 10% of sessions first"],
        "open_questions": ["when to remove the flag?"],
    },
}


def _write_text(path: str, text: str) -> None:
    """Write a file atomically (temp file, then rename)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def create_demo(base: str | None = None) -> DemoEnv:
    """Make a temp dir with a fake shop project and a store, and start the default sprint."""
    from .core.store import Store

    root = os.path.abspath(tempfile.mkdtemp(prefix="conductor-demo-", dir=base))
    try:
        project = os.path.join(root, "shop")
        for rel, text in PROJECT_FILES.items():
            _write_text(os.path.join(project, rel), text)
        store = os.path.join(root, "store")
        sprint = Store(store).start(project, agent=HUMAN)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return DemoEnv(root=root, store=store, project=project, sprint_id=sprint.sprint_id)


# ---------------------------------------------------------------------- the parent's side


def agent_argv(env: DemoEnv, role: Role, speed: float) -> list[str]:
    """The command line of one simulated agent process."""
    argv = [sys.executable, "-m", "conductor_tui.demo", "agent"]
    argv += ["--store", env.store, "--project", env.project, "--sprint", env.sprint_id]
    argv += ["--name", role.name, "--phase", role.phase, "--work", f"{role.work:g}"]
    argv += ["--speed", f"{speed:g}"]
    if role.die:
        argv.append("--die")
    if role.rescue:
        argv.append("--rescue")
    return argv


def _child_env() -> dict[str, str]:
    """The environment of agent and CLI processes: no crash injection, no inherited store."""
    env = {
        k: v for k, v in os.environ.items() if k not in ("CONDUCTOR_CRASH_AT", "NANOSTACK_STORE")
    }
    env["PYTHONUNBUFFERED"] = "1"
    return env


class DemoAgents:
    """The cast of simulated agents, each a separate process driving the real CLI."""

    def __init__(self, env: DemoEnv, *, speed: float = 1.0) -> None:
        if not 0 < speed <= 1000:
            raise ValueError(f"speed must be in (0, 1000], not {speed!r}")
        self.env = env
        self.speed = float(speed)
        self.cast: tuple[Role, ...] = CAST
        self.procs: list[tuple[Role, subprocess.Popen[bytes]]] = []
        self._lock = threading.Lock()
        self._started = False

    @property
    def pids(self) -> list[int]:
        """The pids of every agent process started (alive or not)."""
        return [p.pid for _, p in self.procs]

    def running(self) -> list[Role]:
        """The roles whose processes are still running (reaping those that have ended)."""
        with self._lock:
            return [role for role, p in self.procs if p.poll() is None]

    def start(self) -> None:
        """Spawn every simulated agent as its own process (once); they log to env.log_path."""
        with self._lock:
            if self._started:
                return
            self._started = True
            env = _child_env()
            fd = os.open(self.env.log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                for role in self.cast:
                    proc = subprocess.Popen(
                        agent_argv(self.env, role, self.speed),
                        stdin=subprocess.DEVNULL,
                        stdout=fd,
                        stderr=fd,
                        cwd=self.env.project,
                        env=env,
                        start_new_session=True,  # the terminal's ^C belongs to the TUI
                    )
                    self.procs.append((role, proc))
            finally:
                os.close(fd)

    def stop(self) -> None:
        """Terminate every agent still running: SIGTERM, a short join, then SIGKILL. Idempotent."""
        with self._lock:
            live = [p for _, p in self.procs if p.poll() is None]
            for proc in live:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + STOP_GRACE_S
            for proc in live:
                try:
                    proc.wait(timeout=max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    # not reaped yet, so the pid (and its session's group id) is still ours
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.killpg(proc.pid, signal.SIGKILL)
                    with contextlib.suppress(ProcessLookupError):
                        proc.kill()
                    proc.wait()

    # For a signal handler, which cannot wait and may have interrupted stop() holding the lock:
    # these take no lock and reap nothing (an agent not reaped still owns its pid and group id).

    def ask_to_stop(self) -> None:
        """SIGTERM every agent now, waiting for none: each leaves at its next wait point and gives
        its claim back, while the app shuts down; stop() then finds them gone or going."""
        for _, proc in list(self.procs):
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGTERM)

    def kill_now(self) -> None:
        """SIGKILL every agent's process group at once: they cannot give their claims back, so
        only when the demo's store goes with them."""
        for _, proc in list(self.procs):
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)

    def cleanup(self) -> None:
        """Stop the agents and remove the demo's directory."""
        self.stop()
        shutil.rmtree(self.env.root, ignore_errors=True)

    def __enter__(self) -> DemoAgents:
        """Start the agents."""
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop the agents and remove the demo."""
        self.cleanup()


# ---------------------------------------------------------------------- one agent process


class _Stop(BaseException):
    """Raised at a wait point once the agent was asked to stop."""


_STOPPING = False


def _on_signal(signum: int, _frame: object) -> None:
    """Remember the request; the agent leaves at its next wait point, not mid-command."""
    global _STOPPING
    _STOPPING = True


class Agent:
    """One simulated agent: wait for its turn, claim, heartbeat while working, complete."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.store = os.path.abspath(args.store)
        self.project = os.path.abspath(args.project)
        self.name: str = args.name
        self.phase: str = args.phase
        self.work = max(0.0, float(args.work)) / float(args.speed)
        self.speed = float(args.speed)
        self.die: bool = args.die
        self.rescue: bool = args.rescue
        self.sprint: str = args.sprint or ""
        self.parent = os.getppid()
        self.born = time.monotonic()
        self.token: str | None = None
        self._said: str | None = None
        self.last_try = -SLOW_RETRY_S

    # -------------------------------------------------------------- plumbing

    def log(self, message: str) -> None:
        """One whole line on stdout (the demo's log file), written in a single write."""
        stamp = time.strftime("%H:%M:%S") + f".{int(time.time() * 1000) % 1000:03d}"
        line = f"{stamp} {self.name:<18} {self.phase:<9} {message}\n"
        with contextlib.suppress(OSError):
            os.write(1, line.encode("utf-8", "replace"))

    def say_once(self, message: str) -> None:
        """Log a message unless it is the same as the previous one."""
        if message != self._said:
            self._said = message
            self.log(message)

    def check_stop(self) -> None:
        """Raise _Stop when asked to stop, when the parent is gone or after a long life."""
        if _STOPPING:
            raise _Stop("signal")
        if os.getppid() != self.parent:
            raise _Stop("parent gone")
        if time.monotonic() - self.born > MAX_LIFETIME_S:
            raise _Stop("lifetime exceeded")

    def sleep(self, seconds: float) -> None:
        """Sleep in short slices, leaving early (by _Stop) when asked to stop."""
        end = time.monotonic() + seconds
        while True:
            self.check_stop()
            left = end - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, 0.05))

    def cli(self, *argv: str) -> dict[str, Any]:
        """Run `conductor --json ...` and return its one JSON object (a failure object if none)."""
        cmd = [sys.executable, "-m", "conductor_tui.cli", "--store", self.store]
        cmd += ["--project", self.project, "--agent", self.name, "--json"]
        if self.sprint:
            cmd += ["--sprint", self.sprint]
        cmd += list(argv)
        try:
            done = subprocess.run(
                cmd,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=CLI_TIMEOUT_S,
                env=_child_env(),
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return {"ok": False, "word": "ERROR", "error": "spawn", "message": str(exc)[:300]}
        out = parse_cli_output(done.stdout, done.returncode)
        err = done.stderr.decode("utf-8", "replace").strip()
        if out.get("error") == "output" and err:
            out["message"] = f"{out['message']}: {safe(err.splitlines()[-1])}"
        return out

    def sprint_dir(self) -> str:
        """The sprint's directory in the store."""
        return os.path.join(self.store, "conductor", self.sprint)

    def sprint_gone(self) -> bool:
        """True when the sprint no longer exists or was archived."""
        try:
            record = read_json(os.path.join(self.sprint_dir(), "sprint.json"))
        except (FileNotFoundError, NotADirectoryError):
            return True
        except (OSError, MalformedJSON):
            return False  # being rewritten, or damaged: not ours to judge
        return isinstance(record, dict) and record.get("status") == "archived"

    def depends_on(self) -> list[str]:
        """The phase's dependencies, from sprint.json."""
        try:
            record = read_json(os.path.join(self.sprint_dir(), "sprint.json"))
        except (OSError, MalformedJSON) as exc:
            raise _Stop(f"cannot read sprint {self.sprint}: {exc}") from None
        for phase in record.get("phases", []) if isinstance(record, dict) else []:
            if isinstance(phase, dict) and phase.get("name") == self.phase:
                deps = phase.get("depends_on", [])
                return [d for d in deps if isinstance(d, str) and PHASE_RE.match(d)]
        raise _Stop(f"no phase {self.phase!r} in sprint {self.sprint}")

    def ever_claimed(self) -> bool:
        """True once some claim of the phase has ended (its history is not empty)."""
        try:
            return bool(os.listdir(os.path.join(self.sprint_dir(), self.phase, "history")))
        except OSError:
            return False

    def _exists(self, phase: str, entry: str) -> bool:
        return os.path.lexists(os.path.join(self.sprint_dir(), phase, entry))

    def resolve_sprint(self) -> None:
        """Find the project's active sprint through the CLI when --sprint was not given."""
        if self.sprint:
            return
        out = self.cli("status")
        sprint_id = out.get("sprint_id")
        if not out.get("ok") or not isinstance(sprint_id, str) or not SPRINT_RE.match(sprint_id):
            raise _Stop(f"no active sprint: {str(out.get('message', ''))[:200]}")
        self.sprint = sprint_id

    # -------------------------------------------------------------- the job

    def wait_turn(self, deps: list[str]) -> bool:
        """Cheap wait on the store's files until a claim could win; False when there is no job."""
        while True:
            self.check_stop()
            if self.sprint_gone():
                self.log("the sprint is gone: leaving")
                return False
            if self._exists(self.phase, "done"):
                self.log(f"{self.phase} is already done: nothing to do")
                return False
            if self.rescue and not self.ever_claimed() and not self._exists(self.phase, "lock"):
                self.say_once(f"standing by until {self.phase} is claimable again (a reclaim)")
            elif not self._exists(self.phase, "lock") and all(
                self._exists(d, "done") for d in deps
            ):
                return True
            elif time.monotonic() - self.last_try >= SLOW_RETRY_S:
                return True  # ask the CLI anyway now and then: it is the authority
            self.sleep(POLL_S)

    def claim(self, deps: list[str]) -> str | None:
        """Claim the phase through the CLI, retrying while BLOCKED/CLAIMED; the token or None."""
        errors = 0
        while self.wait_turn(deps):
            self.last_try = time.monotonic()
            out = self.cli("claim", self.phase, "--ttl", f"{TTL_S:g}", "--pid", str(os.getpid()))
            token = out.get("token")
            if out.get("ok") is True and isinstance(token, str) and TOKEN_RE.match(token):
                self.log(f"claimed {self.phase} (token {token}, lease {TTL_S:g} s)")
                return token
            word = str(out.get("word", ""))
            message = str(out.get("message", ""))[:200]
            if word == "DONE":
                self.log(f"{self.phase} is already done: nothing to do")
                return None
            if word in ("BLOCKED", "CLAIMED"):
                self.say_once(f"{word}: {message}")
                self.sleep(RETRY_S)
                continue
            errors += 1
            self.log(f"claim failed ({word}): {message}")
            if errors >= 20:
                return None
            self.sleep(1.0)
        return None

    def heartbeat(self) -> bool:
        """Extend the lease; False when the claim has been ended by someone else."""
        out = self.cli("heartbeat", self.phase, "--token", self.token or "", "--ttl", f"{TTL_S:g}")
        if out.get("ok") is True:
            self.log("heartbeat")
            return True
        error = out.get("error")
        self.log(f"heartbeat refused ({error}): {str(out.get('message'))[:200]}")
        if self.sprint_gone():
            raise _Stop("the sprint is gone")
        return error not in ("fenced", "not_owner", "done", "refused")

    def write_artifact(self) -> str:
        """Write the phase's artifact under <project>/.nanostack/<phase>/ and return its path."""
        if self.phase == "build":
            for rel, text in BUILD_FILES.items():
                _write_text(os.path.join(self.project, rel), text)
        notes = NOTES.get(self.phase) or {
            "summary": f"{self.phase} finished.",
            "key_files": ["README.md"],
            "decisions_made": [],
            "open_questions": [],
        }
        now = time.time()
        doc = {
            "phase": self.phase,
            "agent": self.name,
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
            "summary": notes["summary"],
            "context_checkpoint": {
                "summary": notes["summary"],
                "key_files": list(notes["key_files"]),
                "decisions_made": list(notes["decisions_made"]),
                "open_questions": list(notes["open_questions"]),
            },
        }
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(now)) + f"-{int(now * 1e6) % 10**6:06d}"
        path = os.path.join(self.project, ".nanostack", self.phase, f"{stamp}.json")
        _write_text(path, json.dumps(doc, indent=2) + "\n")
        return path

    def run(self) -> int:
        """The agent's whole life; returns the process's exit code."""
        self.resolve_sprint()
        deps = self.depends_on()
        self.token = self.claim(deps)
        if self.token is None:
            return 0
        if self.die:
            self.sleep(self.work / 2)
            self.heartbeat()
            self.sleep(self.work / 2)
            self.log(f"crashes while holding {self.phase} (pid {os.getpid()})")
            os._exit(1)
        self.log(f"working on {self.phase} for {self.work:.1f} s")
        every = max(0.25, HEARTBEAT_S / self.speed)
        now = time.monotonic()
        end = now + self.work
        beat_at = now + min(every, self.work / 2)  # at least one heartbeat per job
        while now < end:
            self.sleep(min(beat_at, end) - now)
            if time.monotonic() >= beat_at:
                if not self.heartbeat():
                    self.token = None
                    return 1
                beat_at += every
            now = time.monotonic()
        artifact = self.write_artifact()
        out = self.cli("complete", self.phase, "--token", self.token, "--artifact", artifact)
        if out.get("ok") is not True:
            self.log(f"complete refused ({out.get('error', '?')}): {str(out.get('message'))[:200]}")
            if out.get("error") in ("fenced", "done", "not_owner"):
                self.token = None
            return 1
        self.token = None
        done = out.get("done")
        digest = done.get("sha256") if isinstance(done, dict) else None
        digest = digest[:12] if isinstance(digest, str) else "?"
        self.log(f"completed {self.phase} with {os.path.basename(artifact)} (sha256 {digest})")
        return 0

    def release(self, why: str) -> None:
        """Give up a claim still held when the agent is stopped (best effort)."""
        if self.token is None:
            self.log(f"stopping ({why})")
            return
        out = self.cli("abort", self.phase, "--token", self.token)
        state = "released" if out.get("ok") is True else f"not released ({out.get('error')})"
        self.log(f"stopping ({why}): {self.phase} {state}")
        self.token = None


def parse_cli_output(stdout: bytes, code: int) -> dict[str, Any]:
    """The CLI's --json answer: its last line, parsed as strict JSON only (never evaluated)."""
    lines = [line for line in stdout[-MAX_CLI_OUTPUT:].splitlines() if line.strip()]
    if lines:
        try:
            value = loads_strict(lines[-1], limit=MAX_CLI_OUTPUT)
        except MalformedJSON as exc:
            return {"ok": False, "word": "ERROR", "error": "output", "message": str(exc)[:200]}
        if isinstance(value, dict):
            return value
    return {"ok": False, "word": "ERROR", "error": "output", "message": f"no JSON (exit {code})"}


def agent_main(args: argparse.Namespace) -> int:
    """Entry of `python -m conductor_tui.demo agent`."""
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, _on_signal)
    for label, value, pattern in (
        ("--name", args.name, AGENT_RE),
        ("--phase", args.phase, PHASE_RE),
    ):
        if not pattern.match(value):
            print(f"ERROR: invalid {label} {value!r}", file=sys.stderr)
            return 2
    if args.sprint and not SPRINT_RE.match(args.sprint):
        print(f"ERROR: invalid --sprint {args.sprint!r}", file=sys.stderr)
        return 2
    agent = Agent(args)
    try:
        return agent.run()
    except _Stop as stop:
        agent.release(str(stop))
        return 0


# ---------------------------------------------------------------------- headless run


def _status_text(env: DemoEnv) -> str:
    """The output of `conductor status` for the demo sprint."""
    cmd = [sys.executable, "-m", "conductor_tui.cli", "--store", env.store]
    cmd += ["--project", env.project, "--sprint", env.sprint_id, "status"]
    done = subprocess.run(cmd, capture_output=True, text=True, env=_child_env(), check=False)
    return (done.stdout + done.stderr).rstrip()


def run_main(args: argparse.Namespace) -> int:
    """Entry of `python -m conductor_tui.demo run`: the whole demo, printing status as it goes."""
    from .core.store import Store

    env = create_demo(args.base)
    agents = DemoAgents(env, speed=args.speed)
    print(f"demo in {env.root}\n  store   {env.store}\n  project {env.project}")
    print(f"  sprint  {env.sprint_id}\n  log     {env.log_path}", flush=True)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    t0 = time.monotonic()
    seen: dict[str, str] = {}
    stale_since: float | None = None
    reclaimed = False
    next_table = t0
    try:
        agents.start()
        sprint = Store(env.store).open_sprint(env.sprint_id)
        while True:
            now = time.monotonic()
            view = sprint.view()
            for pv in view.phases:
                if seen.get(pv.name) != pv.status:
                    who = f" ({pv.agent})" if pv.agent else ""
                    print(f"[+{now - t0:5.1f}s] {pv.name}: {pv.status}{who}", flush=True)
                    seen[pv.name] = pv.status
            security = view.phase("security")
            if security is not None and security.status == "stale" and not reclaimed:
                stale_since = stale_since or now
                if args.reclaim_after >= 0 and now - stale_since >= args.reclaim_after:
                    lock = sprint.reclaim("security", agent=HUMAN)
                    reclaimed = True
                    print(f"[+{now - t0:5.1f}s] {HUMAN} reclaims security from {lock.agent}")
            if now >= next_table:
                print(_status_text(env), flush=True)
                next_table = now + args.every
            if view.count("done") == len(view.phases) and not agents.running():
                print(f"[+{now - t0:5.1f}s] every phase is done\n{_status_text(env)}")
                return 0
            if now - t0 > args.timeout:
                print(f"[+{now - t0:5.1f}s] timed out\n{_status_text(env)}")
                return 1
            time.sleep(0.1)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        return 130
    finally:
        agents.stop()
        with contextlib.suppress(OSError), open(env.log_path, encoding="utf-8") as fh:
            print("--- agents.log ---\n" + fh.read().rstrip())
        if args.keep:
            print(f"kept {env.root}")
        else:
            agents.cleanup()


def _speed(text: str) -> float:
    value = float(text)
    if not 0 < value <= 1000:
        raise argparse.ArgumentTypeError("speed must be in (0, 1000]")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The parser of `python -m conductor_tui.demo`."""
    parser = argparse.ArgumentParser(prog="python -m conductor_tui.demo", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="run the whole demo headless, printing `conductor status`")
    p.add_argument("--speed", type=_speed, default=1.0, help="time multiplier (default 1)")
    p.add_argument("--every", type=float, default=3.0, help="status table period in seconds")
    p.add_argument(
        "--reclaim-after",
        type=float,
        default=5.0,
        help="act as the human: reclaim the stale lock after this many seconds (-1: never)",
    )
    p.add_argument("--timeout", type=float, default=300.0, help="give up after this many seconds")
    p.add_argument("--base", help="parent directory of the demo's temp dir")
    p.add_argument("--keep", action="store_true", help="keep the demo directory at the end")
    p = sub.add_parser("agent", help="one simulated agent (started by DemoAgents)")
    p.add_argument("--store", required=True)
    p.add_argument("--project", required=True)
    p.add_argument("--sprint", default="", help="sprint id (default: the project's active)")
    p.add_argument("--name", required=True)
    p.add_argument("--phase", required=True)
    p.add_argument("--work", type=float, default=4.0, help="seconds of work at speed 1")
    p.add_argument("--die", action="store_true", help="crash while holding the lock")
    p.add_argument("--rescue", action="store_true", help="wait for a reclaim, then take over")
    p.add_argument("--speed", type=_speed, default=1.0)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry of `python -m conductor_tui.demo`."""
    args = build_parser().parse_args(argv)
    if args.command == "agent":
        return agent_main(args)
    return run_main(args)


if __name__ == "__main__":
    sys.exit(main())
