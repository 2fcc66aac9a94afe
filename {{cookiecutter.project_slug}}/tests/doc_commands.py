"""The shell commands the Markdown docs show, as data: fenced `sh` blocks, their state markers
and line markers, split into words. Pure: no project, no processes; tests/test_docs.py runs
them (its docstring states the convention).
"""

from __future__ import annotations

import ast
import re
import shlex
from dataclasses import dataclass
from enum import StrEnum

# The documents whose `sh` blocks are commands, relative to the project's root.
DOCUMENTS = ("README.md", "RELEASE.md", "docs/runbook.md", "docs/rollback.md")

# The deploy id the docs show for "the plan your dry run printed". A documented line that
# runs substitutes the newest plan its copy's last dry run kept (tests/test_docs.py).
EXAMPLE_PLAN = "20261201T101502123Z-1a2b3c4-9f0e"
# The deploy id the docs show for "a record invoke history lists". A documented line that
# runs substitutes the newest record its copy's deploys wrote for the line's --env.
EXAMPLE_DEPLOY = "20261201T093000456Z-1a2b3c4-7c1d"

# Programs a documented command may start with. invoke and nox lines run (in-process, as
# invoke tasks); the others are only checked against this list: they set up a machine (uv,
# source, pre-commit), talk to real services (aws, gh, cruft) or are the user's own tools.
RUN_PROGRAMS = frozenset({"invoke", "nox"})
CHECKED_PROGRAMS = frozenset(
    {"git", "uv", "source", "pre-commit", "cdk", "python", "pip", "aws", "gh", "cd", "cruft"}
)

_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})\s*(?P<info>[^\s`]*)")
_BLOCK_MARKER = re.compile(r"^\s*<!--\s*doc-test:\s*(?P<state>.*?)\s*-->\s*$")
_ANY_MARKER = re.compile(r"doc-test\s*:")
_COMMENT_MARKER = re.compile(r"^\s*<!--.*doc-test")
_SKIP = re.compile(r"skip(?:\s*:\s*|\s+|$)(?P<reason>.*)")
_LINE_MARKER = re.compile(r"doc-test:\s*(?P<marker>.*?)\s*$")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_OPERATORS = frozenset({"&&", "||", ";"})
_PUNCTUATION = "|&;<>()"


class DocError(ValueError):
    """A document breaks the convention; the message names the file and line."""


class State(StrEnum):
    FRESH = "fresh"
    DEPLOYED = "deployed"
    RELEASED = "released"
    REGISTERED = "registered"
    SKIP = "skip"


@dataclass(frozen=True)
class Command:
    """One simple command of a line: `VAR=value ... program args...`."""

    environ: tuple[tuple[str, str], ...]
    argv: tuple[str, ...]

    @property
    def program(self) -> str:
        return self.argv[0]

    def __str__(self) -> str:
        assignments = [f"{name}={value}" for name, value in self.environ]
        return shlex.join([*assignments, *self.argv])


@dataclass(frozen=True)
class Line:
    """One documented line: its commands (a `&&` list runs in order), and its markers."""

    path: str
    number: int  # 1-based, in the Markdown file
    text: str
    commands: tuple[Command, ...]
    skip: str | None  # the reason after `# doc-test: skip`, when given
    fails: bool  # `# doc-test: fails`: a documented refusal

    @property
    def where(self) -> str:
        return f"{self.path}:{self.number}"


@dataclass(frozen=True)
class Block:
    path: str
    number: int  # the line of the opening fence
    state: State
    skip: str | None  # the reason of `<!-- doc-test: skip: REASON -->`
    lines: tuple[Line, ...]

    @property
    def where(self) -> str:
        return f"{self.path}:{self.number}"


def _fail(path: str, number: int, message: str) -> DocError:
    return DocError(f"{path}:{number}: {message}")


def parse_state(marker: str, path: str, number: int) -> tuple[State, str | None]:
    """`fresh`, `deployed`, `released`, `registered` or `skip: REASON` (the colon is
    optional)."""
    skipped = _SKIP.fullmatch(marker)
    if skipped is not None:
        if not skipped.group("reason"):
            raise _fail(path, number, "`doc-test: skip` needs a reason: `skip: why not here`")
        return State.SKIP, skipped.group("reason")
    if marker in {State.FRESH, State.DEPLOYED, State.RELEASED, State.REGISTERED}:
        return State(marker), None
    raise _fail(
        path,
        number,
        f"unknown doc-test state {marker!r}; use fresh, deployed, released, registered or "
        "skip: REASON",
    )


def split_comment(text: str) -> tuple[str, str]:
    """(code, comment) of a shell line: `#` starts a comment at a word start, outside quotes."""
    quote = ""
    for index, char in enumerate(text):
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == 0 or text[index - 1].isspace()):
            return text[:index].rstrip(), text[index + 1 :].strip()
    return text.rstrip(), ""


def _words(code: str, path: str, number: int) -> list[str]:
    lexer = shlex.shlex(code, posix=True, punctuation_chars=_PUNCTUATION)
    lexer.whitespace_split = True
    try:
        return list(lexer)
    except ValueError as error:  # an unclosed quote
        raise _fail(path, number, f"cannot split {code!r}: {error}") from None


def parse_commands(code: str, path: str, number: int) -> tuple[Command, ...]:
    """The simple commands of a line; `&&`, `||` and `;` separate them, nothing else may."""
    commands: list[Command] = []
    current: list[str] = []
    for word in [*_words(code, path, number), ";"]:
        if word in _OPERATORS:
            if not current:
                raise _fail(path, number, f"empty command in {code!r}")
            commands.append(_command(current, code, path, number))
            current = []
        elif word and set(word) <= set(_PUNCTUATION):
            raise _fail(
                path,
                number,
                f"{word!r} in {code!r}: one command per line, no pipes, redirections or "
                "subshells (each command runs in-process and is checked on its own)",
            )
        else:
            current.append(word)
    return tuple(commands)


def _command(words: list[str], code: str, path: str, number: int) -> Command:
    environ: list[tuple[str, str]] = []
    while words and _ASSIGNMENT.match(words[0]):
        name, _, value = words.pop(0).partition("=")
        environ.append((name, value))
    if not words:
        raise _fail(path, number, f"{code!r} sets variables but runs nothing")
    return Command(environ=tuple(environ), argv=tuple(words))


def parse_line(text: str, path: str, number: int) -> Line | None:
    """A command line with its markers; None for a blank or comment-only line."""
    code, comment = split_comment(text)
    if not code.strip():
        if _ANY_MARKER.search(comment):
            raise _fail(path, number, "a doc-test marker must follow a command on its line")
        return None
    skip: str | None = None
    fails = False
    if _ANY_MARKER.search(comment):
        found = _LINE_MARKER.search(comment)
        marker = found.group("marker") if found else ""
        skipped = _SKIP.fullmatch(marker)
        if marker == "fails":
            fails = True
        elif skipped is not None and skipped.group("reason"):
            skip = skipped.group("reason")
        else:
            raise _fail(
                path,
                number,
                f"unknown line marker {marker!r}; use `# doc-test: skip REASON` or "
                "`# doc-test: fails`",
            )
    commands = parse_commands(code.strip(), path, number)
    return Line(
        path=path, number=number, text=text.strip(), commands=commands, skip=skip, fails=fails
    )


def parse_markdown(text: str, path: str) -> list[Block]:
    """Every fenced `sh` block of a Markdown document, with its state (fresh by default).

    A `<!-- doc-test: ... -->` comment must sit on the line right before an `sh` block's
    fence; anywhere else it is an error, so a misplaced marker cannot be silently ignored.
    """
    blocks: list[Block] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        marker = _BLOCK_MARKER.match(lines[index])
        if marker is not None:
            following = _FENCE.match(lines[index + 1]) if index + 1 < len(lines) else None
            if following is None or following.group("info") != "sh":
                raise _fail(
                    path, index + 1, "a doc-test comment must be right before a ```sh block"
                )
        elif _COMMENT_MARKER.match(lines[index]):
            raise _fail(path, index + 1, f"malformed doc-test marker: {lines[index].strip()!r}")
        if opening is None:
            index += 1
            continue
        fence = opening.group("fence")
        end = index + 1
        while end < len(lines) and not lines[end].strip().startswith(fence):
            end += 1
        if end == len(lines):
            raise _fail(path, index + 1, "this fenced block is never closed")
        if opening.group("info") == "sh":
            blocks.append(_block(lines, index, end, path))
        index = end + 1
    return blocks


def _block(lines: list[str], opening: int, end: int, path: str) -> Block:
    state, reason = State.FRESH, None
    if opening > 0:
        found = _BLOCK_MARKER.match(lines[opening - 1])
        if found is not None:
            state, reason = parse_state(found.group("state"), path, opening)
    parsed = (parse_line(lines[i], path, i + 1) for i in range(opening + 1, end))
    commands = tuple(line for line in parsed if line is not None)
    if not commands:
        raise _fail(path, opening + 1, "this ```sh block holds no command")
    return Block(path=path, number=opening + 1, state=state, skip=reason, lines=commands)


# --- noxfile.py, read without importing nox ----------------------------------------------------


@dataclass(frozen=True)
class NoxSession:
    task: str | None  # the invoke task it runs (None: none)
    remainder: bool  # it passes its args after `--`, to the tool the task runs


@dataclass(frozen=True)
class NoxFile:
    sessions: dict[str, NoxSession]
    defaults: tuple[str, ...]  # nox.options.sessions: what a bare `nox` runs


def _is_session_decorator(node: ast.expr) -> bool:
    target = node.func if isinstance(node, ast.Call) else node
    return (
        isinstance(target, ast.Attribute)
        and target.attr == "session"
        and isinstance(target.value, ast.Name)
        and target.value.id == "nox"
    )


def _session(function: ast.FunctionDef) -> NoxSession:
    """What the `session.run("invoke", "X", ...)` call in a session's body runs."""
    for node in ast.walk(function):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "run"
        ):
            continue
        words = [arg.value for arg in node.args if isinstance(arg, ast.Constant)]
        if len(words) >= 2 and words[0] == "invoke" and isinstance(words[1], str):
            return NoxSession(task=words[1], remainder="--" in words[2:])
    return NoxSession(task=None, remainder=False)


def read_noxfile(source: str) -> NoxFile:
    tree = ast.parse(source)
    sessions: dict[str, NoxSession] = {}
    defaults: tuple[str, ...] = ()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and any(
            _is_session_decorator(decorator) for decorator in node.decorator_list
        ):
            sessions[node.name] = _session(node)
        elif (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and ast.unparse(node.targets[0]) == "nox.options.sessions"
        ):
            value = ast.literal_eval(node.value)
            defaults = tuple(str(name) for name in value)
    return NoxFile(sessions=sessions, defaults=defaults)


@dataclass(frozen=True)
class NoxCall:
    sessions: tuple[str, ...]
    posargs: tuple[str, ...]  # after `--`, passed to the session's task


# nox options a documented line may use besides the session selection.
NOX_FLAGS = frozenset({"-l", "--list", "-r", "-R", "--reuse-existing-virtualenvs", "--no-venv"})


def parse_nox(argv: tuple[str, ...]) -> NoxCall:
    """`nox [-s A [B ...]] [flags] [-- args]` -> the sessions named and the posargs."""
    words = list(argv[1:])
    posargs: tuple[str, ...] = ()
    if "--" in words:
        cut = words.index("--")
        words, posargs = words[:cut], tuple(words[cut + 1 :])
    sessions: list[str] = []
    selecting = False
    for word in words:
        if word in {"-s", "--session", "--sessions"}:
            selecting = True
        elif word.startswith("--sessions=") or word.startswith("--session="):
            sessions.append(word.partition("=")[2])
        elif word.startswith("-"):
            if word not in NOX_FLAGS:
                raise ValueError(f"nox option {word!r} is not one the docs may use")
            selecting = False
        elif selecting:
            sessions.append(word)
        else:
            raise ValueError(f"{word!r}: name sessions with -s")
    return NoxCall(sessions=tuple(sessions), posargs=posargs)
