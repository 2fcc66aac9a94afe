"""parliament (an IAM linter we did not write) on the bootstrap's policies, with
acknowledgements as data: `invoke scan` runs it on every bootstrapped environment's deploy,
execution and read roles' policies and permissions boundary, and fails on a finding that
config/iam-lint.toml does not acknowledge with a reason, or on an acknowledgement that
matches nothing (infra/scan.py judges both, as for checkov).

parliament runs in its own environment (`uv tool run`, pinned below); it imports
pkg_resources, which setuptools 81 removed, so an older setuptools goes with it.
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from ..config import Settings
from ..infra.scan import Finding, ScanError
from ..tools import last_line, run_tool
from .template import bootstrap_template

PARLIAMENT_VERSION = "1.6.4"
IAM_ACKNOWLEDGEMENTS = Path("config") / "iam-lint.toml"
CHECK_IDS = re.compile(r"^[A-Z][A-Z_]+$")  # parliament's issue names, e.g. RESOURCE_STAR


def policies(settings: Settings) -> dict[tuple[str, str], dict[str, Any]]:
    """(environment, logical id) -> policy document, for each bootstrapped environment."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for env in settings.environments.values():
        if env.bootstrap is None:
            continue
        for logical_id, resource in bootstrap_template(settings, env)["Resources"].items():
            properties = resource["Properties"]
            if resource["Type"] == "AWS::IAM::Role":
                found[(env.name, logical_id)] = properties["Policies"][0]["PolicyDocument"]
            elif resource["Type"] == "AWS::IAM::ManagedPolicy":
                found[(env.name, logical_id)] = properties["PolicyDocument"]
    return found


def _subject(detail: Any) -> str:
    """What a finding is about, stably: the action, the condition and action, or the
    actions (parliament's detail is a sentence, a list of actions, or records of them)."""
    if isinstance(detail, list):
        names = [item["action"] if isinstance(item, dict) else str(item) for item in detail]
        return ",".join(sorted(dict.fromkeys(names)))
    text = str(detail or "")
    for prefix in ("Unknown action ", "Unknown condition "):
        text = text.removeprefix(prefix)
    return text


def findings_of(output: str) -> list[Finding]:
    """parliament's JSON lines as findings: each one's location names the policy as
    "<environment>/<policy>" (its label in the authorization details), its resource is
    "<policy>:<subject>"."""
    found = []
    for line in output.splitlines():
        if not line.strip().startswith("{"):
            continue
        issue = json.loads(line)
        location = issue.get("location") or {}
        environment, _, policy = str(location.get("filepath", "")).partition("/")
        found.append(
            Finding(
                check=str(issue["issue"]),
                name=str(issue.get("title", "")),
                environment=environment,
                stack=policy,
                resource=f"{policy}:{_subject(issue.get('detail'))}",
            )
        )
    return found


def authorization_details(documents: dict[tuple[str, str], dict[str, Any]]) -> dict[str, Any]:
    """The policies in the shape of IAM's GetAccountAuthorizationDetails, which parliament
    reads in one run (--auth-details-file), each labelled "<environment>/<policy>" where an
    ARN would be. All are given as inline role policies, the boundary too: parliament runs
    its community auditors on those, not on managed policies."""
    roles = [
        {
            "Arn": f"{environment}/{policy}",
            "RolePolicyList": [{"PolicyName": policy, "PolicyDocument": document}],
        }
        for (environment, policy), document in documents.items()
    ]
    return {"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": roles, "Policies": []}


def run_parliament(settings: Settings) -> tuple[list[Finding], list[str]]:
    """parliament's findings on every bootstrapped environment's policies (one run), and
    those environments."""
    documents = policies(settings)
    if not documents:
        return [], []
    with tempfile.TemporaryDirectory() as folder:
        details = Path(folder) / "iam-authorization-details.json"
        details.write_text(json.dumps(authorization_details(documents)), encoding="utf-8")
        ran = _parliament(details)
    if ran.returncode not in {0, 1}:  # 1: findings (printed as JSON lines)
        raise ScanError(
            f"parliament {PARLIAMENT_VERSION} did not run (exit {ran.returncode}): "
            f"{last_line(ran.stderr)}"
        )
    try:
        findings = findings_of(ran.stdout)
    except (ValueError, KeyError) as error:
        raise ScanError(f"parliament's report is not what it documents ({error})") from None
    return findings, sorted({environment for environment, _ in documents})


def _parliament(details: Path) -> subprocess.CompletedProcess[str]:
    return run_tool(
        f"parliament=={PARLIAMENT_VERSION}",
        "parliament",
        "--json",
        "--include-community-auditors",
        "--auth-details-file",
        str(details),
        extra=("setuptools<81",),
    )
