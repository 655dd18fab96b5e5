"""git: which subcommands change the repository, the index or the work tree, in which repository.

A write counts only in a repository the guard can place outside the project (a `git -C` or a `cd`
to another clone); `--git-dir`, `--work-tree`, GIT_DIR and a configuration the command chose make
the repository unknown, so it counts as the project's. Configuration that runs commands (aliases
with `!`, pagers, editors, hooks, fsmonitor, filters) is read as the commands it runs.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

from ..calls import Call, Cwds, Mutation, Result
from ..lexer import DYN, Word
from ..tables import (
    GIT_COMMAND_KEY,
    GIT_CONFIG_VARS,
    GIT_DIFF_OUTPUT,
    GIT_PLACE_VARS,
    GIT_READ_ACTIONS,
    GIT_READ_OPTIONS,
    GIT_SPEC,
    GIT_WRITES,
    words,
)
from .base import (
    after,
    handles,
    opts_of,
    positionals,
)

if TYPE_CHECKING:
    from ..classify import Classifier


def _git_repo_inside(c: Classifier, call: Call, cwds: object, custom: bool) -> bool:
    """Whether a git command run from cwds may change the project's repository."""
    if custom or cwds is None or call.rooted:
        return True
    assert isinstance(cwds, frozenset)
    for cwd in cwds:
        if c.scope.place(cwd) == "project":
            return True
        path = cwd
        while True:
            dotgit = os.path.join(path, ".git")
            if os.path.lexists(dotgit):
                if os.path.islink(dotgit) or not os.path.isdir(dotgit):
                    return True  # a worktree's .git file may point into the project
                if c.scope.place(os.path.realpath(path)) == "project":
                    return True
                break
            parent = os.path.dirname(path)
            if parent == path:
                break
            path = parent
    return False


def _prefix_of(arg: str, options: frozenset[str]) -> bool:
    """Whether arg is one of the options, or a prefix git would expand to one of them."""
    if arg in options:
        return True
    name = arg.split("=", 1)[0]
    return name.startswith("--") and len(name) > 3 and any(o.startswith(name) for o in options)


def _git_config_option(c: Classifier, call: Call, w: Word, aliases: dict[str, str]) -> None:
    text = w.value
    if text is None:
        raise Mutation("`git -c` with a setting computed at run time")
    key, _, value = text.partition("=")
    if key.lower().startswith("alias."):
        aliases[key[6:].lower()] = value
        return
    if not GIT_COMMAND_KEY.fullmatch(key):
        return
    if re.match(
        r"(?i)include|protocol|core\.(?:hookspath|worktree|attributesfile|excludes)|init"
        r"|gc\.|status\.",
        key,
    ):
        raise Mutation(f"`git -c {key}` lets git run or read what the guard cannot see")
    if value.strip().lower() in ("", "true", "false", "0", "1", "yes", "no"):
        return
    c.text(value.lstrip("!"), call.cwds, call.depth + 1)


@handles("git")
def h_git(c: Classifier, call: Call) -> Result:
    opts = opts_of(call, GIT_SPEC)
    names = set(call.env) | c.touched
    custom = bool(GIT_PLACE_VARS & names)
    if GIT_CONFIG_VARS & (set(call.env) | c.assigned):
        raise Mutation("runs git with a configuration the command chose (aliases and hooks)")
    aliases: dict[str, str] = {}
    cwds = call.cwds
    for name, value in opts.seen:
        if name == "-C" and value is not None:
            cwds = c.chdir(value, cwds)
        elif name == "-c" and value is not None:
            _git_config_option(c, call, value, aliases)
        elif name in ("--git-dir", "--work-tree"):
            custom = True
        elif name == "--config-env" and value is not None:
            if GIT_COMMAND_KEY.fullmatch(value.text.split("=", 1)[0]):
                raise Mutation("`git --config-env` sets a command from the environment")
        elif name == "--exec-path" and value is not None:
            raise Mutation("runs git's commands from another directory")
    if not opts.operands:
        return None
    sub = opts.operands[0].value
    rest = opts.operands[1:]
    if sub is None:
        raise Mutation("runs a git command computed at run time")
    if sub.lower() in aliases:
        alias = aliases[sub.lower()]
        inner = call.then([Word.lit(alias.lstrip("!")), *rest], cwds=cwds)
        if alias.startswith("!"):
            c.joined(inner.words, inner, f"the git alias `{sub}`")
            return None
        alias_words = [Word.lit(v) for v in alias.split()]
        return h_git(c, call.then([Word.lit("git"), *alias_words, *rest], cwds=cwds))
    what = _git_what(c, call, sub, rest, cwds)
    if what is not None and _git_repo_inside(c, call, cwds, custom):
        raise Mutation(what)
    return None


def _git_what(c: Classifier, call: Call, sub: str, rest: list[Word], cwds: object) -> str | None:
    """Whether a git subcommand changes the repository (the reason), checking file outputs."""

    here: Cwds = cwds if isinstance(cwds, frozenset) else None
    args = [w.value or "" for w in rest]
    if any(w.value is None and w.text.startswith(DYN) for w in rest):
        raise Mutation(f"`git {sub}` with options computed at run time")
    ops = [a for a in args if not a.startswith("-")]
    changes = f"`git {sub}` changes the repository"

    def target(w: Word, verb: str, *, link: bool = False) -> None:
        c.check(w, here, verb, rooted=call.rooted, link=link)

    for k, a in enumerate(args):  # file outputs of any subcommand
        if sub in GIT_DIFF_OUTPUT and _prefix_of(a.split("=", 1)[0], frozenset({"--output"})):
            out = (
                after(rest[k], len(a.split("=", 1)[0]) + 1)
                if "=" in a
                else (rest[k + 1] if k + 1 < len(rest) else None)
            )
            if out is not None:
                target(out, f"`git {sub} --output` writes")
    if sub == "checkout-index":
        for k, a in enumerate(args):
            if a.startswith("--prefix="):
                target(after(rest[k], 9), "`git checkout-index --prefix` writes")
        return changes
    if sub in ("clone",):
        if any(
            _prefix_of(
                a,
                frozenset(
                    {"--template", "--upload-pack", "-u", "--config", "-c", "--separate-git-dir"}
                ),
            )
            for a in args
        ):
            raise Mutation("`git clone` with hooks, templates or commands the guard cannot read")
        dest = positionals(
            rest,
            words(
                "-o --origin -b --branch --depth --reference "
                "--filter --jobs -j --shallow-since --shallow-exclude"
            ),
        )
        where = (
            dest[1]
            if len(dest) > 1
            else Word.lit(
                re.sub(r"(\.git)?/*$", "", (dest[0].value or "repo")).rsplit("/", 1)[-1] or "repo"
            )
            if dest
            else None
        )
        if where is not None:
            target(where, "`git clone` writes", link=True)
        return None
    if sub == "init":
        dest = positionals(
            rest,
            words(
                "--template --separate-git-dir -b --initial-branch "
                "--object-format --ref-format --shared"
            ),
        )
        target(dest[0] if dest else Word.lit("."), "`git init` writes")
        return None
    if sub == "worktree" and ops[:1] in (["add"], ["move"]):
        for w in positionals(rest, words("-b -B --reason"))[1:2]:
            target(w, f"`git worktree {ops[0]}` writes", link=True)
        return f"`git worktree {ops[0]}` changes the repository"
    if sub == "archive":
        for k, a in enumerate(args):
            if a in ("-o", "--output") and k + 1 < len(rest):
                target(rest[k + 1], "`git archive -o` writes")
            elif a.startswith("--output="):
                target(after(rest[k], 9), "`git archive -o` writes")
        return None
    if sub == "bundle":
        if ops[:1] == ["create"] and len(ops) > 1:
            target(positionals(rest)[1], "`git bundle create` writes")
            return None
        return None if ops[:1] in (["verify"], ["list-heads"]) else changes
    if sub == "format-patch":
        if "--stdout" in args:
            return None
        outs = [
            rest[k + 1]
            for k, a in enumerate(args)
            if a in ("-o", "--output-directory") and k + 1 < len(rest)
        ]
        target(outs[-1] if outs else Word.lit("."), "`git format-patch` writes into")
        return None
    if sub in ("bugreport", "diagnose", "mailsplit"):
        outs = [
            rest[k + 1]
            for k, a in enumerate(args)
            if a in ("-o", "--output-directory") and k + 1 < len(rest)
        ] + [after(w, 2) for w in rest if w.text.startswith("-o") and len(w.text) > 2]
        target(outs[-1] if outs else Word.lit("."), f"`git {sub}` writes into")
        return None
    if sub == "mailinfo":
        for w in positionals(rest)[:2]:
            target(w, "`git mailinfo` writes")
        return None
    if sub == "interpret-trailers" and "--in-place" in args:
        for w in positionals(rest, words("--trailer --where --if-exists --if-missing")):
            target(w, "`git interpret-trailers --in-place` edits")
        return None
    if sub == "grep":
        for a in args:
            if a.startswith("-O") or a.startswith("--open-files-in-pager"):
                pager = a[2:] if a.startswith("-O") else a.partition("=")[2]
                c.text(pager or "less", here, call.depth + 1)
        return None
    if sub == "difftool":
        for k, a in enumerate(args):
            if a in ("-x", "--extcmd") and k + 1 < len(rest):
                c.shell_string(rest[k + 1], call, "`git difftool -x`")
                return None
            if a.startswith("--extcmd="):
                c.shell_string(after(rest[k], 9), call, "`git difftool -x`")
                return None
        return None if "--tool-help" in args else "`git difftool` runs a diff tool that can edit"
    if sub == "submodule" and ops[:1] == ["foreach"]:
        command = [w for w in rest if w.value not in ("foreach", "--recursive", "--quiet", "-q")]
        c.joined(command, call.then(command, cwds=None), "`git submodule foreach`")
        return None
    if sub == "apply" and _prefix_of_any(args, frozenset({"--unsafe-paths"})):
        raise Mutation("`git apply --unsafe-paths` writes where the patch says")
    if sub in GIT_WRITES:
        return changes
    if sub in GIT_READ_ACTIONS:
        action = ops[0] if ops else ("-v" if "-v" in args else "")
        reads = GIT_READ_ACTIONS[sub]
        if not action:
            return None if sub in ("remote", "submodule", "notes", "reflog", "bisect") else changes
        return None if action in reads else f"`git {sub} {action}` changes the repository"
    if sub in GIT_READ_OPTIONS:
        return None if _prefix_of_any(args, GIT_READ_OPTIONS[sub]) else changes
    if sub in ("branch", "tag"):
        return _git_refs(sub, args, rest)
    if sub == "config":
        return _git_config(c, call, args, rest, here)
    if sub == "fetch":
        if _prefix_of_any(args, frozenset({"--upload-pack"})):
            raise Mutation("`git fetch --upload-pack` runs a command")
        if any(":" in o for o in ops[1:]) or "--update-head-ok" in args or "-u" in args:
            return "`git fetch` into a local branch changes the repository"
        return None
    if sub == "hash-object":
        return changes if "-w" in args else None
    if sub == "symbolic-ref":
        return changes if ("-d" in args or "--delete" in args or len(ops) >= 2) else None
    if sub == "merge-tree":
        return changes if "--write-tree" in args else None
    if sub == "fsck":
        return changes if "--lost-found" in args else None
    return None


def _prefix_of_any(args: list[str], options: frozenset[str]) -> bool:
    return any(_prefix_of(a, options) for a in args)


def _git_refs(sub: str, args: list[str], rest: list[Word]) -> str | None:
    destructive = {
        "branch": words(
            "-d -D --delete -m -M --move -c -C --copy -f --force -u --set-upstream-to "
            "--unset-upstream --edit-description --track -t"
        ),
        "tag": words("-d --delete -a --annotate -s --sign -u --local-user -m -F -f --force -e"),
    }[sub]
    if any(a in destructive or a.startswith("--set-upstream-to=") for a in args):
        return f"`git {sub}` changes refs"
    listing = words(
        "-l --list --contains --no-contains --merged --no-merged --points-at --show-current "
        "-v -vv --verify -a --all -r --remotes"
    )
    value_opts = words("--contains --no-contains --merged --no-merged --points-at --sort --format")
    if positionals(rest, value_opts) and not any(a in listing for a in args):
        return f"`git {sub}` creates a ref"
    return None


def _git_config(
    c: Classifier, call: Call, args: list[str], rest: list[Word], here: object
) -> str | None:
    reads = words("--get --get-all --get-regexp --get-urlmatch --list -l get list --show-origin")
    if any(a in reads for a in args):
        return None
    value_opts = words("-f --file --blob --type --default --comment --value")
    pos = [w.value or "" for w in positionals(rest, value_opts)]
    writes = words(
        "--unset --unset-all --add --replace-all --rename-section --remove-section -e --edit"
    )
    if not (
        (pos and pos[0] in ("set", "unset", "rename-section", "remove-section", "edit"))
        or any(a in writes for a in args)
        or len(pos) >= 2
    ):
        return None
    if "--global" in args or "--system" in args:
        raise Mutation("`git config --global` changes what git runs everywhere")
    for k, a in enumerate(args):
        if a in ("-f", "--file") and k + 1 < len(rest):
            where: Cwds = here if isinstance(here, frozenset) else None
            c.check(rest[k + 1], where, "`git config -f` writes", rooted=call.rooted)
            return None
    return "`git config` changes the repository's configuration"
