"""Wall time of the PostToolUse hook as a host runs it: a new process, the payload on stdin.

    python bench/bench_hooks.py              # 101 runs of each path
    python bench/bench_hooks.py --runs 301

Two paths, each measured over --runs whole processes of
`python -m conductor_tui.agents.hooks run post-tool-use --for claude` (what `conductor hooks run`
dispatches to):
- throttled: the agent's leases were renewed less than 30 s ago; the store is not opened;
- renewing: the throttle file is removed before each run, so a renewal is due: the hook
  records it and forks a detached child that opens the store and heartbeats the claim; the host
  waits only for the parent, which is what is timed;
- in-process: the same with CONDUCTOR_HOOK_NO_FORK=1, the renewal done before the hook exits
  (one lock read per phase, owner.json and meta.json rewritten, one audit event).
Baseline: `python -c pass`. Prints median, p90, p99 and max in milliseconds; never asserts.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time


def measure(argv: list[str], data: bytes, env: dict[str, str], cwd: str, before=None) -> float:  # type: ignore[no-untyped-def]
    if before is not None:
        before()
    t = time.perf_counter()
    done = subprocess.run(argv, input=data, capture_output=True, env=env, cwd=cwd)
    took = time.perf_counter() - t
    if done.returncode != 0 or done.stdout or done.stderr:
        raise SystemExit(f"hook failed: {done}")
    return took


def summary(name: str, xs: list[float]) -> str:
    xs = sorted(x * 1000 for x in xs)

    def q(p: float) -> float:
        return xs[min(len(xs) - 1, round(p * (len(xs) - 1)))]

    return (
        f"{name:<10} median {statistics.median(xs):6.1f} ms   p90 {q(0.9):6.1f}   "
        f"p99 {q(0.99):6.1f}   max {xs[-1]:6.1f}   (n={len(xs)})"
    )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=101)
    args = p.parse_args()
    from conductor_tui.agents.renew import state_path
    from conductor_tui.core.store import Store

    tmp = tempfile.mkdtemp(prefix="bench-hooks-")
    project = os.path.join(tmp, "shop")
    os.makedirs(os.path.join(project, ".git"))
    store = Store(os.path.join(project, ".nanostack"))
    sprint = store.start(project, agent="bench")
    agent = "claude-5e1a90c2"
    sprint.claim("think", agent=agent, holder_pid=os.getpid())
    payload = {
        "session_id": "5e1a90c2-7f3b-4c1e-9d2a-0b6c8e4f1a37",
        "transcript_path": "/home/dev/.claude/projects/x.jsonl",
        "cwd": project,
        "permission_mode": "default",
        "hook_event_name": "PostToolUse",
        "tool_name": "Bash",
        "tool_input": {"command": "ls"},
        "tool_response": {"stdout": "", "stderr": "", "interrupted": False},
        "tool_use_id": "toolu_01",
    }
    data = json.dumps(payload).encode()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NANOSTACK_", "CLAUDE"))}
    env["HOME"] = tmp
    hook = [sys.executable, "-m", "conductor_tui.agents.hooks", "run", "post-tool-use"]
    hook += ["--for", "claude"]
    state = state_path(store.root, agent)

    def forget() -> None:
        if os.path.exists(state):
            os.unlink(state)

    base = [measure([sys.executable, "-c", "pass"], b"", env, project) for _ in range(args.runs)]
    measure(hook, data, env, project)  # compile and warm the page cache
    renewing = [measure(hook, data, env, project, forget) for _ in range(args.runs)]
    throttled = [measure(hook, data, env, project) for _ in range(args.runs)]
    inline = {**env, "CONDUCTOR_HOOK_NO_FORK": "1"}
    in_process = [measure(hook, data, inline, project, forget) for _ in range(args.runs)]
    print(summary("python", base))
    print(summary("throttled", throttled))
    print(summary("renewing", renewing))
    print(summary("in-process", in_process))
    print("target: under 100 ms; the hook always exits 0 and prints nothing")
    return 0


if __name__ == "__main__":
    sys.exit(main())
