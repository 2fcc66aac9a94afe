"""checkov on the synthesized templates: a gate beside cdk-nag, with acknowledgements as data.

cdk-nag checks the CDK app while it synthesizes; checkov (a tool we did not write, with its
own rule set) checks the CloudFormation that comes out. `invoke scan` runs it on cdk.out/
and fails on any finding that config/checkov.toml does not acknowledge with a reason, and
on any acknowledgement that matches no finding of an environment it covers (a fixed finding
must not stay excused). Judging is a pure function over plain data; running checkov is
the thin adapter at the bottom.

checkov runs in its own environment (`uv tool run`, pinned below): its dependencies pin
older urllib3, packaging and networkx than the project's, so it stays out of uv.lock.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from ..errors import ConfigError, ProjectError
from ..tools import last_line, run_tool

CHECKOV_VERSION = "3.3.30"
ACKNOWLEDGEMENTS = Path("config") / "checkov.toml"
_MIN_REASON = 20  # characters: a reason, not a shrug
_KEYS = {"check", "resource", "reason", "environments"}  # of an [[acknowledged]] entry
_CHECKOV_ID = re.compile(r"^CKV_")


class ScanError(ProjectError):
    """checkov could not run, or found what nobody acknowledged."""


@dataclass(frozen=True)
class Finding:
    check: str  # CKV_AWS_18
    name: str  # what the check wants
    environment: str
    stack: str  # the artifact id, e.g. dev-artifacts
    resource: str  # Type.LogicalId, e.g. AWS::S3::Bucket.ArtifactAccessLogs


@dataclass(frozen=True)
class Acknowledgement:
    check: str
    resource: str  # a pattern of Type.LogicalId (fnmatch: a hashed logical id takes *)
    reason: str
    environments: tuple[str, ...] = ()  # () covers every environment

    def covers(self, environment: str) -> bool:
        return not self.environments or environment in self.environments

    def matches(self, finding: Finding) -> bool:
        return (
            finding.check == self.check
            and self.covers(finding.environment)
            and fnmatchcase(finding.resource, self.resource)
        )


@dataclass(frozen=True)
class Verdict:
    findings: tuple[Finding, ...]
    unacknowledged: tuple[Finding, ...]
    stale: tuple[tuple[Acknowledgement, str], ...]  # (acknowledgement, environment)

    @property
    def passed(self) -> bool:
        return not self.unacknowledged and not self.stale


def judge(
    findings: Sequence[Finding],
    acknowledgements: Sequence[Acknowledgement],
    environments: Iterable[str],
) -> Verdict:
    """Which findings no acknowledgement covers, and which acknowledgements match nothing in
    an environment they cover (of the environments scanned)."""
    unacknowledged = tuple(f for f in findings if not any(a.matches(f) for a in acknowledgements))
    stale = tuple(
        (ack, environment)
        for ack in acknowledgements
        for environment in sorted(environments)
        if ack.covers(environment)
        and not any(ack.matches(f) for f in findings if f.environment == environment)
    )
    return Verdict(tuple(findings), unacknowledged, stale)


def load_acknowledgements(
    path: Path,
    known_environments: Iterable[str],
    checks: re.Pattern[str] = _CHECKOV_ID,
    example: str = "CKV_AWS_18",
) -> list[Acknowledgement]:
    """An acknowledgements file's [[acknowledged]] entries (config/checkov.toml, or another
    tool's with its own check ids); a ConfigError (one line) for a bad one."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path.name}: {error}") from None
    known = set(known_environments)
    entries: list[Any] = document.get("acknowledged", [])
    acknowledgements = []
    for number, entry in enumerate(entries, start=1):
        where = f"{path.name}: acknowledged #{number}"
        if set(entry) - _KEYS:
            raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(set(entry) - _KEYS))}")
        check, resource, reason = (str(entry.get(k, "")) for k in ("check", "resource", "reason"))
        if not checks.match(check) or not resource:
            raise ConfigError(
                f'{where}: give check (e.g. "{example}") and resource (what it names)'
            )
        if len(reason.strip()) < _MIN_REASON:
            raise ConfigError(
                f"{where} ({check}): write why it is accepted (reason, {_MIN_REASON}+ characters)"
            )
        environments = tuple(str(name) for name in entry.get("environments", ()))
        unknown_envs = [name for name in environments if name not in known]
        if unknown_envs:
            raise ConfigError(
                f"{where} ({check}): no environment {', '.join(unknown_envs)} in config"
            )
        acknowledgements.append(Acknowledgement(check, resource, reason.strip(), environments))
    return acknowledgements


def findings_of(report: Any) -> list[Finding]:
    """checkov's JSON report (one check type, or a list of them) as findings."""
    reports = report if isinstance(report, list) else [report]
    found = []
    for part in reports:
        for failed in part.get("results", {}).get("failed_checks", []):
            stack = Path(str(failed["file_path"])).name.removesuffix(".template.json")
            found.append(
                Finding(
                    check=str(failed["check_id"]),
                    name=str(failed.get("check_name", "")),
                    environment=stack.split("-", 1)[0],
                    stack=stack,
                    resource=str(failed["resource"]),
                )
            )
    return sorted(found, key=lambda f: (f.environment, f.stack, f.check, f.resource))


def scanned_environments(outdir: Path) -> list[str]:
    """The environments whose templates are in outdir (files <env>-<part>.template.json)."""
    return sorted({path.name.split("-", 1)[0] for path in outdir.glob("*.template.json")})


def run_checkov(outdir: Path) -> list[Finding]:
    """checkov's findings on outdir's CloudFormation templates."""
    ran = run_tool(
        f"checkov=={CHECKOV_VERSION}",
        "checkov",
        "--directory",
        str(outdir),
        "--framework",
        "cloudformation",
        "--output",
        "json",
        "--quiet",
        "--compact",
        "--skip-download",  # no Bridgecrew platform: the rules checkov ships, offline
    )
    if ran.returncode not in {0, 1}:  # 1: failed checks (reported in the JSON)
        raise ScanError(
            f"checkov {CHECKOV_VERSION} did not run (exit {ran.returncode}): "
            f"{last_line(ran.stderr)}"
        )
    if not ran.stdout.strip():
        return []
    try:
        return findings_of(json.loads(ran.stdout))
    except (ValueError, KeyError) as error:
        raise ScanError(f"checkov's report is not what it documents ({error})") from None


def summary(
    verdict: Verdict, tool: str = "checkov", acknowledgements: Path = ACKNOWLEDGEMENTS
) -> str:
    """One line for the end of a scan."""
    if verdict.passed:
        checks = len({finding.check for finding in verdict.findings})
        return (
            f"{tool}: {len(verdict.findings)} finding(s), all acknowledged "
            f"({len(verdict.findings)} by {checks} check(s) in {acknowledgements})"
        )
    parts = []
    if verdict.unacknowledged:
        first = verdict.unacknowledged[0]
        parts.append(
            f"{len(verdict.unacknowledged)} unacknowledged finding(s), first {first.check} "
            f"({first.name}) at {first.stack} {first.resource}: fix it, or acknowledge it with "
            f"a reason in {acknowledgements}"
        )
    if verdict.stale:
        ack, environment = verdict.stale[0]
        parts.append(
            f"{len(verdict.stale)} acknowledgement(s) match nothing, first {ack.check} on "
            f"{ack.resource} in {environment}: remove it (or that environment) from "
            f"{acknowledgements}"
        )
    return f"{tool}: " + "; ".join(parts)
