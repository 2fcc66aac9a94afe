"""The Deploy workflow gives each environment as many approval gates as its policy counts
on: the environments whose plans need two people have a second gate there (the engine still
counts people itself, and `invoke approve` can supply what a gate does not)."""

from __future__ import annotations

import json
import re

from {{ cookiecutter.package_name }}.config import Settings
from {{ cookiecutter.package_name }}.release.approvals import gates

from .conftest import PROJECT_ROOT

DEPLOY_WORKFLOW = PROJECT_ROOT / ".github" / "workflows" / "deploy.yml"
SECOND_GATE = re.compile(r"contains\(fromJSON\('(?P<names>\[[^']*\])'\), inputs\.environment\)")


def test_the_second_gate_serves_every_environment_that_needs_two_approvals(
    settings: Settings,
) -> None:
    text = DEPLOY_WORKFLOW.read_text(encoding="utf-8")
    found = SECOND_GATE.search(text)
    assert found is not None, "deploy.yml's second_approval job no longer lists its environments"
    gated = sorted(json.loads(found.group("names")))
    needed = sorted(
        env.name for env in settings.environments.values() if env.policy.approvals_required >= 2
    )
    assert gated == needed, (
        f"deploy.yml's second_approval job gates {gated}, but config/environments.toml asks "
        f"two approvals of {needed}: make the list in its `if:` {json.dumps(needed)}"
    )
    # The job waits on the gate `invoke governance` creates for each of those environments.
    assert "environment: ${{ '{{' }} inputs.environment }}-approval-2" in text
    for name in needed:
        required = settings.environment(name).policy.approvals_required
        assert gates(name, required)[1:] == (f"{name}-approval-2",)
