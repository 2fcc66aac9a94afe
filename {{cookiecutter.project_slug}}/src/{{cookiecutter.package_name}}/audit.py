"""Known vulnerabilities in what uv.lock pins: pip-audit on `uv export` of the lock.

pip-audit asks a vulnerability service (PyPI's JSON API by default) about each pinned
version. Where that service cannot be reached, pip-audit still exits 0 and says "No known
vulnerabilities found", while its JSON marks each dependency "could not be audited": read
alone, that would be a success that checked nothing. So the verdict is read from the JSON,
counting what was actually audited, and an audit that checked nothing says so and is
informational (exit 0), never "clean". pip-audit runs in its own environment (`uv tool
run`, pinned below), like checkov.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from .errors import ProjectError
from .tools import find_uv, last_line, run_tool

PIP_AUDIT_VERSION = "2.10.1"
# What pip-audit's stderr says when it cannot reach the service at all.
_UNREACHABLE = (
    "ConnectionError",
    "Max retries exceeded",
    "Failed to establish a new connection",
    "Temporary failure in name resolution",
    "Name or service not known",
    "timed out",
)


class AuditError(ProjectError):
    """The audit could not run (not: it found vulnerabilities)."""


class Status(StrEnum):
    CLEAN = "clean"
    VULNERABLE = "vulnerable"
    UNCHECKED = "unchecked"  # the service answered for none of the dependencies


@dataclass(frozen=True)
class Vulnerability:
    name: str
    version: str
    id: str
    fix_versions: tuple[str, ...]


@dataclass(frozen=True)
class Audit:
    status: Status
    dependencies: int
    audited: int
    vulnerabilities: tuple[Vulnerability, ...] = ()
    skipped_example: str = ""  # one skip reason, as pip-audit words it

    def line(self) -> str:
        """One line for people and CI logs."""
        skipped = self.dependencies - self.audited
        if self.status is Status.UNCHECKED and not self.dependencies:
            return (
                "audit: informational: pip-audit could not reach the vulnerability service "
                f"({self.skipped_example}); nothing was checked"
            )
        if self.status is Status.UNCHECKED:
            return (
                f"audit: informational: pip-audit checked none of the {self.dependencies} locked "
                f"dependencies, the vulnerability service did not answer ({self.skipped_example}); "
                "nothing was checked"
            )
        partly = f"; {skipped} could not be audited ({self.skipped_example})" if skipped else ""
        if self.status is Status.CLEAN:
            return f"audit: no known vulnerabilities in {self.audited} locked dependencies{partly}"
        names = ", ".join(_named(v) for v in self.vulnerabilities[:5])
        return (
            f"audit: {len(self.vulnerabilities)} known vulnerabilit"
            f"{'y' if len(self.vulnerabilities) == 1 else 'ies'} in the locked dependencies: "
            f"{names}{partly}; update them (uv lock --upgrade-package NAME) and commit uv.lock"
        )


def _named(vulnerability: Vulnerability) -> str:
    fixed = vulnerability.fix_versions
    return (
        f"{vulnerability.name} {vulnerability.version} ({vulnerability.id}"
        f"{', fixed in ' + fixed[0] if fixed else ''})"
    )


def read_report(report: Mapping[str, Any]) -> Audit:
    """pip-audit's JSON (--format json): what was audited and what it found."""
    dependencies = list(report.get("dependencies", []))
    audited = [d for d in dependencies if "skip_reason" not in d]
    skipped = [d for d in dependencies if "skip_reason" in d]
    found = tuple(
        Vulnerability(
            name=str(d["name"]),
            version=str(d.get("version", "")),
            id=str(v["id"]),
            fix_versions=tuple(str(f) for f in v.get("fix_versions", [])),
        )
        for d in audited
        for v in d.get("vulns", [])
    )
    example = str(skipped[0]["skip_reason"]) if skipped else ""
    if dependencies and not audited:
        status = Status.UNCHECKED
    else:
        status = Status.VULNERABLE if found else Status.CLEAN
    return Audit(status, len(dependencies), len(audited), found, example)


def audit_lock(root: Path) -> Audit:
    """Export the lock's pins (with hashes) and audit exactly them."""
    with tempfile.TemporaryDirectory() as scratch:
        requirements = Path(scratch) / "requirements.txt"
        uv = find_uv()
        if uv is None:
            raise AuditError("the audit exports uv.lock with uv, and uv is not installed")
        exported = subprocess.run(
            [
                uv,
                "export",
                "--locked",
                "--format",
                "requirements-txt",
                "--all-groups",
                "--no-emit-project",
                "--quiet",
                "--output-file",
                str(requirements),
            ],
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
        )
        if exported.returncode != 0:
            raise AuditError(
                f"uv export of uv.lock failed: {last_line(exported.stderr)}; run `uv lock` and "
                "commit uv.lock"
            )
        ran = run_tool(
            f"pip-audit=={PIP_AUDIT_VERSION}",
            "pip-audit",
            "--requirement",
            str(requirements),
            "--require-hashes",
            "--disable-pip",  # the pins as locked, not a resolution of them
            "--format",
            "json",
            "--progress-spinner",
            "off",
        )
    return judge_run(ran.returncode, ran.stdout, ran.stderr)


def judge_run(returncode: int, stdout: str, stderr: str) -> Audit:
    """pip-audit's exit (0 clean, 1 vulnerabilities) and output, as an Audit."""
    if returncode in {0, 1} and stdout.strip():
        try:
            return read_report(json.loads(stdout))
        except (ValueError, KeyError) as error:
            raise AuditError(f"pip-audit's report is not what it documents ({error})") from None
    said = last_line(stderr)
    if any(marker in stderr for marker in _UNREACHABLE):
        return Audit(Status.UNCHECKED, 0, 0, (), said)
    raise AuditError(f"pip-audit {PIP_AUDIT_VERSION} did not run (exit {returncode}): {said}")
