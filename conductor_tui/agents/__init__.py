"""The agent hosts' side of conductor: what installs itself into Claude Code, Codex, Cursor and
OpenCode, and what their hooks run (docs/AGENTS.md).

    common.py    options, replies and errors as the rest of `conductor` has them; host paths
    texts.py     the /conductor skill and the AGENTS.md section, one text
    skill.py     `conductor skill install|uninstall`
    jsonedit.py  a settings file edited in place: our hooks in, our hooks out, nothing else moved
    hooks.py     `conductor hooks install|uninstall|run`
    payload.py   a hook's JSON read cheaply, and the calling agent's name from it
    renew.py     the PostToolUse hook: the calling agent's leases renewed, throttled, always exit 0
    prime.py     `conductor prime` (SessionStart) and the Stop reminder
    follow.py    `conductor watch`: the sprint followed without a screen, commands run on events

Every command module has `main(argv) -> int`; none imports textual or the TUI.
"""
