"""Every shell command the docs show is checked, and run where it can be, so docs follow the code.

The convention (README.md, RELEASE.md, docs/runbook.md, docs/rollback.md; a missing file is
skipped, an existing one must hold at least one `sh` block):

- A fenced block with info string `sh` holds commands, one per line; a trailing `# comment` is
  fine, `\\` continuations, pipes and redirections are not; `&&` joins commands that run in
  order. Blocks with any other info string (`text`, `toml`, ...) are not commands.
- `<!-- doc-test: STATE -->` on the line right before the fence picks the state the block runs
  in; without it the state is `fresh`:
  - `fresh`: a copy of this project as a git repository on `main` with a bare `origin`
    (pushed) and an empty local AWS (a moto server);
  - `deployed`: `fresh` plus one executed deploy to `local`;
  - `released`: `fresh` plus deploy, tag v0.1.0, a model change (`regularization` 1.0 -> 0.5
    in config/model.toml, committed as `feat(model): ...` and pushed), deploy, tag v0.2.0;
  - `registered`: `fresh` plus what a training pipeline leaves (test_model_sources): two
    versions of model package group `threat-models`, 1 Approved and 2
    PendingManualApproval, their files under s3://acme-training-123456789012/;
  - `skip: REASON`: nothing in the block runs (e.g. it needs a real account or GitHub
    rights); its lines are still checked.
  In every copy `local` points at the test's moto server and `[release] environment` is
  `local` (committed), so `invoke tag` can certify local deploys. No GITHUB_* variable and
  no confirmation variable is set: what a command needs, its line sets
  (`VAR=value invoke ...`).
- A line whose comment ends in `doc-test: skip REASON` (`# why; doc-test: skip REASON` keeps
  a comment for readers) is checked but not run; one ending in `doc-test: fails` is a
  documented refusal: it must exit non-zero with a one-line `error: ...` on stderr.
- Checked, every line: `invoke [--core-flags] <task> --flags` names a task, and
  `invoke --help <task>` lists each flag used; `nox -s A [B ...] [-- args]` names sessions of
  noxfile.py, and the args after `--` must suit the invoke task that session runs. Other
  programs must be in doc_commands.CHECKED_PROGRAMS (git, uv, source, pre-commit, cdk, ...);
  an unknown program fails.
- Run, every other line: `invoke ...` in this process (see run_invoke) with the line's
  `VAR=value` prefixes as environment variables, the block's copy as the working directory
  and the project root, and the example deploy id doc_commands.EXAMPLE_PLAN ("the id your
  dry run printed") replaced by the newest plan a dry run kept in the copy for the `--env`
  of the line (and doc_commands.EXAMPLE_DEPLOY, "a record history lists", by the newest
  record an execute wrote there); `nox -s X -- args` as the invoke task session X runs, with those
  args. Each must exit 0. Lines of other programs only get checked. Never run, only checked:
  `invoke lint`, `invoke test`, bare `nox` and the nox sessions that run those tasks: they
  are the checks CI runs around this very suite (running them here would recurse).
- A block using `invoke local-aws` starts its own server: it must be `fresh`, gets a copy whose
  `local` points at a free port of its own, and the server it started is always stopped.

In-process, against a copy: the copy is this project's working tree (uncommitted edits
included) without .git, .nox, .venv, build/, cdk.out/ and caches, committed to a new
repository. Each run loads the copy's own tasks.py, as invoke loads the one in its working
directory (the copy), and the tasks pass that file's folder down as the project root: the
package imported here reads the copy's config, model.toml and git with nothing patched,
which is what a team with two projects in one environment relies on. The working directory is
the copy too, for the tasks' relative outputs (cdk.out, build/).

Speed: the copy is prepared once; each block gets a copy of that in its state (a deploy takes
about a second on moto once the first has warmed up synth). Blocks run grouped by state,
read-only blocks first, and share one copy (and its AWS) until a block applies something (a
run line with --execute): the next block gets a new one. So each block sees its state as
described, whatever ran before it, and the docs' order does not matter.
"""

from __future__ import annotations

import importlib
import importlib.util
import io
import os
import re
import shutil
import socket
import subprocess
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
from invoke.collection import Collection
from invoke.exceptions import ParseError
from invoke.parser import Parser
from invoke.parser.context import ParserContext
from invoke.program import Program

from {{ cookiecutter.package_name }} import config

from .doc_commands import (
    CHECKED_PROGRAMS,
    DOCUMENTS,
    EXAMPLE_DEPLOY,
    EXAMPLE_PLAN,
    RUN_PROGRAMS,
    Block,
    Command,
    DocError,
    Line,
    NoxFile,
    State,
    parse_markdown,
    parse_nox,
    read_noxfile,
)
from .test_model_sources import approve, register, upload_run

PROJECT = Path(__file__).resolve().parents[1]
CONFIRM_VARIABLE = config.load(PROJECT).project.deploy_confirm_variable
CONFIRM = ((CONFIRM_VARIABLE, "I_UNDERSTAND_THE_COST"),)
# The checks CI runs around this suite (lint; test runs this very suite): checked, never run.
NOT_RUN_TASKS = frozenset({"lint", "test"})
NOT_COPIED = (".git", ".nox", ".venv", "build", "cdk.out", "cdk.out.validation-report.json")
NOT_COPIED_CACHES = ("__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache", "*.egg-info")
STATE_ORDER = (State.FRESH, State.DEPLOYED, State.RELEASED, State.REGISTERED)
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Docs Test",
    "GIT_COMMITTER_NAME": "Docs Test",
    "GIT_AUTHOR_EMAIL": "docs-test@example.com",
    "GIT_COMMITTER_EMAIL": "docs-test@example.com",
}


# --- the documents ------------------------------------------------------------------------------


def read_documents() -> tuple[dict[str, list[Block]], dict[str, str]]:
    """Blocks of every document present, and the convention errors of the others."""
    found: dict[str, list[Block]] = {}
    errors: dict[str, str] = {}
    for name in DOCUMENTS:
        path = PROJECT / name
        if not path.is_file():
            continue  # not written yet
        try:
            found[name] = parse_markdown(path.read_text(encoding="utf-8"), name)
        except DocError as error:
            errors[name] = str(error)
    return found, errors


DOCUMENT_BLOCKS, DOCUMENT_ERRORS = read_documents()
NOXFILE = read_noxfile((PROJECT / "noxfile.py").read_text(encoding="utf-8"))
ALL_BLOCKS = [block for blocks in DOCUMENT_BLOCKS.values() for block in blocks]


# --- what runs and what is only checked ---------------------------------------------------------


def invoke_runs(command: Command, noxfile: NoxFile = NOXFILE) -> list[list[str]]:
    """The invoke argv(s) a documented command runs as; [] when it is only checked."""
    if command.program == "invoke":
        named = [word for word in command.argv[1:] if word in task_names()]
        if named[:1] and named[0] in NOT_RUN_TASKS:
            return []
        return [list(command.argv[1:])]
    if command.program != "nox":
        return []
    try:
        call = parse_nox(command.argv)
    except ValueError:
        return []  # check_line says why
    runs = []
    for name in call.sessions:
        session = noxfile.sessions.get(name)
        if session is None or session.task is None or session.task in NOT_RUN_TASKS:
            return []
        runs.append([session.task, *(["--"] if session.remainder else []), *call.posargs])
    return runs


def line_runs(line: Line, block: Block) -> bool:
    if block.state is State.SKIP or line.skip is not None:
        return False
    return all(invoke_runs(command) for command in line.commands)


def block_applies(block: Block) -> bool:
    """Whether the block changes its copy's AWS or origin (then the next block needs a new one)."""
    return any(
        line_runs(line, block)
        and not line.fails
        and any(
            "--execute" in argv or "-x" in argv for c in line.commands for argv in invoke_runs(c)
        )
        for line in block.lines
    )


def uses_local_aws(block: Block) -> bool:
    return any(
        "local-aws" in argv
        for line in block.lines
        for c in line.commands
        for argv in invoke_runs(c)
    )


def run_order(blocks: Sequence[Block]) -> list[Block]:
    """By state, read-only blocks before those that apply something; local-aws blocks last."""
    runnable = [block for block in blocks if block.state is not State.SKIP]
    return sorted(
        runnable,
        key=lambda b: (uses_local_aws(b), STATE_ORDER.index(b.state), block_applies(b)),
    )


# --- invoke, in this process --------------------------------------------------------------------


@dataclass(frozen=True)
class Ran:
    argv: tuple[str, ...]
    code: int
    stdout: str
    stderr: str

    def shown(self) -> str:
        return (
            f"`invoke {' '.join(self.argv)}` exited {self.code}\n"
            f"--- stderr\n{self.stderr.strip()}\n--- stdout (last 40 lines)\n"
            + "\n".join(self.stdout.strip().splitlines()[-40:])
        )


def fresh_namespace(root: Path = PROJECT) -> Collection:
    """root/tasks.py's namespace from a private load of the module, as invoke loads it from
    its working directory: invoke consumes a task's help texts while it builds its parser,
    which would strip them from the shared `tasks` module that other tests check."""
    spec = importlib.util.spec_from_file_location("_documented_tasks", root / "tasks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    namespace: Collection = module.ns
    return namespace


def run_invoke(
    argv: Sequence[str], environ: Sequence[tuple[str, str]] = (), root: Path | None = None
) -> Ran:
    """`invoke ARGV` as the CLI would run it in root (default: the working directory), in this
    process: the same Program, and the namespace of root's tasks.py.

    invoke prints a refusal's Exit message to stderr and calls sys.exit with its code; both
    are caught here. The line's VAR=value prefixes are set for this command only.
    """
    stdout, stderr = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch, redirect_stdout(stdout), redirect_stderr(stderr):
        for name, value in environ:
            patch.setenv(name, value)
        try:
            Program(
                namespace=fresh_namespace(root or Path.cwd()), name="invoke", binary="invoke"
            ).run(["invoke", *argv], exit=True)
            code = 0
        except SystemExit as exited:
            code = exited.code if isinstance(exited.code, int) else int(exited.code is not None)
    return Ran(tuple(argv), code, stdout.getvalue(), stderr.getvalue())


@cache
def task_names() -> frozenset[str]:
    return frozenset(
        name
        for context in fresh_namespace().to_contexts()
        for name in (context.name, *context.aliases)
        if name
    )


_OPTION = re.compile(r"^\s{2}(-\S.*?)(?:\s{2,}|$)")


@cache
def help_flags(task: str) -> frozenset[str]:
    """The flags `invoke --help TASK` lists, `--[no-]x` as both `--x` and `--no-x`."""
    ran = run_invoke(["--help", task])
    assert ran.code == 0, ran.shown()
    flags: set[str] = set()
    for row in ran.stdout.splitlines():
        option = _OPTION.match(row)
        if option is None:
            continue
        for spec in option.group(1).split(", "):
            name = spec.split("=")[0].split(" ")[0]
            if name.startswith("--[no-]"):
                flags |= {"--" + name[7:], "--no-" + name[7:]}
            else:
                flags.add(name)
    return frozenset(flags)


def check_invoke(args: Sequence[str]) -> list[str]:
    """Problems of `invoke ARGS`: invoke's own parse, then each flag against the task's help."""
    core = ParserContext(args=Program().core_args())
    try:  # as Program parses: core flags first, then tasks and their flags
        unparsed = Parser(initial=core, ignore_unknown=True).parse_argv(list(args)).unparsed
        Parser(contexts=fresh_namespace().to_contexts()).parse_argv(unparsed)
    except ParseError as error:
        return [f"invoke cannot parse it: {error}"]
    problems = []
    task = ""
    after_help = False
    for word in args:
        if word == "--":
            break
        if word.startswith("-"):
            after_help = word in {"--help", "-h"} and not task
            if task and word.split("=")[0] not in help_flags(task):
                problems.append(f"`invoke --help {task}` does not list {word.split('=')[0]}")
        elif word in task_names():
            task, after_help = word, False
        elif after_help:
            problems.append(f"`invoke --help {word}`: there is no task {word!r}")
    if not task and not any(word.startswith("-") for word in args):
        problems.append("names no task")
    return problems


def check_nox(argv: Sequence[str], noxfile: NoxFile = NOXFILE) -> list[str]:
    """Problems of `nox ...`: its sessions exist; args after -- suit the task the session runs."""
    try:
        call = parse_nox(tuple(argv))
    except ValueError as error:
        return [str(error)]
    named = call.sessions or noxfile.defaults  # a bare `nox` runs the default sessions
    problems = [
        f"noxfile.py has no session {name}" for name in named if name not in noxfile.sessions
    ]
    if problems or not call.posargs:
        return problems
    session = noxfile.sessions[named[0]]
    if len(named) > 1 or session.task is None:
        return [f"args after -- need one session that runs an invoke task, not {' '.join(named)}"]
    if session.remainder:
        return []  # they go past the task, e.g. to pytest
    return [f"as `invoke {session.task}`: {p}" for p in check_invoke([session.task, *call.posargs])]


def check_command(command: Command) -> list[str]:
    if command.program == "invoke":
        return check_invoke(command.argv[1:])
    if command.program == "nox":
        return check_nox(command.argv)
    if command.program not in RUN_PROGRAMS | CHECKED_PROGRAMS:
        return [
            f"unknown program {command.program!r}; if the docs may use it, add it to "
            "CHECKED_PROGRAMS in tests/doc_commands.py"
        ]
    return []


def check_line(line: Line) -> list[str]:
    problems = [f"{line.where}: `{c}`: {p}" for c in line.commands for p in check_command(c)]
    if line.fails and len(line.commands) != 1:
        problems.append(f"{line.where}: `# doc-test: fails` takes one command on its line")
    if line.fails and not all(invoke_runs(c) for c in line.commands):
        problems.append(f"{line.where}: `# doc-test: fails` on a line that does not run")
    return problems


# --- copies of the project, in a state -----------------------------------------------------------


def git(where: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=where, check=True, capture_output=True, text=True)
    return done.stdout.strip()


def replace_once(path: Path, pattern: str, replacement: str) -> None:
    """Edit one setting in a TOML file in place, keeping its comments; it must be there once."""
    text = path.read_text(encoding="utf-8")
    changed, count = re.subn(pattern, replacement, text, flags=re.MULTILINE)
    assert count == 1, f"{path.name}: expected one match of {pattern!r}, found {count}"
    path.write_text(changed, encoding="utf-8")


def point_local_at(root: Path, url: str) -> None:
    """Set `local`'s endpoint_url in the copy's environments.toml."""
    replace_once(
        root / "config" / "environments.toml",
        r'(^\[environments\.local\]\n(?:(?!^\[).*\n)*?endpoint_url = )"[^"]*"',
        rf'\g<1>"{url}"',
    )


def prepare_copy(where: Path, moto_url: str) -> Path:
    """The project as a new git repository on main, pushed to a bare origin next to it."""
    root = where / "project"
    shutil.copytree(PROJECT, root, ignore=shutil.ignore_patterns(*NOT_COPIED, *NOT_COPIED_CACHES))
    point_local_at(root, moto_url)
    replace_once(
        root / "config" / "environments.toml",
        r'(^\[release\]\n(?:(?!^\[).*\n)*?environment = )"[^"]*"',
        r'\g<1>"local"',
    )
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "chore: the project, certified on local for the docs test")
    git(where, "init", "-q", "--bare", "-b", "main", "origin.git")
    git(root, "remote", "add", "origin", str(where / "origin.git"))
    git(root, "push", "-q", "-u", "origin", "main")
    return root


def read_local_url(root: Path) -> str | None:
    return config.load(root).environment("local").endpoint_url


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Copy:
    """One copy of the project in one state."""

    root: Path
    state: State

    def run(self, argv: Sequence[str], environ: Sequence[tuple[str, str]] = ()) -> Ran:
        ran = run_invoke(argv, environ, self.root)
        assert ran.code == 0, f"building the {self.state} state: {ran.shown()}"
        return ran


class Copies:
    """Builds copies in a state on demand; keeps the last one while blocks only read it."""

    def __init__(self, prepared: Path, moto_url: str, tmp: pytest.TempPathFactory) -> None:
        self.prepared = prepared
        self.moto_url = moto_url
        self.tmp = tmp
        self.current: Copy | None = None

    def get(self, block: Block) -> Copy:
        if uses_local_aws(block):
            assert block.state is State.FRESH, (
                f"{block.where}: a block that starts `invoke local-aws` must be fresh: its server "
                "starts empty"
            )
            return self.new(State.FRESH, local_url=f"http://127.0.0.1:{free_port()}")
        if self.current is None or self.current.state is not block.state:
            return self.new(block.state)
        return self.current

    def spent(self) -> None:
        """The last block applied something: the next one gets a new copy."""
        self.close()

    def close(self) -> None:
        self.current = None

    def new(self, state: State, local_url: str = "") -> Copy:
        self.close()
        where = self.tmp.mktemp(f"docs-{state}")
        shutil.copytree(self.prepared.parent, where, dirs_exist_ok=True, symlinks=True)
        root = where / self.prepared.name
        git(root, "remote", "set-url", "origin", str(where / "origin.git"))
        if local_url:
            point_local_at(root, local_url)
            git(root, "commit", "-qam", "chore: local AWS on a port of its own")
            git(root, "push", "-q", "origin", "main")
        else:  # the copy's AWS starts empty
            urllib.request.urlopen(
                urllib.request.Request(f"{self.moto_url}/moto-api/reset", method="POST")
            )
        copy = Copy(root=root, state=state)
        self.current = copy
        if state in (State.DEPLOYED, State.RELEASED):
            copy.run(["deploy", "--env", "local", "--execute"], CONFIRM)
        if state is State.RELEASED:
            copy.run(["tag", "--execute"])
            replace_once(
                root / "config" / "model.toml",
                r"^regularization = 1\.0$",
                "regularization = 0.5",
            )
            git(root, "commit", "-qam", "feat(model): halve the regularization")
            git(root, "push", "-q", "origin", "main")
            copy.run(["deploy", "--env", "local", "--execute"], CONFIRM)
            copy.run(["tag", "--execute"])
        if state is State.REGISTERED:  # what a training pipeline leaves (test_model_sources)
            aws = read_local_url(root) or self.moto_url
            approve(aws, register(aws, upload_run(aws, root / "build", "run-1")[0]))
            register(aws, upload_run(aws, root / "build", "run-2", regularization=0.5)[0])
        return copy


@pytest.fixture(scope="module")
def quiet_environment() -> Iterator[None]:
    """No GitHub, no confirmation, no CI variables; git knows who commits and tags."""
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith("GITHUB_") or name == CONFIRM_VARIABLE:
                patch.delenv(name)
        for name, value in GIT_IDENTITY.items():
            patch.setenv(name, value)
        yield


@pytest.fixture(scope="module")
def copies(
    quiet_environment: None, moto_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Copies]:
    prepared = prepare_copy(tmp_path_factory.mktemp("docs-prepared"), moto_url)
    made = Copies(prepared, moto_url, tmp_path_factory)
    yield made
    made.close()


def stop_local_aws(root: Path) -> None:
    """Stop the server a block's `invoke local-aws` started (by its pid file), if still up."""
    from {{ cookiecutter.package_name }}.release import local_aws

    server = local_aws.local_aws(
        config.load(root).environment("local"), root / "build" / "local-aws"
    )
    local_aws.stop(server)


# --- the tests ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [name for name in DOCUMENTS if (PROJECT / name).is_file()])
def test_document_follows_the_convention(name: str) -> None:
    assert name not in DOCUMENT_ERRORS, DOCUMENT_ERRORS.get(name)
    assert DOCUMENT_BLOCKS[name], f"{name} shows no ```sh block; its commands would go unchecked"


@pytest.mark.parametrize("name", sorted(DOCUMENT_BLOCKS))
def test_every_documented_line_is_valid(name: str) -> None:
    problems = [
        p for block in DOCUMENT_BLOCKS[name] for line in block.lines for p in check_line(line)
    ]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    "block", run_order(ALL_BLOCKS), ids=lambda block: f"{block.where}-{block.state}"
)
def test_documented_block_runs(
    block: Block, copies: Copies, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = copies.get(block)
    monkeypatch.chdir(copy.root)
    finished = False
    try:
        for line in block.lines:
            if line_runs(line, block):
                run_line(line)
        finished = True
    finally:
        if uses_local_aws(block):
            stop_local_aws(copy.root)
        if uses_local_aws(block) or block_applies(block) or not finished:
            copies.spent()


def kept_plan(argv: Sequence[str]) -> str:
    """The newest plan a dry run kept in this copy for the line's --env (a folder with the
    plan's facts and no record: an execute's folder has its record.json)."""
    env = argv[argv.index("--env") + 1] if "--env" in argv else "local"
    folder = Path.cwd() / "build" / "deploys" / env
    plans = sorted(
        facts.parents[1].name
        for facts in folder.glob("*/bundle/plan-facts.json")
        if not (facts.parents[1] / "record.json").exists()
    )
    assert plans, f"a documented line names a plan of {env}, and no dry run kept one yet"
    return plans[-1]


def newest_record(argv: Sequence[str]) -> str:
    """The newest record an execute wrote in this copy for the line's --env (deploy ids
    sort by time)."""
    env = argv[argv.index("--env") + 1] if "--env" in argv else "local"
    folder = Path.cwd() / "build" / "deploys" / env
    records = sorted(record.parent.name for record in folder.glob("*/record.json"))
    assert records, f"a documented line names a record of {env}, and no execute wrote one yet"
    return records[-1]


def with_kept_plan(argv: Sequence[str]) -> list[str]:
    examples = {EXAMPLE_PLAN: kept_plan, EXAMPLE_DEPLOY: newest_record}
    return [examples[word](argv) if word in examples else word for word in argv]


def run_line(line: Line) -> None:
    for command in line.commands:
        for argv in invoke_runs(command):
            ran = run_invoke(with_kept_plan(argv), command.environ)
            if not line.fails:
                assert ran.code == 0, f"{line.where}: {ran.shown()}"
                continue
            said = ran.stderr.strip().splitlines()
            assert ran.code != 0, f"{line.where}: a documented refusal exited 0\n{ran.shown()}"
            assert len(said) == 1 and said[0].startswith("error: "), (
                f"{line.where}: a refusal is one line `error: ...`\n{ran.shown()}"
            )


def kind_of(line: Line, block: Block) -> str:
    if not line_runs(line, block):
        return "checked"
    return "fails" if line.fails else "runs"


def documented_counts() -> dict[str, tuple[int, int, int, int]]:
    """Per document, and in total: blocks, and command lines run, run as refusals, checked."""
    counted: dict[str, tuple[int, int, int, int]] = {}
    for name, blocks in DOCUMENT_BLOCKS.items():
        kinds = [kind_of(line, block) for block in blocks for line in block.lines]
        runs, fails, checked = (kinds.count(k) for k in ("runs", "fails", "checked"))
        counted[name] = (len(blocks), runs, fails, checked)
    columns = zip(*counted.values(), strict=True)
    total = tuple(sum(column) for column in columns)
    counted["total"] = (total[0], total[1], total[2], total[3])
    return counted


def documented_counts_table() -> list[str]:
    """The counts as the lines conftest prints after a run that included this file."""
    lines = [f"{'documented commands':<20} {'blocks':>6} {'run':>4} {'fail':>4} {'checked':>7}"]
    for name, (blocks, runs, fails, checked) in documented_counts().items():
        lines.append(f"{name:<20} {blocks:>6} {runs:>4} {fails:>4} {checked:>7}")
    return lines


def test_documented_commands_are_counted() -> None:
    counted = documented_counts()
    assert "README.md" in counted
    assert counted["total"][1] > 0, "no documented command runs"


# --- the parser and the checks, on small samples -------------------------------------------------

SAMPLE = """\
# A project

Inline `invoke nosuch` is prose, not a command.

```sh
invoke --list        # the tasks
```

<!-- doc-test: released -->
```sh
invoke rollback --env local
CONFIRM=yes OTHER=1 invoke rollback --env local --execute
invoke rollback --env local --to v9.9.9  # doc-test: fails
```

```text
error: an example output, not a command
```

<!-- doc-test: skip: needs the prod account -->
```sh
invoke deploy --env prod
uv venv && uv pip install -e .  # doc-test: skip sets up a machine
```
"""


def test_parser_finds_sh_blocks_states_prefixes_and_markers() -> None:
    blocks = parse_markdown(SAMPLE, "SAMPLE.md")
    assert [(b.number, b.state, b.skip) for b in blocks] == [
        (5, State.FRESH, None),
        (10, State.RELEASED, None),
        (21, State.SKIP, "needs the prod account"),
    ]
    listed, rollback, skipped = blocks
    assert listed.lines[0].commands == (Command(environ=(), argv=("invoke", "--list")),)
    dry, execute, refused = rollback.lines
    assert (dry.number, dry.skip, dry.fails) == (11, None, False)
    assert execute.commands[0].environ == (("CONFIRM", "yes"), ("OTHER", "1"))
    assert execute.commands[0].argv[-1] == "--execute"
    assert refused.fails and refused.commands[0].argv[-1] == "v9.9.9"
    chained = skipped.lines[1]
    assert [c.argv[:2] for c in chained.commands] == [("uv", "venv"), ("uv", "pip")]
    assert chained.skip == "sets up a machine"


@pytest.mark.parametrize(
    ("markdown", "message"),
    [
        ("<!-- doc-test: released -->\n\n```sh\ninvoke --list\n```\n", "right before"),
        ("<!-- doc-test: deploy -->\n```sh\ninvoke --list\n```\n", "unknown doc-test state"),
        ("<!-- doc-test: skip -->\n```sh\ninvoke --list\n```\n", "needs a reason"),
        ("<!-- doc-test: fresh -->\n```text\ninvoke --list\n```\n", "right before"),
        ("```sh\ninvoke history --env local | jq .\n```\n", "no pipes"),
        ("```sh\ninvoke --list  # doc-test: sometimes\n```\n", "unknown line marker"),
        ("```sh\n# only a comment\n```\n", "holds no command"),
        ("```sh\ninvoke --list\n", "never closed"),
    ],
)
def test_parser_refuses_what_breaks_the_convention(markdown: str, message: str) -> None:
    with pytest.raises(DocError, match=message):
        parse_markdown(markdown, "BAD.md")


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("invoke deploy --env local --bogus", "cannot parse"),
        ("invoke nosuch", "cannot parse"),
        ("invoke --help nosuch", "there is no task"),
        ("nox -s nosuch", "no session nosuch"),
        ("nox -s deploy -- --env local --bogus", "cannot parse"),
        ("rm -rf build", "unknown program 'rm'"),
    ],
)
def test_checks_catch_commands_the_code_does_not_have(line: str, problem: str) -> None:
    (block,) = parse_markdown(f"```sh\n{line}\n```\n", "BAD.md")
    assert problem in "\n".join(check_line(block.lines[0]))


def test_checks_accept_what_the_code_has() -> None:
    markdown = (
        "```sh\ninvoke --help deploy\ninvoke deploy -e local --no-upload-artifacts\n"
        "nox -s tests -- -k config\nnox -s rollback -- --env prod --to-model-package 3\n```\n"
    )
    (block,) = parse_markdown(markdown, "GOOD.md")
    assert [p for line in block.lines for p in check_line(line)] == []
    runs = [invoke_runs(c) for line in block.lines for c in line.commands]
    assert runs[2] == [] and runs[3] == [["rollback", "--env", "prod", "--to-model-package", "3"]]
