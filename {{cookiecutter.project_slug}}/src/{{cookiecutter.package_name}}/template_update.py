"""Whether this project is up to date with the template it was baked from, in one line.

The record is `.cruft.json` (written when the project was baked); the comparison is cruft's
own `cruft check`, which clones the template's repository and compares its latest commit
with the recorded one. Being out of date is information, not a failure: the front door
exits 0 unless asked to be strict. `cruft update` brings the changes in.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, cast

from .errors import TemplateError

CRUFT_FILE = ".cruft.json"
LINK_HINT = "link the project with `cruft link <template-git-url>`"


@dataclass(frozen=True)
class TemplateRecord:
    """The template's repository (URL or path) and the commit this project matches."""

    template: str
    commit: str


class State(Enum):
    CURRENT = "up to date"
    BEHIND = "out of date"
    UNREACHABLE = "could not be checked"


@dataclass(frozen=True)
class TemplateStatus:
    state: State
    record: TemplateRecord
    detail: str = ""

    @property
    def line(self) -> str:
        """One line for people and CI logs."""
        where = f"{self.record.template} (baked from {self.record.commit[:12]})"
        if self.state is State.CURRENT:
            return f"template: up to date with {where}"
        if self.state is State.BEHIND:
            return (
                f"template: out of date with {where}; run `cruft update` to bring its "
                "changes in, review them and commit"
            )
        return f"template: could not check {where}: {self.detail}"

    def exit_code(self, *, strict: bool) -> int:
        """0 when up to date; otherwise 0 (informational) unless strict."""
        return 1 if strict and self.state is not State.CURRENT else 0


def read_record(project: Path) -> TemplateRecord:
    """The template and commit from project/.cruft.json; TemplateError when unusable."""
    path = project / CRUFT_FILE
    if not path.is_file():
        raise TemplateError(
            f"{path} not found: this project is not linked to its template; {LINK_HINT}"
        )
    try:
        state: Any = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise TemplateError(f"{path} is not valid JSON ({error}); restore it from git") from None
    if not isinstance(state, dict):
        raise TemplateError(f"{path} must hold a JSON object; restore it from git")
    template, commit = state.get("template"), state.get("commit")
    if not isinstance(template, str) or not template:
        raise TemplateError(f"{path} names no template; {LINK_HINT}")
    if not isinstance(commit, str) or not commit:
        raise TemplateError(f"{path} records no template commit; {LINK_HINT}")
    return TemplateRecord(template=template, commit=commit)


# True when the project is up to date; raises ProbeError when the template cannot be read.
Probe = Callable[[Path], bool]


class ProbeError(Exception):
    """The template's repository could not be cloned or lacks the recorded commit."""


def cruft_probe(project: Path) -> bool:
    """`cruft check` in-process (its own lines are swallowed: the caller prints one line)."""
    try:
        from cruft import check
        from cruft.exceptions import CruftError
        from git.exc import GitError
    except ImportError as error:  # cruft is in the dev group; GitPython needs a git binary
        raise ProbeError(f"cruft cannot run here ({error}); install the dev group") from None

    run_check = cast("Callable[..., bool]", check)  # cruft's decorator drops the types
    try:
        with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
            return run_check(project_dir=project, strict=True)
    except CruftError as error:
        raise ProbeError(_first_line(error.format_message())) from None
    except (GitError, ValueError) as error:
        # The clone worked but lacks the recorded commit (rewritten or unpushed history).
        raise ProbeError(f"the recorded commit is not in the template ({error})") from None


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), text)


def check_template(project: Path, probe: Probe = cruft_probe) -> TemplateStatus:
    """Compare the project's .cruft.json with its template's repository."""
    record = read_record(project)
    try:
        current = probe(project)
    except ProbeError as error:
        return TemplateStatus(State.UNREACHABLE, record, str(error))
    return TemplateStatus(State.CURRENT if current else State.BEHIND, record)
