"""pip-audit's verdict read from its JSON: a dependency the service did not answer for is not
"clean", and an audit that checked nothing says so (informational)."""

from __future__ import annotations

import json

import pytest

from {{ cookiecutter.package_name }}.audit import AuditError, Status, judge_run, read_report

SKIPPED = "Dependency not found on PyPI and could not be audited: boto3 (1.40.0)"


def test_vulnerabilities_are_named_with_their_fix() -> None:
    report = {
        "dependencies": [
            {
                "name": "jinja2",
                "version": "3.1.2",
                "vulns": [{"id": "GHSA-h5c8-rqwp-cp95", "fix_versions": ["3.1.3"]}],
            },
            {"name": "rich", "version": "14.0.0", "vulns": []},
            {"name": "boto3", "skip_reason": SKIPPED},
        ]
    }
    audit = read_report(report)
    assert audit.status is Status.VULNERABLE and (audit.dependencies, audit.audited) == (3, 2)
    assert audit.line() == (
        "audit: 1 known vulnerability in the locked dependencies: jinja2 3.1.2 "
        "(GHSA-h5c8-rqwp-cp95, fixed in 3.1.3); 1 could not be audited "
        f"({SKIPPED}); update them (uv lock --upgrade-package NAME) and commit uv.lock"
    )


def test_an_audit_the_service_did_not_answer_is_never_clean() -> None:
    """pip-audit exits 0 and prints "No known vulnerabilities found" when PyPI's JSON API
    answers for no dependency (measured on this machine: all 300+ skipped)."""
    stdout = json.dumps({"dependencies": [{"name": "boto3", "skip_reason": SKIPPED}] * 3})
    audit = judge_run(0, stdout, "No known vulnerabilities found")
    assert audit.status is Status.UNCHECKED
    assert audit.line().startswith(
        "audit: informational: pip-audit checked none of the 3 locked dependencies"
    )
    assert audit.line().endswith("nothing was checked")


def test_clean_and_unreachable_and_broken() -> None:
    clean = judge_run(
        0, json.dumps({"dependencies": [{"name": "rich", "version": "1", "vulns": []}]}), ""
    )
    assert clean.status is Status.CLEAN
    assert clean.line() == "audit: no known vulnerabilities in 1 locked dependencies"
    offline = judge_run(1, "", "requests.exceptions.ConnectionError: Max retries exceeded")
    assert offline.status is Status.UNCHECKED and "could not reach" in offline.line()
    with pytest.raises(AuditError, match="did not run"):
        judge_run(2, "", "error: unrecognized arguments")
