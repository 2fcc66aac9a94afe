"""invoke bootstrap, end to end on the local AWS: the roles it makes, and a CI-shaped
deploy, rollback and drift check that use only those roles, every call they make evaluated
against the role's own policy as IAM holds it (and the same calls on another project's or
environment's names denied)."""

from __future__ import annotations

import io
import json
import re
import urllib.request
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from rich.console import Console

from {{ cookiecutter.package_name }}.access.calls import Where, requests_of
from {{ cookiecutter.package_name }}.access.evaluate import Decision, Request, evaluate
from {{ cookiecutter.package_name }}.access.policies import GITHUB_OIDC
from {{ cookiecutter.package_name }}.config import Settings, parse
from {{ cookiecutter.package_name }}.errors import ConfigError, DeployError
from {{ cookiecutter.package_name }}.release.aws import LOCAL_ROLE, connect
from {{ cookiecutter.package_name }}.release.bootstrap import BootstrapOutcome, bootstrap
from {{ cookiecutter.package_name }}.release.drift import read_drift
from {{ cookiecutter.package_name }}.release.ledger import ledger_of

from .conftest import CONFIG_PATH, PROJECT_ROOT, local_document
from .conftest import aws_client as client
from .test_release_deploy import CONFIRM, PROJECT, commit, refused, retrained, run, snapshot
from .test_release_rollback import roll

ENV = "local"
# What IAM cannot scope to a resource (no resource type in the Service Authorization
# Reference), and so cannot deny on another project's names either.
UNSCOPED = {
    "application-autoscaling:DescribeScalableTargets",
    "cloudformation:DescribeStackDriftDetectionStatus",
    "cloudwatch:GetMetricData",
    "sagemaker:ListModelPackages",
}


def bootstrapped(url: str, **table: Any) -> Settings:
    document = local_document(url)
    document["environments"][ENV]["bootstrap"] = {
        "oidc_provider": "create",
        "session_hours": 3,
        **table,
    }
    return parse(document, CONFIG_PATH)


def boot(settings: Settings, repo: Path, *, execute: bool = True) -> tuple[BootstrapOutcome, str]:
    output = io.StringIO()
    outcome = bootstrap(
        settings,
        ENV,
        execute=execute,
        root=repo,
        environ=CONFIRM,
        out=Console(file=output, width=300),
    )
    return outcome, output.getvalue()


def recording(url: str, method: str) -> Any:
    request = urllib.request.Request(f"{url}/strict-api/calls", method=method)
    with urllib.request.urlopen(request) as answer:
        return json.loads(answer.read())


def roles(url: str) -> dict[str, dict[str, Any]]:
    iam = client(url, "iam")
    return {role["RoleName"]: role for role in iam.list_roles()["Roles"]}


def policies_of(url: str, role_arn: str) -> list[dict[str, Any]]:
    """The role's identity policies as IAM holds them (not as our code wrote them)."""
    iam = client(url, "iam")
    name = role_arn.rsplit("/", 1)[-1]
    documents = []
    for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]:
        document = iam.get_role_policy(RoleName=name, PolicyName=policy)["PolicyDocument"]
        documents.append(json.loads(unquote(document)) if isinstance(document, str) else document)
    return documents


def elsewhere(request: Request, old: str, new: str) -> Request:
    """The same request on another project's or environment's names (and tags)."""

    def moved(value: str) -> str:
        return value.replace(old, new).replace(f"/{old.replace('-', '/', 1)}/", "/x/")

    project, env = old.rsplit("-", 1)
    new_project, new_env = new.rsplit("-", 1)
    tag_values = {project: new_project, env: new_env}
    context: dict[str, Any] = {}
    for key, value in request.context.items():
        if key.startswith("aws:ResourceTag/") and isinstance(value, str):
            context[key] = tag_values.get(value, value)
        elif isinstance(value, str):
            context[key] = moved(value)
        else:
            context[key] = value
    return replace(request, resource=moved(request.resource), context=context)


def evaluated(
    url: str, calls: list[dict[str, Any]], settings: Settings, role_arn: str, session_key: str
) -> list[Request]:
    """Every call made with the session's key, allowed by the role's policies; returns the
    requests. A call made with other credentials fails: all of it must run as the role."""
    env = settings.environment(ENV)
    assert calls, "nothing was recorded"
    strangers = {(c["service"], c["action"]) for c in calls if c["access_key"] != session_key}
    assert not strangers, f"calls not made as {role_arn}: {sorted(strangers)}"
    documents = policies_of(url, role_arn)
    where = Where(env.account, env.region)
    requests = []
    refused_here = []
    for call, request in requests_of(calls, where):
        if evaluate(documents, request) is not Decision.ALLOWED:
            refused_here.append(f"{request.action} on {request.resource} ({call['action']})")
        requests.append(request)
    assert not refused_here, "\n".join(refused_here)
    return requests


def denied_elsewhere(url: str, requests: list[Request], role_arn: str) -> None:
    """The same requests on another project's and another environment's names: denied,
    except what IAM cannot scope (UNSCOPED)."""
    documents = policies_of(url, role_arn)
    ours = f"{PROJECT.name}-{ENV}"
    for other in (f"other-svc-{ENV}", f"{PROJECT.name}-dev"):
        allowed = {
            f"{r.action} on {r.resource}"
            for r in (elsewhere(request, ours, other) for request in requests)
            if r.resource != "*" and evaluate(documents, r) is Decision.ALLOWED
        }
        assert not allowed, f"allowed on {other}'s names: {sorted(allowed)}"
    unscoped = {r.action for r in requests if r.resource == "*"}
    assert unscoped <= UNSCOPED


def test_a_dry_run_plans_the_roles_and_changes_nothing(aws: str, repo: Path) -> None:
    settings = bootstrapped(aws)
    before, iam_before = snapshot(aws), roles(aws)
    outcome, text = boot(settings, repo, execute=False)
    assert not outcome.executed and outcome.changes == 5
    for logical_id in ("GitHubProvider", "PermissionsBoundary", "ExecutionRole", "DeployRole"):
        assert logical_id in text
    assert "dry run: nothing changed" in text
    assert snapshot(aws) == before and roles(aws) == iam_before


def test_bootstrap_makes_the_roles_and_says_how_to_store_them(aws: str, repo: Path) -> None:
    settings = bootstrapped(aws)
    outcome, text = boot(settings, repo)
    deploy_role, read_role = outcome.outputs["DeployRoleArn"], outcome.outputs["ReadRoleArn"]
    assert deploy_role.endswith(f":role/{PROJECT.name}-{ENV}-deploy")
    assert f"gh variable set AWS_DEPLOY_ROLE_ARN --env {ENV} --body {deploy_role}" in text
    assert f"gh variable set AWS_READ_ROLE_ARN_{ENV.upper()} --body {read_role}" in text
    made = roles(aws)
    assert made[f"{PROJECT.name}-{ENV}-deploy"]["MaxSessionDuration"] == 3 * 3600
    providers = client(aws, "iam").list_open_id_connect_providers()["OpenIDConnectProviderList"]
    assert [p["Arn"].rsplit("/", 1)[-1] for p in providers] == [GITHUB_OIDC]
    again, text = boot(settings, repo)
    assert not again.executed and "no changes" in text


@pytest.mark.parametrize(
    ("role", "subject", "allowed"),
    [
        ("deploy", f"repo:OWNER/REPO:environment:{ENV}", True),
        ("deploy", "repo:OWNER/REPO:environment:prod", False),
        ("deploy", "repo:OWNER/REPO:ref:refs/heads/main", False),
        ("deploy", f"repo:evil/REPO:environment:{ENV}", False),
        ("read", "repo:OWNER/REPO:ref:refs/heads/main", True),
        ("read", "repo:OWNER/REPO:pull_request", False),
        ("read", f"repo:OWNER/REPO:environment:{ENV}", True),
        ("read", "repo:OWNER/REPO:environment:prod", False),
    ],
)
def test_only_this_repository_s_jobs_may_assume_the_roles(
    aws: str, repo: Path, role: str, subject: str, allowed: bool
) -> None:
    """The trust policies as IAM holds them, evaluated for GitHub's OIDC claims
    (sub and aud), from the provider the stack made."""
    settings = bootstrapped(aws)
    outcome, _ = boot(settings, repo)
    subject = subject.replace("OWNER/REPO", settings.github.repository)
    name = f"{PROJECT.name}-{ENV}-{role}"
    trust = roles(aws)[name]["AssumeRolePolicyDocument"]
    trust = json.loads(unquote(trust)) if isinstance(trust, str) else trust
    provider = client(aws, "iam").list_open_id_connect_providers()["OpenIDConnectProviderList"]
    assert [s["Principal"]["Federated"] for s in trust["Statement"]] == [provider[0]["Arn"]]
    claims = {f"{GITHUB_OIDC}:sub": subject, f"{GITHUB_OIDC}:aud": "sts.amazonaws.com"}
    request = Request("sts:AssumeRoleWithWebIdentity", "*", claims)
    assert (evaluate([trust], request) is Decision.ALLOWED) is allowed
    wrong_audience = replace(request, context={**claims, f"{GITHUB_OIDC}:aud": "other"})
    assert evaluate([trust], wrong_audience) is not Decision.ALLOWED
    assert outcome.outputs


def as_role(
    url: str, settings: Settings, role_arn: str, step: Callable[[], object]
) -> list[Request]:
    """Run one step with recording on and evaluate its calls at once (a resource it read,
    such as an endpoint config the next step replaces, still has its tags then)."""
    recording(url, "POST")
    try:
        step()
        # The federation step is unsigned: the trust policy authorizes it (tested above).
        calls = [c for c in recording(url, "GET") if c["action"] != "AssumeRoleWithWebIdentity"]
    finally:
        recording(url, "DELETE")
    sessions = {c["access_key"] for c in calls}
    assert all(key.startswith("ASIA") for key in sessions), "a call was not made as a role"
    return [
        request
        for key in sorted(sessions)  # each connect takes a session of its own
        for request in evaluated(
            url, [c for c in calls if c["access_key"] == key], settings, role_arn, key
        )
    ]


def test_a_ci_shaped_deploy_rollback_and_drift_use_only_the_bootstrap_roles(
    aws: str, repo: Path
) -> None:
    settings = bootstrapped(aws)
    outcome, _ = boot(settings, repo)
    deploy_role, read_role = outcome.outputs["DeployRoleArn"], outcome.outputs["ReadRoleArn"]
    as_deploy = {**CONFIRM, LOCAL_ROLE: deploy_role}
    shown: list[str] = []

    def deploy(package: Any = None) -> None:
        outcome, text = run(settings, repo, execute=True, environ=as_deploy, package=package)
        assert outcome.record is not None
        shown.append(text)

    # A first dry run leaves each stack empty in REVIEW_IN_PROGRESS: the deploy role may not
    # delete stacks, and the execute that follows plans on them.
    requests = as_role(aws, settings, deploy_role, lambda: run(settings, repo, environ=as_deploy))
    stacks = client(aws, "cloudformation").list_stacks()["StackSummaries"]
    assert {s["StackStatus"] for s in stacks if not s["StackName"].endswith("bootstrap")} == {
        "REVIEW_IN_PROGRESS"
    }
    requests += as_role(aws, settings, deploy_role, deploy)
    commit(repo, "model-change.txt", "regularization = 0.05\n")
    requests += as_role(aws, settings, deploy_role, lambda: deploy(retrained))
    requests += as_role(
        aws, settings, deploy_role, lambda: roll(settings, repo, execute=True, environ=as_deploy)
    )
    env = settings.environment(ENV)
    assert f"as arn:aws:sts::{env.account}:assumed-role/{PROJECT.name}-{ENV}-deploy/" in shown[0]
    actions = {r.action for r in requests}
    assert {"cloudformation:CreateChangeSet", "iam:PassRole", "s3:PutObject"} <= actions
    assert {"sagemaker:InvokeEndpoint", "cloudformation:DetectStackDrift"} <= actions
    denied_elsewhere(aws, requests, deploy_role)

    def read() -> None:
        reader = connect(env, read_role)
        assert not read_drift(settings, env, reader, ledger_of(settings, env, reader)).drifted
        assert len(ledger_of(settings, env, reader).records()) == 3

    requests = as_role(aws, settings, read_role, read)
    assert not {r.action for r in requests} & {"s3:PutObject", "cloudformation:CreateChangeSet"}
    denied_elsewhere(aws, requests, read_role)


def test_an_environment_not_bootstrapped_yet_is_refused_a_deploy(aws: str, repo: Path) -> None:
    settings = bootstrapped(aws)
    message = refused(aws, lambda: run(settings, repo, execute=True))
    assert message == (
        f"{ENV} is not bootstrapped: stack {PROJECT.name}-{ENV}-bootstrap does not exist; an "
        f"account admin runs `invoke bootstrap --env {ENV} --execute` first (README: Day 0)"
    )


def test_bootstrap_without_a_table_is_one_line_and_changes_nothing(
    aws: str, local_settings: Settings, repo: Path
) -> None:
    message = refused(aws, lambda: boot(local_settings, repo), ConfigError)
    assert message.startswith(f"{ENV} has no [environments.{ENV}.bootstrap] table")
    assert not (repo / "build" / "bootstrap").exists()


def test_a_provider_of_another_account_is_refused_in_one_line(aws: str) -> None:
    arn = f"arn:aws:iam::999999999999:oidc-provider/{GITHUB_OIDC}"
    with pytest.raises(ConfigError) as raised:
        bootstrapped(aws, oidc_provider=arn)
    assert re.search(
        r"oidc_provider: the provider is in account 999999999999, but the environment is "
        r"account \d{12}: a role trusts a provider of its own account only",
        str(raised.value),
    )


def test_a_provider_given_by_arn_is_named_not_made(aws: str, repo: Path) -> None:
    account = local_document(aws)["environments"][ENV]["account"]
    arn = f"arn:aws:iam::{account}:oidc-provider/{GITHUB_OIDC}"
    client(aws, "iam").create_open_id_connect_provider(
        Url=f"https://{GITHUB_OIDC}", ClientIDList=["sts.amazonaws.com"], ThumbprintList=[]
    )
    outcome, text = boot(bootstrapped(aws, oidc_provider=arn), repo)
    assert outcome.executed and "GitHubProvider" not in text


def test_a_bad_local_role_is_one_line(aws: str, repo: Path) -> None:
    settings = bootstrapped(aws)
    with pytest.raises(ConfigError, match=f"^{LOCAL_ROLE}='deployer' is not a role ARN"):
        run(settings, repo, environ={**CONFIRM, LOCAL_ROLE: "deployer"})


def test_every_bootstrapped_session_lasts_as_long_as_the_workflows_ask(settings: Settings) -> None:
    """configure-aws-credentials asks for role-duration-seconds; STS refuses more than the
    role's MaxSessionDuration (https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html)."""
    workflows = PROJECT_ROOT / ".github" / "workflows"
    asked = [
        int(seconds)
        for path in sorted(workflows.glob("*.yml"))
        for seconds in re.findall(r"role-duration-seconds: (\d+)", path.read_text(encoding="utf-8"))
    ]
    assert asked
    for env in settings.environments.values():
        if env.bootstrap is not None:
            assert env.bootstrap.max_session_seconds >= max(asked), env.name


def test_two_environments_of_one_account_cannot_both_create_the_provider(aws: str) -> None:
    document = local_document(aws)
    for env in ("dev", "staging"):
        document["environments"][env]["account"] = "444444444444"
        document["environments"][env].pop("encryption", None)
        document["environments"][env]["encryption"] = "s3"
        document["environments"][env]["bootstrap"] = {"oidc_provider": "create", "session_hours": 3}
    with pytest.raises(ConfigError) as raised:
        parse(document, CONFIG_PATH)
    assert str(raised.value) == (
        f"{CONFIG_PATH.name}: environments.staging.bootstrap.oidc_provider: dev and staging "
        "share account 444444444444, which has one GitHub OIDC provider; dev creates it, so "
        'give staging oidc_provider = "arn:aws:iam::444444444444:oidc-provider/'
        'token.actions.githubusercontent.com"'
    )
    document["environments"]["staging"]["bootstrap"]["oidc_provider"] = (
        f"arn:aws:iam::444444444444:oidc-provider/{GITHUB_OIDC}"
    )
    assert parse(document, CONFIG_PATH).environment("staging").bootstrap is not None


def test_a_rollback_to_a_deploy_from_before_the_bootstrap_is_refused(
    aws: str, local_settings: Settings, repo: Path
) -> None:
    """Its roles carry no permissions boundary, which the execution role would refuse
    halfway through; a deploy from source after the bootstrap is fine."""
    before, _ = run(local_settings, repo, execute=True)
    assert before.record is not None
    target = before.record.deploy_id
    commit(repo, "model-change.txt", "regularization = 0.05\n")
    run(local_settings, repo, execute=True, package=retrained)
    settings = bootstrapped(aws)
    boot(settings, repo)
    message = refused(aws, lambda: roll(settings, repo, to=target))
    assert re.match(rf"{PROJECT.name}-{ENV}-\w+'s role \w+ has no permissions boundary", message)
    assert message.endswith(
        f"this rollback was built before {ENV} was bootstrapped: roll back to a deploy made "
        "since, or deploy from source"
    )
    commit(repo, "after.txt", "bootstrapped\n")
    after, _ = run(settings, repo, execute=True)
    assert after.record is not None and after.record.succeeded


def test_a_provider_that_exists_already_fails_the_create_and_says_what_to_do(
    aws: str, repo: Path
) -> None:
    client(aws, "iam").create_open_id_connect_provider(
        Url=f"https://{GITHUB_OIDC}", ClientIDList=["sts.amazonaws.com"], ThumbprintList=[]
    )
    with pytest.raises(DeployError) as raised:
        boot(bootstrapped(aws), repo)
    message = str(raised.value)
    assert "\n" not in message
    assert "set oidc_provider to its ARN" in message
    assert message.endswith(
        f"delete stack {PROJECT.name}-{ENV}-bootstrap (it holds nothing) and run it again"
    )


def test_a_session_shorter_than_the_workflows_ask_for_is_refused(aws: str) -> None:
    with pytest.raises(ConfigError, match=r"session_hours: 2 is outside 3\.\.12"):
        bootstrapped(aws, session_hours=2)


def test_a_provider_that_is_not_github_s_is_refused_in_one_line(aws: str) -> None:
    with pytest.raises(ConfigError) as raised:
        bootstrapped(aws, oidc_provider="arn:aws:iam::123456789012:oidc-provider/example.com")
    message = str(raised.value)
    assert "\n" not in message
    assert message.endswith(
        "oidc_provider: 'arn:aws:iam::123456789012:oidc-provider/example.com' is not a GitHub "
        "OIDC provider ARN (arn:aws:iam::<account>:oidc-provider/"
        'token.actions.githubusercontent.com); use "create" or that ARN'
    )
