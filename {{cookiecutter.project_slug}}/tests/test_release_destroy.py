"""`invoke destroy`: the serving and monitoring stacks go, the artifacts stack (models and
ledger) stays, a `destroy` record says so, and the next deploy recreates what went."""

from __future__ import annotations

import io
import json
import urllib.request
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from {{ cookiecutter.package_name }}.config import Settings, parse
from {{ cookiecutter.package_name }}.errors import DeployError
from {{ cookiecutter.package_name }}.naming import stack_names
from {{ cookiecutter.package_name }}.release.deploy import Result
from {{ cookiecutter.package_name }}.release.destroy import DestroyRequest, DestroyResult, destroy
from {{ cookiecutter.package_name }}.release.guardrails import check_promotion
from {{ cookiecutter.package_name }}.release.ledger import (
    DESTROY,
    DeployRecord,
    Outcome,
    ledger_of,
)
from {{ cookiecutter.package_name }}.release.rollback import choose_target
from {{ cookiecutter.package_name }}.release.tag import certified_record

from .conftest import CONFIG_PATH, local_document
from .conftest import aws_client as client
from .test_release_deploy import (
    ARTIFACTS,
    BUCKET,
    CONFIRM,
    PROJECT,
    SERVING,
    refused,
    run,
    snapshot,
)
from .test_release_rules import record as a_record

ENDPOINT = f"{PROJECT.name}-local"


def torn_down(settings: Settings) -> tuple[str, ...]:
    """The stacks a destroy of local deletes, in order: the monitoring stack (when the
    project has Model Monitor) before the serving stack it watches."""
    names = stack_names(settings.project, settings.environment("local"))
    return tuple(name for name in reversed(names) if name != ARTIFACTS)


def tear_down(
    settings: Settings, repo: Path, *, execute: bool = False, environ: dict[str, str] | None = None
) -> tuple[Any, str]:
    output = io.StringIO()
    outcome = destroy(
        settings,
        DestroyRequest(environment="local", execute=execute),
        root=repo,
        environ=CONFIRM if environ is None else environ,
        out=Console(file=output, width=200),
    )
    return outcome, output.getvalue()


def settings_with(url: str, **policy: Any) -> Settings:
    document = local_document(url)
    document["environments"]["local"]["policy"].update(policy)
    return parse(document, CONFIG_PATH)


def test_a_dry_run_shows_what_goes_and_what_stays_and_changes_nothing(
    aws: str, local_settings: Settings, repo: Path
) -> None:
    run(local_settings, repo, execute=True)
    before = snapshot(aws)
    outcome, output = tear_down(local_settings, repo)
    assert outcome.result is DestroyResult.DRY_RUN
    assert outcome.stacks == torn_down(local_settings)  # the schedule before its endpoint
    assert f"delete {SERVING}: " in output and "(AWS::SageMaker::Endpoint)" in output
    assert f"keep {ARTIFACTS}: the bucket with the models and the ledger" in output
    assert "saves the endpoint's cost: ~$84/month" in output
    assert "dry run: nothing deleted" in output
    assert snapshot(aws) == before


def test_destroy_deletes_the_endpoint_keeps_the_ledger_and_the_next_deploy_recreates_it(
    aws: str, local_settings: Settings, repo: Path
) -> None:
    first, _ = run(local_settings, repo, execute=True)
    assert first.record is not None
    outcome, output = tear_down(local_settings, repo, execute=True)
    assert outcome.result is DestroyResult.DESTROYED
    assert f"destroyed {', '.join(torn_down(local_settings))} of local" in output
    state = snapshot(aws)
    assert state["stacks"] == {ARTIFACTS: ("CREATE_COMPLETE", [])}
    sagemaker = client(aws, "sagemaker")
    assert sagemaker.list_endpoints()["Endpoints"] == []
    assert sagemaker.list_models()["Models"] == []
    assert client(aws, "cloudwatch").describe_alarms()["MetricAlarms"] == []
    keys = state["objects"][BUCKET]
    assert f"models/{first.record.model_sha256}/model.tar.gz" in keys  # the model stays
    ledger = ledger_of(local_settings, local_settings.environment("local"))
    record, deployed = ledger.records()
    assert deployed == first.record
    assert record == outcome.record
    assert (record.kind, record.outcome) == (DESTROY, Outcome.SUCCEEDED)
    assert record.destroyed == torn_down(local_settings) and record.live == {}
    assert record.sequence == deployed.sequence + 1 and not record.succeeded
    assert f"releases/local/{record.deploy_id}/bundle/destroyed.json" in keys
    # Nothing left to destroy: said, and nothing recorded.
    again, said = tear_down(local_settings, repo, execute=True)
    assert again.result is DestroyResult.NOTHING and "nothing to destroy" in said
    assert len(ledger.records()) == 2
    # The next deploy of the same commit recreates the stacks (it is not "no changes").
    redeployed, _ = run(local_settings, repo, execute=True)
    assert redeployed.result is Result.SUCCEEDED
    assert set(snapshot(aws)["stacks"]) == {ARTIFACTS, *torn_down(local_settings)}
    assert sagemaker.describe_endpoint(EndpointName=ENDPOINT)["EndpointStatus"] == "InService"


def test_a_destroy_forbidden_or_unconfirmed_is_one_line_and_changes_nothing(
    aws: str, local_settings: Settings, repo: Path
) -> None:
    run(local_settings, repo, execute=True)
    forbidden = settings_with(aws, destroy_allowed=False)
    message = refused(aws, lambda: tear_down(forbidden, repo, execute=True))
    assert message == (
        "local may not be destroyed: its policy has destroy_allowed = false "
        "([environments.local.policy] in config/environments.toml)"
    )
    refused(aws, lambda: tear_down(forbidden, repo))  # not even a dry run
    # Unprotected for deploys, a destroy still needs the confirmation variable.
    unprotected = settings_with(aws, confirmation_required=False)
    message = refused(aws, lambda: tear_down(unprotected, repo, execute=True, environ={}))
    variable = PROJECT.deploy_confirm_variable
    assert message == (
        f"a destroy of local deletes its endpoint and {variable} is not set; set "
        f"{variable}=I_UNDERSTAND_THE_COST to confirm this destroy"
    )
    wrong = {variable: "yes"}
    assert "is 'yes'" in refused(
        aws, lambda: tear_down(unprotected, repo, execute=True, environ=wrong)
    )


def test_prod_is_never_destroyed_by_default(local_settings: Settings) -> None:
    assert local_settings.environment("prod").policy.destroy_allowed is False
    assert local_settings.environment("dev").policy.destroy_allowed is True


def fault(url: str, body: dict[str, Any]) -> None:
    request = urllib.request.Request(
        f"{url}/strict-api/faults", data=json.dumps(body).encode(), method="POST"
    )
    urllib.request.urlopen(request).close()


def test_a_destroy_that_fails_is_recorded_and_said_in_one_line(
    aws: str, local_settings: Settings, repo: Path
) -> None:
    run(local_settings, repo, execute=True)
    first, *rest = torn_down(local_settings)
    fault(aws, {"action": "DeleteStack", "error": "AccessDenied", "skip": 1 if rest else 0})
    with pytest.raises(DeployError) as raised:
        tear_down(local_settings, repo, execute=True)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith("destroy ") and "User is not authorized" in message
    assert "retry invoke destroy --env local --execute" in message
    record = ledger_of(local_settings, local_settings.environment("local")).records()[0]
    assert (record.kind, record.outcome) == (DESTROY, Outcome.FAILED)
    if rest:  # the first went, the second did not
        assert record.destroyed == (first,)
        assert set(snapshot(aws)["stacks"]) == {ARTIFACTS, *rest}
    else:  # the only one did not go: its delete was refused
        assert record.destroyed == ()
    # As the message says: retry, and it finishes.
    again, _ = tear_down(local_settings, repo, execute=True)
    assert again.result is DestroyResult.DESTROYED and again.stacks == tuple(rest or [first])
    assert set(snapshot(aws)["stacks"]) == {ARTIFACTS}


def record(deploy_id: str, commit: str, kind: str = "deploy", **fields: Any) -> DeployRecord:
    return replace(a_record(commit), deploy_id=deploy_id, kind=kind, **fields)


def test_a_destroy_record_never_counts_as_a_deploy_of_its_commit(local_settings: Settings) -> None:
    torn = record(
        "20261206T110000000Z-ccccccc-0001",
        "c" * 40,
        DESTROY,
        destroyed=(SERVING,),
        change_sets={},
        templates={},
        model_sha256="",
    )
    prod = local_settings.environment("prod")
    with pytest.raises(Exception, match="has no successful deploy there"):
        check_promotion(prod, "c" * 40, [torn])
    with pytest.raises(Exception, match="has no successful deploy in prod"):
        certified_record([torn], "c" * 40, "prod")
    # Roll back after a destroy: nothing serves, so there is no "previous" to go back to
    # without --to; a named deploy is brought back (its stacks are gone).
    b = record("20261206T100000000Z-bbbbbbb-0001", "b" * 40)
    a = record("20261205T100000000Z-aaaaaaa-0001", "a" * 40)
    with pytest.raises(Exception, match="nothing serves and there is nothing to roll back from"):
        choose_target([torn, b, a], None, live=None)
    assert choose_target([torn, b, a], b.deploy_id, live=None) == (b, b)
    with pytest.raises(Exception, match="is a destroy; roll back only to a successful deploy"):
        choose_target([torn, b, a], torn.deploy_id, live=None)
