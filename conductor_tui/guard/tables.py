"""The commands the guard knows: how each reads its options, and which spellings write.

Data only; classify.py holds the logic that reads it. Option specs are written as getopt_long
would read them (see opts.spec): short letters that take a value, long names with `=` for a value
and `?` for an optional attached one. Every spelling of a writing option then reads the same.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .opts import Spec, spec


def words(text: str) -> frozenset[str]:
    """A set of names from a space-separated text."""
    return frozenset(text.split())


# ---------------------------------------------------------------- shells and interpreters

SHELLS = words("sh bash zsh dash ksh ksh93 mksh pdksh ash yash posh rbash fish")
SHELL_SPEC = spec(
    "oO",
    "rcfile= init-file= login norc noprofile posix restricted verbose version help debugger "
    "dump-strings dump-po-strings noediting pretty-print wordexp command= init-command= "
    "no-execute profile= private interactive",
    permute=False,
    abbrev=False,
)
PYTHON = re.compile(r"(?:python|pypy)[0-9.]*(?:-dbg)?|ipython[0-9]*|uv-python")
NODES = words("node nodejs")
RUBIES = words("ruby irb jruby truffleruby")
PERLS = words("perl perl5")
AWKS = words("awk gawk mawk nawk original-awk bwk-awk onetrue-awk goawk")
SEDS = words("sed gsed")
PHPS = words("php php-cli")
LUAS = words("lua luajit lua5.1 lua5.2 lua5.3 lua5.4")
RS = words("Rscript")
TCLS = words("tclsh wish expect")

# A program fed on standard input, or given inline, is code; these patterns name what writes.
# They are deliberately broad: code that merely names a primitive that writes, runs another
# program, or reaches for names indirectly (eval, getattr, __import__) counts as a write.
PY_WRITES = re.compile(
    r"\.write_(?:text|bytes)\b"
    r"|\bos\s*\.\s*(?:remove|unlink|rename|renames|replace|rmdir|removedirs|mkdir|makedirs"
    r"|truncate|ftruncate|chmod|lchmod|fchmod|chown|lchown|fchown|chflags|lchflags|symlink"
    r"|link|utime|mkfifo|mknod|system|popen|open|fdopen|write|pwrite|writev|pwritev|sendfile"
    r"|copy_file_range|splice|exec\w*|spawn\w*|posix_spawn\w*|fork\w*|startfile|setxattr"
    r"|removexattr|memfd_create|dup2?)\b"
    r"|\bshutil\s*\.\s*(?!which\b|disk_usage\b|get_terminal_size\b|get_archive_formats\b"
    r"|get_unpack_formats\b)\w+"
    r"|\.(?:unlink|rmdir|mkdir|touch|rename|replace|symlink_to|hardlink_to|link_to|chmod"
    r"|lchmod|extractall|extract|savefig|save\w*|to_csv|to_json|to_parquet|to_excel|to_pickle"
    r"|to_hdf|to_feather|to_stata|to_sql|to_html|to_latex|to_markdown|to_xml|to_orc|tofile"
    r"|write_file|writestr|dump_to_file)\s*\("
    r"|\b(?:subprocess|pty|ctypes|cffi|multiprocessing|importlib|runpy|zipimport|marshal"
    r"|fileinput|posix|nt|_io|_posixsubprocess|sqlite3|dbm|shelve|tempfile|webbrowser|code"
    r"|codeop|pdb|builtins|__builtins__|__builtin__|__import__|__dict__|__class__"
    r"|__subclasses__|__globals__|__code__|urlretrieve|setuptools|distutils)\b"
    r"|\b(?:exec|eval|compile|getattr|setattr|delattr|globals|locals|vars|breakpoint"
    r"|memoryview)\s*\("
    r"|\bimport\s+(?:os|shutil|io)\s+as\b"
    r"|\bfrom\s+(?:os|shutil|io|pathlib|builtins|posix)\s+import\s+(?:\*|[^;\n]*\b(?:open|remove"
    r"|unlink|rename|replace|rmdir|removedirs|mkdir|makedirs|system|popen|symlink|link"
    r"|truncate|chmod|chown|move|copy\w*|rmtree|write\w*|exec\w*|spawn\w*|fdopen)\b)"
)
# `open(` reads unless it is given a mode that writes, or a mode the text does not fix
PY_OPEN = re.compile(r"(?<![\w.])(?:io\s*\.\s*|codecs\s*\.\s*)?open\b|\.open\b")
PERL_WRITES = re.compile(
    r"\b(?:unlink|rename|mkdir|rmdir|symlink|link|chmod|chown|utime|truncate|system|exec|fork"
    r"|syscall|sysopen|qx|eval|require|do|dbmopen|tie|pipe|open|sysseek|syswrite|binmode"
    r"|mkpath|make_path|rmtree|remove_tree|copy|move|cp|mv|spew\w*|append\w*|edit_file\w*"
    r"|write_file|overwrite_file|touch|tempfile|tempdir)\b"
    r"|`|\$\^I\b|\bFile::|\bPath::|\bIO::|\bPOSIX\b|\bIPC::"
)
RUBY_WRITES = re.compile(
    r"\b(?:File|IO|Dir|FileUtils|Pathname|Open3|Kernel|Process|PTY|Tempfile|Marshal"
    r"|ObjectSpace|Fiddle|DL)\b"
    r"|\b(?:open|system|exec|spawn|fork|syscall|eval|instance_eval|class_eval|module_eval"
    r"|instance_exec|send|public_send|__send__|const_get|require|require_relative|load"
    r"|binding|method|define_method|popen|trap|at_exit)\b"
    r"|`|%x"
)
JS_WRITES = re.compile(
    r"\b(?:child_process|execSync|execFileSync|spawnSync|spawn|exec|execFile|fork|eval"
    r"|Function|constructor|process\s*\.\s*(?:binding|dlopen|mainModule)|vm|worker_threads"
    r"|writeFile\w*|appendFile\w*|createWriteStream|mkdir\w*|mkdtemp\w*|rmdir\w*|rm|rmSync"
    r"|unlink\w*|rename\w*|copyFile\w*|cp|cpSync|symlink\w*|link|linkSync|truncate\w*"
    r"|ftruncate\w*|chmod\w*|chown\w*|lchown\w*|utimes\w*|lutimes\w*|futimes\w*|open|openSync"
    r"|writeSync|writev\w*|fsPromises|promises|Deno|Bun|import|globalThis|global|module"
    r"|require\s*\(\s*[^'\"\s])\b"
    r"|\brequire\s*\(\s*[^'\"\s]|\bimport\s*\("
)
PHP_WRITES = re.compile(
    r"\b(?:file_put_contents|fopen|fwrite|fputs|unlink|rename|mkdir|rmdir|copy|symlink|link"
    r"|touch|chmod|chown|chgrp|lchown|lchgrp|tempnam|tmpfile|system|exec|shell_exec|passthru"
    r"|popen|proc_open|pcntl_exec|pcntl_fork|eval|assert|create_function|call_user_func\w*"
    r"|include\w*|require\w*|move_uploaded_file|SplFileObject|SplFileInfo|ZipArchive"
    r"|PharData|Phar|ReflectionFunction|FFI|dl|mail|error_log|ini_set|putenv|extract"
    r"|array_map|array_walk|usort|register_shutdown_function)\b"
    r"|`|\$\w+\s*\(|\$\{"
)
LUA_WRITES = re.compile(
    r"\bos\s*\.\s*(?:remove|rename|execute|tmpname|exit)\b|\bio\s*\.\s*(?:open|popen|output"
    r"|lines)\b|\b(?:load|loadstring|loadfile|dofile|require|debug|package|ffi)\b"
)
R_WRITES = re.compile(
    r"\b(?:writeLines|write\w*|saveRDS|save|save\.image|sink|file\.\w+|unlink|dir\.create"
    r"|system2?|shell|download\.file|file|eval|parse|source|Sys\.chmod|Sys\.setFileTime"
    r"|Sys\.umask|cat|capture\.output|dput|dump|png|pdf|jpeg|svg|ggsave|fwrite|do\.call"
    r"|get|match\.fun|library|require|\.Call|\.C|\.External|dyn\.load)\b"
)
TCL_WRITES = re.compile(
    r"\b(?:exec|open|file|socket|load|source|interp|eval|uplevel|spawn|send|system)\b"
)


# ---------------------------------------------------------------- file commands

# Commands that change every path they are given (operands are targets).
REMOVERS: dict[str, tuple[Spec, str]] = {
    "rm": (
        spec(
            "",
            "force interactive? one-file-system no-preserve-root preserve-root? recursive dir "
            "verbose help version",
        ),
        "deletes",
    ),
    "unlink": (spec("", "help version"), "deletes"),
    "shred": (
        spec("ns", "force iterations= size= random-source= remove? verbose exact zero"),
        "destroys",
    ),
    "srm": (spec("", ""), "deletes"),
    "wipe": (spec("lSxXT", ""), "deletes"),
    "trash": (spec("", ""), "deletes"),
    "trash-put": (spec("", ""), "deletes"),
    "rimraf": (spec("", ""), "deletes"),
    "del-cli": (spec("", ""), "deletes"),
    "gio": (spec("", ""), "changes"),
    "touch": (
        spec("dtr", "no-create date= no-dereference reference= time= help version"),
        "creates or touches",
    ),
    "mkdir": (spec("m", "mode= parents verbose context? help version"), "creates"),
    "mkfifo": (spec("m", "mode= context? help version"), "creates"),
    "mknod": (spec("m", "mode= context? help version"), "creates"),
    "truncate": (spec("rs", "no-create io-blocks reference= size= help version"), "truncates"),
    "fallocate": (
        spec(
            "lo",
            "collapse-range dig-holes insert-range length= keep-size offset= punch-hole "
            "zero-range posix verbose help version",
        ),
        "resizes",
    ),
    "rename": (spec("", "verbose no-act all last no-overwrite interactive symlink"), "renames"),
    "prename": (spec("e", ""), "renames"),
    "file-rename": (spec("e", ""), "renames"),
    "sponge": (spec("", ""), "writes"),
    "mogrify": (spec("", ""), "rewrites"),
}
RMDIR_SPEC = spec("", "ignore-fail-on-non-empty parents verbose help version")
CHMOD_SPEC = spec(
    "", "changes silent quiet verbose no-preserve-root preserve-root reference= recursive"
)
CHOWN_SPEC = spec(
    "",
    "changes dereference no-dereference from= no-preserve-root preserve-root quiet silent "
    "reference= recursive verbose",
)
MODE = re.compile(r"[ugoa]*(?:[-+=][rwxXstugo]*)+(?:,[ugoa]*(?:[-+=][rwxXstugo]*)+)*|[0-7]{1,4}")
CHATTR_MODE = re.compile(r"[-+=][aAcCdDeEFijmPsStTux]+")
SETFACL_SPEC = spec(
    "mMxX",
    "modify= modify-file= remove= remove-file= set= set-file= remove-all remove-default "
    "restore= test recursive logical physical default no-mask mask physical",
)
SETFATTR_SPEC = spec("nvx", "name= value= remove= restore= no-dereference raw")
MV_SPEC = spec(
    "St",
    "backup? force interactive no-clobber no-copy strip-trailing-slashes suffix= "
    "target-directory= no-target-directory update? verbose context exchange debug",
)
CP_SPEC = spec(
    "St",
    "archive attributes-only backup? copy-contents dereference force interactive link "
    "no-dereference no-clobber preserve? no-preserve= parents recursive reflink? "
    "remove-destination sparse= strip-trailing-slashes suffix= symbolic-link target-directory= "
    "no-target-directory update? verbose one-file-system context? debug keep-directory-symlink",
)
INSTALL_SPEC = spec(
    "gmoSt",
    "backup? compare directory group= mode= owner= preserve-timestamps strip strip-program= "
    "suffix= target-directory= no-target-directory verbose preserve-context context? debug",
)
LN_SPEC = spec(
    "St",
    "backup? directory force interactive logical no-dereference physical relative symbolic "
    "suffix= target-directory= no-target-directory verbose",
)
TEE_SPEC = spec("", "append ignore-interrupts output-error? help version")
SPLIT_SPEC = spec(
    "abClnt",
    "suffix-length= additional-suffix= bytes= line-bytes= lines= number= separator= filter= "
    "elide-empty-files unbuffered numeric-suffixes? hex-suffixes? verbose",
)
CSPLIT_SPEC = spec(
    "bfn",
    "suffix-format= prefix= keep-files suppress-matched digits= quiet silent elide-empty-files",
)
PATCH_SPEC = spec(
    "BdDFgiopruVYzx",
    "backup-if-mismatch no-backup-if-mismatch binary basename-prefix= prefix= directory= ifdef= "
    "dry-run ed force fuzz= get= ignore-whitespace input= normal forward output= strip= quiet "
    "silent reject-file= reject-format= reverse batch set-time set-utc suffix= unified verbose "
    "version-control= posix read-only= follow-symlinks merge? context backup remove-empty-files "
    "help version",
)
RSYNC_SPEC = spec(
    "efBTM@",
    "rsh= rsync-path= filter= exclude= include= exclude-from= include-from= files-from= "
    "block-size= backup-dir= suffix= chmod= log-file= log-file-format= partial-dir= temp-dir= "
    "compare-dest= copy-dest= link-dest= remote-option= out-format= password-file= port= "
    "timeout= contimeout= bwlimit= max-size= min-size= max-delete= modify-window= iconv= "
    "usermap= groupmap= chown= info= debug= sockopts= outbuf= write-batch= only-write-batch= "
    "read-batch= protocol= checksum-choice= compress-choice= compress-level= skip-compress= "
    "address= stop-after= stop-at= early-input= max-alloc= copy-as= dry-run "
    "remove-source-files list-only delete archive recursive links mkpath",
)
SCP_SPEC = spec("cFiJloPSDX", "")
SORT_SPEC = spec(
    "kostST",
    "ignore-leading-blanks dictionary-order ignore-case general-numeric-sort ignore-nonprinting "
    "month-sort human-numeric-sort numeric-sort random-sort random-source= reverse sort= "
    "version-sort batch-size= check? compress-program= debug files0-from= key= merge output= "
    "stable buffer-size= field-separator= temporary-directory= parallel= unique zero-terminated",
)
UNIQ_SPEC = spec(
    "fsw",
    "count repeated all-repeated? skip-fields= group? ignore-case skip-chars= unique "
    "zero-terminated check-chars=",
)
SHUF_SPEC = spec(
    "ino", "echo input-range= head-count= output= random-source= repeat zero-terminated"
)
ICONV_SPEC = spec("fto", "from-code= to-code= list output= silent verbose")
XXD_SPEC = spec("cglnosR", "", abbrev=False)
COMPRESSORS: dict[str, Spec] = {
    name: spec(
        "SoCFMTD",
        "stdout to-stdout decompress uncompress force keep list name no-name quiet recursive "
        "suffix= test verbose best fast rsyncable synchronous format= check= memlimit= "
        "threads= output= output-dir-flat= output-dir-mirror= files? files0? rm",
    )
    for name in words(
        "gzip gunzip pigz unpigz bzip2 bunzip2 pbzip2 xz unxz lzma unlzma zstd unzstd pzstd "
        "lz4 unlz4 lzip lunzip compress uncompress brotli"
    )
}
NO_FILE_OUTPUT = words("-c --stdout --to-stdout -l --list -t --test")
ARCHIVE_READ = words("-l -t -v -Z -p -c -z -sf --show-files")
UNZIP_SPEC = spec("dP", "")
ZIP_SPEC = spec("bntxiPOZ", "out= show-files")
TAR_SHORT_VALUE = "bCfFgHIKLNTVX"
TAR_SPEC = spec(
    TAR_SHORT_VALUE,
    "extract get create append update catenate concatenate delete list diff compare "
    "test-label directory= file= to-stdout to-command= remove-files absolute-names "
    "use-compress-program= files-from= exclude-from= exclude= transform= xform= "
    "checkpoint-action= info-script= new-volume-script= rsh-command= index-file= "
    "blocking-factor= format= group= owner= mode= mtime= newer= after-date= newer-mtime= "
    "label= tape-length= volno-file= listed-incremental= record-size= suffix= backup? "
    "starting-file= strip-components= keep-old-files overwrite skip-old-files "
    "keep-newer-files unlink-first recursive-unlink dereference one-file-system null "
    "verbose gzip bzip2 xz zstd lzip lzma compress auto-compress warning= occurrence? "
    "sparse-version= checkpoint? hole-detection= exclude-tag= exclude-tag-all= "
    "exclude-tag-under= anchored wildcards no-wildcards verify xattrs selinux acls "
    "totals? utc quoting-style= quote-chars= no-quote-chars= pax-option= sort= "
    "atime-preserve? preserve-permissions same-permissions preserve-order same-order "
    "numeric-owner ignore-zeros ignore-failed-read interactive confirmation "
    "show-transformed-names show-stored-names seek no-seek force-local restrict",
)
TAR_MODES = {
    "x": "extract",
    "c": "create",
    "r": "append",
    "u": "update",
    "A": "catenate",
    "t": "list",
    "d": "diff",
}
TAR_LONG_MODES = {
    "--extract": "extract",
    "--get": "extract",
    "--create": "create",
    "--append": "append",
    "--update": "update",
    "--catenate": "catenate",
    "--concatenate": "catenate",
    "--delete": "delete",
    "--list": "list",
    "--diff": "diff",
    "--compare": "diff",
}
CURL_SPEC = spec(
    "AbcCdDeEFHKmoPQrTtuUwxXyYz",
    "output= output-dir= remote-name remote-name-all remote-header-name dump-header= "
    "cookie-jar= trace= trace-ascii= trace-config= stderr= libcurl= etag-save= etag-compare= "
    "hsts= alt-svc= config= create-dirs write-out= upload-file= url= data= data-ascii= "
    "data-binary= data-raw= data-urlencode= json= form= form-string= header= proxy-header= "
    "user-agent= referer= request= user= proxy= proxy-user= cookie= cert= key= cacert= "
    "capath= connect-timeout= max-time= range= retry= retry-delay= retry-max-time= resolve= "
    "connect-to= interface= limit-rate= max-filesize= speed-limit= speed-time= time-cond= "
    "continue-at= quote= telnet-option= ftp-port= proxy-user= output-dir= variable= expand-url= "
    "silent show-error fail location insecure verbose include head get next",
)
CURL_TARGETS = words(
    "-o --output -D --dump-header -c --cookie-jar --trace --trace-ascii --stderr --libcurl "
    "--etag-save --hsts --alt-svc"
)
WGET_SPEC = spec(
    "oaiBeOPtTwQUlARDIXn",
    "output-file= append-output= input-file= base= execute= output-document= "
    "directory-prefix= tries= timeout= wait= quota= user-agent= level= accept= reject= "
    "domains= include-directories= exclude-directories= config= warc-file= save-cookies= "
    "load-cookies= post-file= post-data= body-file= body-data= header= method= user= "
    "password= http-user= http-password= referer= spider background quiet no-verbose verbose "
    "recursive mirror page-requisites no-directories force-directories continue timestamping "
    "delete-after adjust-extension convert-links backup-converted no-clobber server-response "
    "save-headers no-config no-check-certificate",
)
# wgetrc commands (`wget -e name=value`) that only change how it fetches
WGET_SAFE_RC = words(
    "robots checkcertificate httpsonly timeout tries wait waitretry useragent verbose quiet "
    "dnstimeout connecttimeout readtimeout retryconnrefused limitrate inet4only inet6only "
    "preferfamily maxredirect header compression"
)
SQLITE = words("sqlite3 sqlite")
CC = words("cc c++ gcc g++ clang clang++ tcc icc icx gfortran")
CC_SPEC = spec("oIDULlxBMFT", "", abbrev=False)


# ---------------------------------------------------------------- git

GIT_SPEC = spec(
    "Cc",
    "git-dir= work-tree= namespace= super-prefix= config-env= exec-path? html-path man-path "
    "info-path paginate no-pager no-replace-objects bare literal-pathspecs glob-pathspecs "
    "noglob-pathspecs icase-pathspecs no-optional-locks list-cmds= attr-source= version help "
    "no-advice",
    permute=False,
    abbrev=False,
)
# Subcommands that change the repository, the index or the work tree in every form.
GIT_WRITES = words(
    "add am checkout checkout-index cherry-pick commit commit-tree fast-import filter-branch "
    "filter-repo gc init maintenance merge merge-index merge-one-file mktag mktree mv pack-refs "
    "prune prune-packed pull push rebase repack replace reset restore revert rm switch "
    "update-index update-ref update-server-info write-tree unpack-objects unpack-file p4 svn "
    "cvsimport quiltimport archimport mergetool difftool gui citool instaweb stage "
    "sparse-checkout lfs annex"
)
# Subcommands that only read in the forms listed (first operand or option), and write otherwise.
GIT_READ_ACTIONS: dict[str, frozenset[str]] = {
    "stash": words("list show"),
    "worktree": words("list"),
    "submodule": words("status summary foreach"),
    "remote": words("show get-url -v --verbose"),
    "notes": words("list show get-ref"),
    "reflog": words("show exists"),
    "bisect": words("log view visualize visualise terms help"),
    "rerere": words("status diff remaining"),
    "commit-graph": words("verify"),
    "multi-pack-index": words("verify"),
    "bundle": words("verify list-heads"),
    "lfs": words("ls-files status env version logs track fsck pointer"),
    "sparse-checkout": words("list check-rules"),
}
# Options whose presence makes a subcommand a read (git accepts unambiguous prefixes).
GIT_READ_OPTIONS: dict[str, frozenset[str]] = {
    "apply": words("--check --stat --numstat --summary"),
    "clean": words("--dry-run -n"),
    "read-tree": words("--dry-run -n"),
    "merge-file": words("--stdout -p"),
    "format-patch": words("--stdout"),
    "fsck": words(""),
}
GIT_READS = words(
    "status log diff show blame annotate grep ls-files ls-tree ls-remote cat-file rev-parse "
    "rev-list describe shortlog whatchanged for-each-ref show-ref show-branch name-rev "
    "merge-base cherry range-diff diff-tree diff-files diff-index check-ignore check-attr "
    "check-mailmap check-ref-format count-objects var version help verify-commit verify-tag "
    "verify-pack get-tar-commit-id column stripspace request-pull fetch send-email "
    "bugreport diagnose interpret-trailers mailinfo mailsplit archive fsck hash-object "
    "symbolic-ref branch tag config web--browse credential merge-tree"
)
# Config keys whose value is a command git runs (or a file of further configuration).
GIT_COMMAND_KEY = re.compile(
    r"alias\..+|core\.(?:pager|editor|sshcommand|fsmonitor|hookspath|askpass|gitproxy"
    r"|attributesfile|worktree|excludesfile)|credential\..*helper|diff\..*\.(?:command|textconv)"
    r"|diff\.external|difftool\..*|merge\..*\.driver|mergetool\..*|filter\..*|gpg\..*program"
    r"|pager\..*|sequence\.editor|sendemail\..*|web\.browser|browser\..*|man\..*"
    r"|uploadpack\..*|remote\..*\.(?:uploadpack|receivepack|proxy)|protocol\..*|include\..*"
    r"|includeif\..*|init\.templatedir|submodule\..*\.update|http\..*proxy|ssh\..*"
    r"|tar\..*\.command|gc\..*|status\..*hook.*|core\.hook.*",
    re.IGNORECASE,
)
# Git's environment: where the repository is, and where its configuration comes from.
GIT_PLACE_VARS = words("GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_OBJECT_DIRECTORY GIT_COMMON_DIR")
GIT_CONFIG_VARS = words(
    "HOME XDG_CONFIG_HOME GIT_CONFIG GIT_CONFIG_GLOBAL GIT_CONFIG_SYSTEM GIT_CONFIG_PARAMETERS "
    "GIT_CONFIG_COUNT GIT_EXEC_PATH GIT_TEMPLATE_DIR GIT_CONFIG_NOSYSTEM"
)
GIT_DIFF_OUTPUT = words("diff log show range-diff format-patch whatchanged diff-tree diff-index")


# ---------------------------------------------------------------- packages, builds, formatters

# Package managers: subcommands that change installed packages, lock files or the tree.
PKG: dict[str, frozenset[str]] = {
    "npm": words(
        "install i in ins inst insta instal isnt isnta isntal add ci clean-install "
        "install-clean ic install-ci-test cit install-test it uninstall un unlink remove rm r "
        "update up upgrade udpate link ln dedupe ddp prune init create version publish "
        "unpublish deprecate rebuild rb pkg pack shrinkwrap set config c star unstar owner "
        "team token profile access dist-tag hook org"
    ),
    "pnpm": words(
        "install i add remove rm uninstall un update up upgrade link ln unlink prune init "
        "create import rebuild rb patch patch-commit patch-remove pack publish fetch dedupe "
        "install-test it setup env config"
    ),
    "yarn": words(
        "install add remove upgrade up link unlink init create import dedupe set config pack "
        "publish version patch patch-commit unplug rebuild autoclean global"
    )
    | {""},  # a bare `yarn` installs
    "bun": words("install i add a remove rm update link unlink init create patch upgrade pm"),
    "pip": words("install uninstall download wheel cache config"),
    "uv": words("add remove sync lock init venv build publish export format version"),
    "poetry": words(
        "add remove install update lock init new sync build version publish self config "
        "export source"
    ),
    "pipenv": words("install uninstall update lock sync clean upgrade requirements"),
    "pdm": words("add remove install update lock sync init build publish use venv export"),
    "hatch": words("build new version publish env clean dep"),
    "pipx": words("install uninstall upgrade inject reinstall uninject ensurepath"),
    "conda": words("install remove uninstall update upgrade create env clean config"),
    "mamba": words("install remove uninstall update upgrade create env clean"),
    "micromamba": words("install remove uninstall update upgrade create env clean"),
    "gem": words("install uninstall update cleanup build"),
    "bundle": words("install update add remove lock init package cache clean binstubs")
    | {""},  # a bare `bundle` installs
    "composer": words(
        "install require update remove create-project init dump-autoload dumpautoload upgrade"
    ),
    "cargo": words(
        "install uninstall add remove rm fix update new init generate-lockfile vendor publish "
        "build b package"
    ),
    "go": words("get install fmt generate work fix build"),
    "apt": words("install remove purge upgrade full-upgrade update autoremove reinstall"),
    "apt-get": words("install remove purge upgrade dist-upgrade update autoremove build-dep"),
    "dnf": words("install remove erase upgrade update reinstall downgrade autoremove"),
    "yum": words("install remove erase upgrade update reinstall downgrade autoremove"),
    "zypper": words("install in remove rm update up dist-upgrade dup"),
    "apk": words("add del upgrade update fix"),
    "brew": words("install uninstall remove rm upgrade update reinstall tap untap link cleanup"),
    "snap": words("install remove refresh revert"),
    "port": words("install uninstall upgrade selfupdate clean"),
    "deno": words("install uninstall add remove vendor compile bundle fmt outdated upgrade"),
}
PKG_ALIASES = {"pip3": "pip", "aptitude": "apt", "pnpx": "npx", "nala": "apt"}
PKG_VALUE_OPTS = words(
    "-C --prefix --dir --cwd -w --workspace --filter -F --registry --cache --userconfig "
    "--globalconfig --project --directory -r --requirement -c --constraint --python "
    "-p --package -e --editable -t --target -d --dest --index-url -i --extra-index-url "
    "--find-links -f --config-file --manifest-path --target-dir -Z -j --jobs --color"
)
RUNNERS = words("npx bunx uvx pnpx")
RUNNER_SPEC = spec(
    "pc",
    "package= call= from= with= python= yes no quiet ignore-existing prefer-offline "
    "prefer-online offline shell= shell-auto-fallback? no-install install",
    permute=False,
)
RUN_SUBCOMMAND = {
    "uv": "run",
    "poetry": "run",
    "pipenv": "run",
    "pdm": "run",
    "hatch": "run",
    "rye": "run",
    "conda": "run",
    "mamba": "run",
    "micromamba": "run",
    "pixi": "run",
    "bundle": "exec",
    "pipx": "run",
    "npm": "exec",
    "pnpm": "exec",
    "yarn": "exec",
}
# Task runners: a target or task named with one of these words builds or rewrites things.
BUILD_RUNNERS = words(
    "make gmake bmake just ninja rake task mage invoke inv gradle gradlew mvn mvnw sbt bazel "
    "bazelisk buck buck2 pants scons waf meson cmake xmake"
)
WRITE_WORDS = words(
    "all build install uninstall dist release publish deploy gen generate codegen compile "
    "format fmt fix clean distclean prepare bootstrap setup update upgrade bump vendor migrate "
    "apply sync write lock package pack bundle assemble jar war wheel sdist docs-build "
    "autofix lint-fix prettier black isort regen regenerate snapshot-update"
)
READ_WORDS = words(
    "test tests check checks lint lints typecheck type-check types vet verify help list "
    "doctor audit coverage cov ci bench benchmark e2e unit integration spec specs info "
    "version show status query print dry-run explain graph deps-tree tree outdated"
)
MAKE_SPEC = spec(
    "CfIjloOW",
    "directory= file= makefile= include-dir= jobs? load-average? old-file= assume-old= "
    "what-if= new-file= assume-new= output-sync? eval= just-print dry-run recon question "
    "print-data-base touch always-make environment-overrides ignore-errors keep-going "
    "no-keep-going silent quiet no-print-directory print-directory trace warn-undefined-"
    "variables check-symlink-times no-builtin-rules no-builtin-variables debug? help version",
    optional="",
)
FORMATTERS_ALWAYS = words(
    "pyupgrade autoflake-fix add-trailing-comma reorder-python-imports docformatter-fix"
)


# ---------------------------------------------------------------- wrappers


@dataclass(frozen=True)
class Wrapper:
    """A command that runs another command given as its remaining operands."""

    spec: Spec
    skip: int = 0  # operands before the command (timeout's duration, chroot's root)
    strings: frozenset[str] = field(default_factory=frozenset)  # options whose value is shell
    targets: frozenset[str] = field(default_factory=frozenset)  # options naming a file written
    chdir: frozenset[str] = field(default_factory=frozenset)  # options naming the command's dir
    no_command: frozenset[str] = field(default_factory=frozenset)  # options that mean no command
    joined_by: frozenset[str] = field(default_factory=frozenset)  # options making it `joined`
    rooted: bool = False  # the command sees another root: no path it names can be placed
    joined: bool = False  # the operands are joined into one shell command (watch, ssh)


def _w(
    short: str = "",
    long: str = "",
    *,
    skip: int = 0,
    strings: str = "",
    targets: str = "",
    chdir: str = "",
    no_command: str = "",
    joined_by: str = "",
    rooted: bool = False,
    joined: bool = False,
    numeric: bool = False,
) -> Wrapper:
    return Wrapper(
        spec(short, long, permute=False, numeric=numeric),
        skip,
        words(strings),
        words(targets),
        words(chdir),
        words(no_command),
        words(joined_by),
        rooted,
        joined,
    )


WRAPPERS: dict[str, Wrapper] = {
    "nohup": _w("", "help version"),
    "nice": _w("n", "adjustment= help version", numeric=True),
    "ionice": _w("cnpPu", "class= classdata= pid= pgid= uid= ignore", no_command="-p -P -u"),
    "timeout": _w("sk", "signal= kill-after= preserve-status foreground verbose", skip=1),
    "stdbuf": _w("ioe", "input= output= error="),
    "setsid": _w("", "ctty fork wait"),
    "time": _w("fo", "format= output= append portability verbose quiet", targets="-o --output"),
    "chroot": _w("", "groups= userspec= skip-chdir", skip=1, rooted=True),
    "unshare": _w(
        "RwSG",
        "mount? uts? ipc? net? pid? user? cgroup? time? fork kill-child? mount-proc? map-user= "
        "map-users= map-group= map-groups= map-root-user map-current-user map-auto "
        "propagation= setgroups= keep-caps setuid= setgid= root= wd= monotonic= boottime= "
        "load-interp=",
        rooted=True,
    ),
    "pkexec": _w("", "user= disable-internal-agent keep-cwd"),
    "gosu": _w("", "", skip=1),
    "su-exec": _w("", "", skip=1),
    "setpriv": _w(
        "d",
        "dump nnp no-new-privs inh-caps= ambient-caps= bounding-set= keep-groups clear-groups "
        "init-groups groups= ruid= euid= reuid= rgid= egid= regid= securebits= pdeathsig= "
        "selinux-label= apparmor-profile= landlock-access= landlock-rule= reset-env",
    ),
    "chrt": _w(
        "TPD",
        "all-tasks batch deadline fifo idle other rr reset-on-fork max pid sched-runtime= "
        "sched-period= sched-deadline= verbose",
        skip=1,
        no_command="-p --pid -m --max",
    ),
    "taskset": _w("", "all-tasks pid cpu-list", skip=1, no_command="-p --pid"),
    "numactl": _w(
        "CNmipP",
        "all interleave= preferred= preferred-many= membind= cpunodebind= physcpubind= "
        "localalloc show hardware balancing weighted-interleave= offset= length= shm= file= "
        "touch strict dump dump-nodes huge",
    ),
    "prlimit": _w("p", "pid= output= noheadings raw verbose", no_command="-p --pid"),
    "cgexec": _w("g", "sticky"),
    "fakeroot": _w("lsib", "lib= faked= unknown-is-real", targets="-s"),
    "catchsegv": _w(),
    "valgrind": _w("", "log-file= xml-file=", targets="--log-file --xml-file"),
    "strace": _w("abeEIoOpPsSuUX", "output=", targets="-o --output"),
    "ltrace": _w("aAeFlnopsuwx", "output=", targets="-o --output"),
    "chronic": _w(),
    "unbuffer": _w(),
    "caffeinate": _w("tw"),
    "torsocks": _w("uapPi"),
    "proxychains": _w("f"),
    "proxychains4": _w("f"),
    "tini": _w("pe"),
    "dumb-init": _w("r", "single-child rewrite= verbose"),
    "entr": _w("", "", joined_by="-s"),
    "doas": _w("uC"),
    "command": _w("", "", no_command="-v -V"),
    "builtin": _w(),
    "exec": _w("a"),
    "!": _w(),
    "coproc": _w(),
    "noglob": _w(),
    "nocorrect": _w(),
    "sg": _w("", "", skip=1, joined=True),
    "runcon": _w("urtl", "compute user= role= type= range="),
    "watch": _w(
        "nq",
        "interval= differences? chgexit no-title beep errexit color exec precise no-wrap "
        "equexit= no-rerun",
        joined=True,
    ),
}
SUDO_SPEC = spec(
    "ugpCDrtTUh",
    "askpass background bell close-from= chdir= preserve-env? edit group= set-home help host= "
    "login remove-timestamp reset-timestamp list non-interactive preserve-groups prompt= "
    "chroot= role= stdin shell type= command-timeout= other-user= user= version validate",
    permute=False,
)
SU_SPEC = spec(
    "cgGsuw",
    "command= session-command= group= supp-group= shell= login preserve-environment pty "
    "whitelist-environment= user= fast",
    permute=False,
)
ENV_SPEC = spec(
    "uCS",
    "ignore-environment null unset= chdir= split-string= block-signal? default-signal? "
    "ignore-signal? list-signal-handling debug help version",
    permute=False,
)
XARGS_SPEC = spec(
    "aEdILnPs",
    "null arg-file= delimiter= eof? replace? max-lines? max-args= max-procs= no-run-if-empty "
    "interactive verbose exit max-chars= show-limits open-tty process-slot-var=",
    optional="eil",
    permute=False,
)
FLOCK_SPEC = spec(
    "Ewc",
    "shared exclusive unlock nonblock nb timeout= wait= close conflict-exit-code= "
    "no-fork command= verbose",
    permute=False,
)
SCRIPT_SPEC = spec(
    "cEmTIOBt",
    "append command= echo= return flush force quiet log-timing= log-in= log-out= log-io= "
    "logging-format= output-limit= timing?",
    optional="",
)
SSH_SPEC = spec("BbcDEeFIiJLlmOoPpQRSWw", "", abbrev=False)
SSH_COMMAND_OPTIONS = re.compile(r"(?i)\s*(?:proxycommand|localcommand|knownhostscommand)\b")
DOCKERS = words("docker podman nerdctl")
# Programs that run a command in a place (namespace, container, sandbox) the guard cannot follow.
OPAQUE = words(
    "bwrap firejail proot fakechroot nsenter systemd-nspawn systemd-run lxc-execute "
    "lxc-attach distrobox toolbox flatpak-spawn"
)
FIND_ACTIONS = words("-exec -execdir -ok -okdir")
FIND_WRITES = words("-fprint -fprint0 -fls")


# ---------------------------------------------------------------- environment

# Variables whose value is a command something runs later in the same command line.
COMMAND_VARS = words(
    "PAGER GIT_PAGER MANPAGER SYSTEMD_PAGER BAT_PAGER DELTA_PAGER EDITOR VISUAL GIT_EDITOR "
    "SUDO_EDITOR FCEDIT GIT_SEQUENCE_EDITOR GIT_SSH_COMMAND GIT_SSH GIT_ASKPASS SSH_ASKPASS "
    "SUDO_ASKPASS GIT_EXTERNAL_DIFF GIT_PROXY_COMMAND LESSOPEN LESSCLOSE BROWSER "
    "PROMPT_COMMAND RSYNC_RSH CVS_RSH"
)
# Variables that make a program read options or configuration the guard does not see.
OPTION_VARS = words(
    "TAR_OPTIONS GZIP XZ_OPT XZ_DEFAULTS ZSTD_CLEVEL CURL_HOME WGETRC SED POSIXLY_CORRECT "
    "MAKEFLAGS GNUMAKEFLAGS MFLAGS NODE_OPTIONS PERL5OPT RUBYOPT PYTHONSTARTUP BASH_ENV ENV "
    "LD_PRELOAD LD_AUDIT"
)
