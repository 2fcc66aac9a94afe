"""The pure parts of the pipeline: guardrail rules, plan parsing, records, cost."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from rich.console import Console

from {{ cookiecutter.package_name }}.config import Settings
from {{ cookiecutter.package_name }}.errors import Refusal
from {{ cookiecutter.package_name }}.release import guardrails, verify
from {{ cookiecutter.package_name }}.release.cost import CostEstimate, estimate
from {{ cookiecutter.package_name }}.release.git import GitState
from {{ cookiecutter.package_name }}.release.ledger import (
    DeployRecord,
    Failure,
    Outcome,
    new_deploy_id,
)
from {{ cookiecutter.package_name }}.release.plan import (
    Change,
    Plan,
    StackPlan,
    changes_of,
    is_no_change,
)
from {{ cookiecutter.package_name }}.release.render import history_table, plan_markdown

COMMIT = "c" * 40


def record(commit: str = COMMIT, outcome: Outcome = Outcome.SUCCEEDED) -> DeployRecord:
    return DeployRecord(
        deploy_id=new_deploy_id(commit),
        kind="deploy",
        environment="staging",
        project="app",
        commit=commit,
        ref="refs/heads/main",
        actor="test@example.com",
        principal="arn:aws:iam::222222222222:role/deploy",
        started_at="2026-11-29T10:00:00+00:00",
        finished_at="2026-11-29T10:05:00+00:00",
        duration_seconds=300.0,
        outcome=outcome,
        model_sha256="ab" * 32,
        templates={"app-staging-serving": "cd" * 32},
        change_sets={"app-staging-serving": "arn:aws:cloudformation:...:changeSet/x"},
        failure=Failure("s", "r", "why") if outcome is Outcome.FAILED else None,
    )


def test_confirmation_is_exact_and_only_where_policy_asks(settings: Settings) -> None:
    project, prod, dev = settings.project, settings.environment("prod"), settings.environment("dev")
    variable = project.deploy_confirm_variable
    guardrails.check_confirmation(project, prod, {variable: "I_UNDERSTAND_THE_COST"})
    guardrails.check_confirmation(project, dev, {})  # dev is not protected
    for value in ("yes", "I_UNDERSTAND_THE_COST ", ""):
        with pytest.raises(Refusal, match=f"{variable} is '{value}'"):
            guardrails.check_confirmation(project, prod, {variable: value})


def test_refs_match_the_policy_patterns(settings: Settings) -> None:
    prod = settings.environment("prod")  # refs/heads/main, refs/tags/v*
    for allowed in ("refs/heads/main", "refs/tags/v1.2.3"):
        guardrails.check_ref(prod, GitState(COMMIT, allowed, ()))
    refused: list[str | None] = ["refs/heads/feature", "refs/tags/nightly", None]
    for ref in refused:
        with pytest.raises(Refusal, match="prod deploys only from refs/heads/main, refs/tags/v"):
            guardrails.check_ref(prod, GitState(COMMIT, ref, ()))


def test_dirty_tree_names_the_first_files() -> None:
    dirty = GitState(COMMIT, "refs/heads/main", (" M a.py", "?? b.py", "?? c", "?? d", "?? e"))
    with pytest.raises(Refusal, match=r"\(M a.py, \?\? b.py, \?\? c and 2 more\)"):
        guardrails.check_clean(dirty)


def test_promotion_needs_a_successful_record_of_the_same_commit(settings: Settings) -> None:
    prod = settings.environment("prod")
    newest = record()
    assert guardrails.check_promotion(prod, COMMIT, [newest, record(), record("d" * 40)]) is newest
    assert guardrails.check_promotion(settings.environment("dev"), COMMIT, []) is None
    for records in ([], [record(outcome=Outcome.FAILED)], [record("d" * 40)]):
        with pytest.raises(Refusal, match="deploy it to staging first"):
            guardrails.check_promotion(prod, COMMIT, records)


def test_a_deploy_builds_only_with_the_versions_the_lock_pins() -> None:
    locked = {"aws-cdk-lib": frozenset({"2.275.0"}), "numpy": frozenset({"2.2.6", "2.5.5"})}
    guardrails.check_installed_as_locked(locked, {"aws-cdk-lib": "2.275.0", "numpy": "2.2.6"})
    guardrails.check_installed_as_locked(locked, {"cdk-nag": "3.0.2"})  # not pinned: left alone
    with pytest.raises(Refusal) as refused:
        guardrails.check_installed_as_locked(locked, {"aws-cdk-lib": "2.280.0", "numpy": "1.26.4"})
    assert str(refused.value) == (
        "aws-cdk-lib 2.280.0 is installed, but uv.lock pins 2.275.0 (and 1 more): a deploy "
        "builds only with the locked versions; run `uv sync --locked` (nox sessions do) and retry"
    )


def test_promotion_takes_only_the_model_and_lock_the_source_environment_ran(
    settings: Settings,
) -> None:
    prod, lock, model = settings.environment("prod"), "1f" * 32, "ab" * 32
    ran = replace(record(), lock_sha256=lock)
    guardrails.check_promoted_bytes(prod, ran, model, lock)
    for promoted, model_here, lock_here, refusal in (
        (ran, model, "", "this checkout has no uv.lock, so what prod would run cannot be"),
        (record(), model, lock, "recorded no uv.lock (it predates lock recording or had none)"),
        (ran, model, "2e" * 32, "uv.lock here (2e2e2e2e2e2e…) is not the one staging's deploy"),
        (ran, "cd" * 32, lock, "the model packaged here (cdcdcdcdcdcd…) is not the one staging's"),
    ):
        with pytest.raises(Refusal) as refused:
            guardrails.check_promoted_bytes(prod, promoted, model_here, lock_here)
        assert str(refused.value).startswith(refusal) or refusal in str(refused.value)
        assert "\n" not in str(refused.value)


def test_a_promoted_model_trained_elsewhere_is_the_same_archive_and_image(
    settings: Settings,
) -> None:
    prod, lock, model = settings.environment("prod"), "1f" * 32, "ab" * 32
    arn = "arn:aws:sagemaker:us-east-1:222222222222:model-package/threat-models/3"
    image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/scorer@sha256:" + "0" * 64
    package = {"kind": "package", "uri": "s3://t/run/model.tar.gz", "package": arn, "image": image}
    ran = replace(record(), lock_sha256=lock, model_source=package)
    guardrails.check_promoted_bytes(prod, ran, model, lock, package)
    other = {**package, "image": image.replace("scorer", "other")}
    for here, model_here, refusal in (
        (package, "cd" * 32, f"the model from {arn} (cdcdcdcdcdcd…) is not the one staging's"),
        ({"kind": "build"}, model, "the model's image here (the [model] framework image) is not"),
        (other, model, f"the model's image here ({other['image']}) is not the one staging's"),
    ):
        with pytest.raises(Refusal) as refused:
            guardrails.check_promoted_bytes(prod, ran, model_here, lock, here)
        assert str(refused.value).startswith(refusal)
        assert "uv sync" not in str(refused.value)


@pytest.mark.parametrize(
    ("status", "pending", "refusal"),
    [
        ("CREATE_COMPLETE", 0, None),
        ("UPDATE_ROLLBACK_COMPLETE", 0, None),
        ("REVIEW_IN_PROGRESS", 0, None),  # a crashed dry run's empty stack: fine
        ("REVIEW_IN_PROGRESS", 2, "has 2 pending change set"),
        ("UPDATE_IN_PROGRESS", 0, "is UPDATE_IN_PROGRESS: another operation"),
        ("UPDATE_ROLLBACK_IN_PROGRESS", 0, "another operation"),
        ("ROLLBACK_COMPLETE", 0, "delete the stack and deploy again"),
        ("UPDATE_ROLLBACK_FAILED", 0, "continue-update-rollback"),
    ],
)
def test_stack_status_is_the_lock(status: str, pending: int, refusal: str | None) -> None:
    statuses = {"s": (status, pending)}
    if refusal is None:
        guardrails.check_not_busy(statuses)
    else:
        with pytest.raises(Refusal, match=refusal):
            guardrails.check_not_busy(statuses)


def test_account_mismatch_names_both_accounts(settings: Settings) -> None:
    with pytest.raises(Refusal, match=r"prod is account 333333333333 but .* account 444"):
        guardrails.check_account(settings.environment("prod"), "444444444444", "arn:x")


def test_change_set_description_becomes_rows() -> None:
    description = {
        "Status": "CREATE_COMPLETE",
        "Changes": [
            {
                "Type": "Resource",
                "ResourceChange": {
                    "Action": "Modify",
                    "LogicalResourceId": "ModelConfig",
                    "ResourceType": "AWS::SageMaker::EndpointConfig",
                    "Replacement": "True",
                },
            },
            {"Type": "Resource", "ResourceChange": {"Action": "Add", "LogicalResourceId": "X"}},
        ],
    }
    assert changes_of(description) == (
        Change("Modify", "ModelConfig", "AWS::SageMaker::EndpointConfig", "True"),
        Change("Add", "X", "", ""),
    )
    assert not is_no_change(description)
    for reason in (
        "The submitted information didn't contain changes. Submit different information.",
        "No updates are to be performed.",
    ):
        assert is_no_change({"Status": "FAILED", "StatusReason": reason})
    assert not is_no_change({"Status": "FAILED", "StatusReason": "Template error"})


def test_plan_markdown_lists_every_change_and_the_cost() -> None:
    changed = StackPlan(
        "app-serving", "t.json", "UPDATE", "arn:cs", (Change("Modify", "M", "T", "True"),)
    )
    unchanged = StackPlan("app-artifacts", "a.json", "UPDATE", "arn:cs2")
    plan = Plan("prod", "20261129T100000Z-ccccccc-0000", "ab" * 32, (unchanged, changed))
    markdown = plan_markdown(plan, "~$84/month", "d" * 64, None)
    assert "### app-artifacts (update)\n\nNo changes." in markdown
    assert f"Plan digest: `{'d' * 64}`" in markdown and "--plan" not in markdown  # an execute
    assert "| Modify | M | T | True |" in markdown
    assert markdown.rstrip().endswith("Estimated cost: ~$84/month")
    assert plan.has_changes and not replace(plan, stacks=(unchanged,)).has_changes


def test_records_round_trip_and_sort_by_time() -> None:
    for outcome in Outcome:
        original = record(outcome=outcome)
        assert DeployRecord.from_json(original.to_json()) == original
    early = new_deploy_id(COMMIT, datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    late = new_deploy_id(COMMIT, datetime(2026, 11, 2, 3, 4, 5, tzinfo=UTC))
    assert early.startswith("20260102T030405000Z-ccccccc-") and sorted([late, early]) == [
        early,
        late,
    ]
    with pytest.raises(ValueError, match="schema 2 is not 1"):
        DeployRecord.from_json(record().to_json().replace('"schema": 1', '"schema": 2'))


def test_cost_is_an_estimate_from_the_price_table(settings: Settings) -> None:
    prod = settings.environment("prod")
    found = estimate(prod)
    assert isinstance(found, CostEstimate) and found.usd_per_hour is not None
    low, high = found.monthly_range or (0, 0)
    assert low == pytest.approx(found.usd_per_hour * 730 * prod.autoscaling.min_capacity)
    assert high == pytest.approx(found.usd_per_hour * 730 * prod.autoscaling.max_capacity)
    assert "an estimate" in found.describe()
    odd = replace(prod, endpoint=replace(prod.endpoint, instance_type="ml.zz9.huge"))
    assert estimate(odd).describe().startswith("unknown: no price for ml.zz9.huge in ")


def test_history_keeps_an_email_whole_and_says_where_a_rollback_went() -> None:
    """In a 120-column log: the actor on one line (it once folded over four), and a rollback
    row names the deploys it went from and to (once only --json said so)."""
    first = replace(record(), actor="firstname.lastname@example.com")
    second = replace(record("1" * 40), actor="release-bot@example.com")
    back = replace(
        record("2" * 40),
        kind="rollback",
        rollback={"from": second.deploy_id, "to": first.deploy_id},
    )
    console = Console(width=120, file=io.StringIO())
    console.print(history_table([back, second, first], "Deploys of staging", back))
    lines = [line.strip() for line in console.file.getvalue().splitlines()]  # type: ignore[attr-defined]
    assert "by\u00a0firstname.lastname@example.com" in lines
    assert f"from {second.deploy_id}" in lines and f"to {first.deploy_id}" in lines
    assert any(line.startswith(f"{back.deploy_id} (live)") for line in lines)
    assert max(len(line) for line in console.file.getvalue().splitlines()) <= 120  # type: ignore[attr-defined]


class CannedRuntime:
    """sagemaker-runtime answering what moto answers: a few bytes that are not JSON."""

    def invoke_endpoint(self, **_: object) -> dict[str, object]:
        return {"ContentType": "content_type", "Body": io.BytesIO(b"body")}


def test_only_the_local_aws_is_excused_the_smoke_scores() -> None:
    """On SageMaker the container answers, so a non-JSON answer fails verify; on the local AWS
    (no container) the line says plainly what was and was not checked."""
    said = verify._smoke(CannedRuntime(), "ep", local=True)
    assert said.startswith("not scored: the local AWS does not run the serving container")
    assert "checked: InService" in said
    with pytest.raises(verify._NotServing, match="not the handler's JSON"):
        verify._smoke(CannedRuntime(), "ep", local=False)
