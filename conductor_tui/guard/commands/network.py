"""Programs that fetch or reach elsewhere: curl, wget, downloaders, ssh, containers."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlparse

from ..calls import Call, Mutation, Result
from ..lexer import DYN, Word
from ..opts import spec
from ..tables import (
    CURL_SPEC,
    CURL_TARGETS,
    DOCKERS,
    SSH_COMMAND_OPTIONS,
    SSH_SPEC,
    WGET_SAFE_RC,
    WGET_SPEC,
    words,
)
from .base import (
    handles,
    join,
    opts_of,
    positionals,
)

if TYPE_CHECKING:
    from ..classify import Classifier


@handles("curl")
def h_curl(c: Classifier, call: Call) -> Result:
    if "CURL_HOME" in call.env or "CURL_HOME" in c.touched:
        raise Mutation("`curl` with a configuration the command chose")
    opts = opts_of(call, CURL_SPEC)
    if opts.has("-K", "--config"):
        raise Mutation("`curl -K` reads its options from a file")
    dirs = opts.values("--output-dir")
    outdir = dirs[-1] if dirs else None
    for name, value in opts.seen:
        if name in CURL_TARGETS and value is not None and value.value not in ("-", "%"):
            named = (
                value
                if outdir is None or value.text.startswith("/")
                else join(outdir, value.value or "x")
            )
            c.check(named, call.cwds, "`curl` writes", rooted=call.rooted)
        elif name in ("-O", "--remote-name", "--remote-name-all", "-J", "--remote-header-name"):
            c.check(
                join(outdir, "downloaded-file"),
                call.cwds,
                "`curl -O` writes into",
                rooted=call.rooted,
            )
        elif name in ("-w", "--write-out") and value is not None:
            text = value.value
            if text is None or (text.startswith("@") and text != "@-"):
                raise Mutation("`curl -w` with a format the guard cannot read")
            for m in re.finditer(r"%output\{(?:>>)?([^}]*)\}", text):
                c.check(
                    Word.lit(m.group(1)), call.cwds, "`curl -w %output` writes", rooted=call.rooted
                )
    if opts.has("-T", "--upload-file"):
        for w in [*opts.operands, *opts.values("--url")]:
            url = w.value
            if url is None:
                raise Mutation("`curl -T` uploads to a place computed at run time")
            if url.lower().startswith("file:"):
                path = unquote(urlparse(url).path)
                c.check(Word.lit(path), call.cwds, "`curl -T` writes", rooted=call.rooted)
    return None


@handles("wget", "wget2")
def h_wget(c: Classifier, call: Call) -> Result:
    if "WGETRC" in call.env or "WGETRC" in c.touched:
        raise Mutation("`wget` with a configuration the command chose")
    opts = opts_of(call, WGET_SPEC)
    for w in opts.values("--config"):
        if w.value != "/dev/null":
            raise Mutation("`wget --config` reads settings the guard does not see")
    for w in opts.values("-e", "--execute"):
        name = (w.value or "").split("=", 1)[0].strip().lower().replace("_", "").replace("-", "")
        if name not in WGET_SAFE_RC:
            raise Mutation(f"`wget -e` with a setting the guard cannot place ({w.raw})")
    for w in opts.values(
        "-o", "--output-file", "-a", "--append-output", "--warc-file", "--save-cookies"
    ):
        c.check(w, call.cwds, "`wget` writes", rooted=call.rooted)
    if opts.has("-b", "--background") and not opts.has(
        "-o", "--output-file", "-a", "--append-output"
    ):
        c.check(Word.lit("wget-log"), call.cwds, "`wget -b` writes", rooted=call.rooted)
    if opts.has("--spider"):
        return None
    documents = opts.values("-O", "--output-document")
    for w in documents:
        if w.value != "-":
            c.check(w, call.cwds, "`wget` writes", rooted=call.rooted)
    if not documents:
        where = (opts.values("-P", "--directory-prefix") or [Word.lit(".")])[-1]
        c.check(
            join(where, "downloaded-file"),
            call.cwds,
            "`wget` downloads into",
            rooted=call.rooted,
            link=opts.has("-r", "--recursive", "-m", "--mirror"),
        )
    return None


@handles("aria2c", "yt-dlp", "youtube-dl", "gallery-dl")
def h_downloader(c: Classifier, call: Call) -> Result:
    opts = opts_of(call, spec("doP", "dir= out= paths= output="))
    outs = opts.values("-o", "--out", "--output")
    if outs and all(w.value == "-" for w in outs):
        return None
    where = (opts.values("-d", "--dir", "-P", "--paths") or [Word.lit(".")])[-1]
    c.check(
        join(where, "downloaded-file"),
        call.cwds,
        f"`{call.name}` downloads into",
        rooted=call.rooted,
    )
    return None


@handles("ssh")
def h_ssh(c: Classifier, call: Call) -> Result:
    opts = opts_of(call, SSH_SPEC)
    for w in opts.values("-o"):
        text = w.value
        if text is None:
            raise Mutation("`ssh -o` with a setting computed at run time")
        if SSH_COMMAND_OPTIONS.match(text):
            command = re.split(r"[=\s]", text.strip(), maxsplit=1)
            c.shell_string(Word.lit(command[1] if len(command) > 1 else ""), call, "`ssh -o`")
    for w in opts.values("-F"):
        if w.value != "/dev/null":
            raise Mutation("`ssh -F` reads a configuration that may run commands")
    for w in opts.values("-E"):
        c.check(w, call.cwds, "`ssh -E` writes", rooted=call.rooted)
    if len(opts.operands) > 1:
        c.joined(opts.operands[1:], call.then(opts.operands[1:], rooted=True), "`ssh`")
    return None


_DOCKER_RUN_VALUE = words(
    "-e --env --env-file -p --publish --name -w --workdir -u --user --network --net "
    "--entrypoint -l --label --hostname -h --add-host --cpus -m --memory --platform "
    "--restart --pull --log-driver --log-opt --device --cap-add --cap-drop --security-opt "
    "--ulimit --shm-size --stop-signal --gpus --ipc --pid --runtime --volume-driver --dns "
    "--tmpfs --cidfile --expose --link --mac-address --ip --label-file --group-add "
    "--health-cmd --init-path"
)


@handles(*DOCKERS, "docker-compose", "podman-compose")
def h_docker(c: Classifier, call: Call) -> Result:
    args = call.args
    name = call.name.lower()
    if name.endswith("-compose"):
        args = [Word.lit("compose"), *args]
    pos = positionals(
        args, words("-H --host -c --context --config -l --log-level --tlscacert --tlscert --tlskey")
    )
    if not pos:
        return None
    sub = pos[0].value or ""
    rest = args[args.index(pos[0]) + 1 :]
    if sub == "container" and len(pos) > 1:
        sub = pos[1].value or ""
        rest = args[args.index(pos[1]) + 1 :]
    if sub == "compose":
        action = [
            w.value
            for w in positionals(
                rest, words("-f --file -p --project-name --project-directory --env-file --profile")
            )
        ]
        if action and action[0] in (
            "ps",
            "logs",
            "config",
            "ls",
            "images",
            "top",
            "version",
            "port",
            "events",
        ):
            return None
        raise Mutation(f"`{call.name} compose` may mount the project into what it starts")
    if sub in ("run", "create"):
        _docker_mounts(c, call, rest)
        return None
    if sub == "exec":
        ops = positionals(rest, words("-e --env --env-file -u --user -w --workdir --detach-keys"))
        if len(ops) > 1:
            c.run(call.then(ops[1:], rooted=True))
        return None
    if sub == "cp" and len(positionals(rest)) >= 2:
        dest = positionals(rest)[-1]
        if dest.value is None or not re.match(r"^[A-Za-z0-9][\w.-]*:", dest.value):
            c.check(dest, call.cwds, f"`{call.name} cp` writes", rooted=call.rooted, link=True)
        return None
    if sub in ("build", "buildx"):
        for k, w in enumerate(rest):
            v = w.value or ""
            if v in ("-o", "--output") and k + 1 < len(rest):
                out = rest[k + 1].value
                if out is None:
                    raise Mutation(f"`{call.name} build -o` writes where it is told at run time")
                found = re.search(r"dest=([^,]+)", out)
                path = found.group(1) if found else (out if "=" not in out else "")
                if path and path != "-":
                    c.check(
                        Word.lit(path),
                        call.cwds,
                        f"`{call.name} build -o` writes",
                        rooted=call.rooted,
                    )
    return None


def _docker_mounts(c: Classifier, call: Call, rest: list[Word]) -> None:
    k = 0
    while k < len(rest):
        v = rest[k].value
        if v is None:
            if rest[k].text.startswith(DYN):
                raise Mutation(f"`{call.name} run` with options computed at run time")
            return
        if not v.startswith("-"):
            return  # the image: what follows runs inside the container
        option, eq, attached = v.partition("=")
        spec_text = attached if eq else (rest[k + 1].value if k + 1 < len(rest) else "")
        takes = not eq and (
            option in _DOCKER_RUN_VALUE
            or option in ("-v", "--volume", "--mount")
            or (not option.startswith("--") and option.endswith("v"))
        )
        if option in ("-v", "--volume", "--mount") or (
            not option.startswith("--") and option.endswith("v") and len(option) > 2
        ):
            if spec_text is None:
                raise Mutation(f"`{call.name} run` mounts a path computed at run time")
            _docker_mount(c, call, spec_text, option == "--mount")
        if option == "--volumes-from":
            raise Mutation(f"`{call.name} run --volumes-from` mounts what the guard cannot see")
        k += 2 if takes else 1


def _docker_mount(c: Classifier, call: Call, text: str, long_form: bool) -> None:
    if long_form:
        fields = dict(p.partition("=")[::2] for p in text.split(","))
        source = fields.get("source") or fields.get("src") or ""
        read_only = fields.get("readonly", fields.get("ro", "false")) in ("true", "1", "")
        if fields.get("type", "volume") != "bind":
            return
    else:
        parts = text.split(":")
        source = parts[0]
        read_only = len(parts) > 2 and "ro" in parts[2].split(",")
        if not source.startswith(("/", ".", "~")):
            return  # a named volume
    if read_only:
        return
    c.check(
        Word.lit(source),
        call.cwds,
        f"`{call.name} run` mounts for writing",
        rooted=call.rooted,
        link=True,
    )
