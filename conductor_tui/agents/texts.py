"""The text that teaches an agent the protocol: the /conductor skill's SKILL.md, and the same
words as a delimited section of AGENTS.md for hosts that read instructions files."""

from __future__ import annotations

SKILL_NAME = "conductor"

# Names the triggers: the host matches the description against what the user says.
DESCRIPTION = (
    "Coordinate with other coding agents through a conductor sprint stored in this repository. "
    "Use when the user types /conductor or mentions a sprint, a phase (think, plan, build, "
    "review, security, qa, ship), claiming, completing, aborting or handing off work, a lock, "
    "a lease or a heartbeat, another agent working on the same repository, or when a "
    "`conductor` command replies CLAIMED, BLOCKED, DONE, REFUSED or fenced."
)

_BODY = """\
{h} Working in a conductor sprint

Several agents share this repository through a sprint: a graph of phases kept on disk. You take a
phase by claiming it, do it, and hand it on by completing it with an artifact whose context
checkpoint the next agent reads instead of your conversation. Everything goes through the
`conductor` command; add `--json` to any command for one JSON object.

{h}# When you start, or come back

1. `conductor resume`: the phase you hold (its token and the commands to finish it), or what you
   can claim.
2. `conductor context`: the checkpoints of the completed phases, what is in progress, what is
   next. Read it before you start a phase.
3. `conductor next`: the phases claimable now. `conductor why PHASE`: why one is not.

{h}# Doing a phase

- `conductor claim PHASE` prints a token. Keep it: `--token TOKEN` on `heartbeat`, `complete`
  and `abort` acts on exactly that claim.
- Or let conductor hold it around a command: `conductor run PHASE --artifact FILE -- CMD ...`
  claims, keeps the lease alive while CMD runs, completes on exit 0 and aborts otherwise.
- A claim has a lease (an hour unless `--ttl` says otherwise). `conductor heartbeat PHASE`
  extends it; when conductor's hooks are installed, your tool calls renew it. Heartbeat before a
  long stretch without tool calls: an expired lease lets another agent reclaim the phase.
- To finish: `conductor artifact new PHASE` writes a template; fill in its `context_checkpoint`
  (`summary`, `key_files`, `decisions_made`, `open_questions`: what the next agent needs to
  know), then `conductor complete PHASE --artifact FILE`.
- To give up: `conductor abort PHASE`. Do this when you cannot or should not finish. Never stop
  working on a phase and leave it claimed.

{h}# Read phases: never write

think, plan, review, security and qa are read phases unless the sprint says otherwise. While you
hold only read phases, do not change the project in any way: no edits, new or deleted files,
formatters, installs, builds that write, or commits. Notes and artifacts go to the store
(`conductor artifact new` puts them there). A guard hook may block such a write; do not work
around it. To change the tree, complete or abort the read phase and claim a write phase (build).

{h}# Replies and exit codes

The first word says what happened: `OK`, `CLAIMED`, `BLOCKED`, `DONE`, `REFUSED`, `ERROR`.

- Exit 0: done.
- Exit 1, refused:
  - `CLAIMED`: another agent holds the phase. Do not take it over: pick another one
    (`conductor next`) or wait.
  - `BLOCKED`: a dependency is not done yet. `conductor why PHASE` says which.
  - `DONE`: the phase is already complete. Move on: `conductor next`.
  - `REFUSED` ... fenced: your claim has ended (reclaimed as stale, or ended by someone else).
    Stop working on that phase, do not force it, run `conductor resume` and
    `conductor why PHASE`, and tell the user what happened.
  - `REFUSED` ... not the owner, or not stale: the phase is not yours.
- Exit 2: bad input, a corrupt or missing store or sprint, or the disk refused a write. Read the
  message; `conductor doctor` names crash leftovers. Do not retry blindly.

{h}# Never, unless a person tells you to

- complete, abort or reclaim another agent's phase (`--force`, `conductor reclaim`);
- edit the files in the store (`.nanostack/`) by hand;
- write into the project while you hold only read phases.

Your agent name is `$NANOSTACK_AGENT` when it is set, else derived from your session. If
`conductor resume` says you hold nothing right after a claim, your name changed between calls:
pass `--agent NAME` to every command or set `NANOSTACK_AGENT`.
"""


def body(level: int) -> str:
    """The protocol text with its top heading at the given Markdown level."""
    return _BODY.format(h="#" * level)


def skill_md() -> str:
    """SKILL.md of the /conductor skill: front matter with name and description, then the text."""
    import json

    # a JSON string is a YAML double-quoted scalar: the description's colons and backquotes
    # cannot be read as YAML syntax
    quoted = json.dumps(DESCRIPTION, ensure_ascii=False)
    return f"---\nname: {SKILL_NAME}\ndescription: {quoted}\n---\n\n{body(1)}"


def agents_section() -> str:
    """The body of our AGENTS.md section (the markers around it are skill.py's)."""
    return body(2)
