"""The deploy guardrails: each rule reads the environment's policy and says yes or refuses.

Rules are pure functions over plain data (the policy, git's state, the caller's account,
ledger records, stack statuses) so each is tested without servers; deploy.py gathers the
data and runs them before anything is created. A refusal is one line: what is wrong and
how to fix it.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from ..config import SERVERLESS, Environment, Project
from ..digests import NOT_INSTALLED
from ..errors import Refusal
from .git import GitState
from .ledger import DEPLOY_ID, DeployRecord
from .reviewed import age_hours

CONFIRMATION = "I_UNDERSTAND_THE_COST"

# Stack statuses in which another operation owns the stack. REVIEW_IN_PROGRESS (a stack
# that only has change sets) is handled separately: it is busy only while change sets exist.
_SETTLED_SUFFIXES = ("_COMPLETE", "_FAILED")
# Settled, but CloudFormation accepts no change set until someone acts.
_STUCK = {
    "ROLLBACK_COMPLETE": "its first deploy failed; delete the stack and deploy again",
    "ROLLBACK_FAILED": "its first deploy failed; delete the stack and deploy again",
    "CREATE_FAILED": "its first deploy failed; delete the stack and deploy again",
    "DELETE_FAILED": "a delete failed; finish deleting the stack and deploy again",
    "UPDATE_ROLLBACK_FAILED": "an update failed to roll back; run "
    "`aws cloudformation continue-update-rollback` on it, then deploy again",
}


def check_confirmation(
    project: Project, environment: Environment, environ: Mapping[str, str], what: str = ""
) -> None:
    """An execute of a protected environment (policy.confirmation_required) is confirmed by
    the variable; `what` names an execute that always needs it (a destroy)."""
    if not environment.policy.confirmation_required and not what:
        return
    variable = project.deploy_confirm_variable
    value = environ.get(variable)
    if value == CONFIRMATION:
        return
    problem = "is not set" if value is None else f"is {value!r}"
    why = (
        f"a {what} of {environment.name} deletes its endpoint"
        if what
        else (f"{environment.name} is protected")
    )
    raise Refusal(
        f"{why} and {variable} {problem}; set {variable}={CONFIRMATION} to confirm this "
        f"{what or 'deploy'}"
    )


def check_reviewed_plan(
    environment: Environment, plan: str | None, *, execute: bool, rollback: bool = False
) -> None:
    """A plan named is a deploy id; an execute of an environment whose policy asks for it
    names its reviewed dry run: a deploy's where require_reviewed_plan is on, a rollback's
    where rollbacks need approvals (an approval names a plan)."""
    if plan is not None and not DEPLOY_ID.match(plan):
        raise Refusal(
            f"--plan {plan!r} is not a deploy id (like 20261201T101502123Z-1a2b3c4-9f0e); "
            "pass the one the dry run printed"
        )
    if not execute or plan is not None:
        return
    policy, name = environment.policy, environment.name
    approvals = policy.rollback_approvals_required if rollback else policy.approvals_required
    approve = (
        f", have it approved by {approvals} person(s) (invoke approve --env {name} --plan <id>)"
        if approvals
        else ""
    )
    if rollback and approvals:
        raise Refusal(
            f"{name} rolls back only an approved plan: run the rollback without --execute"
            f"{approve}, then run it with --execute --plan <the deploy id the dry run printed>"
        )
    if not rollback and policy.require_reviewed_plan:
        raise Refusal(
            f"{name} executes only a reviewed plan: run the dry run, review it{approve}, "
            f"then run --execute --plan <the deploy id the dry run printed>"
        )


def check_plan_fresh(environment: Environment, deploy_id: str, now: datetime) -> None:
    """A reviewed plan is executed (or approved) within policy.plan_expiry_hours of its dry
    run, by the time its deploy id starts with."""
    limit = environment.policy.plan_expiry_hours
    age = age_hours(deploy_id, now)
    if age > limit:
        raise Refusal(
            f"plan {deploy_id} expired: it was made {age:.0f} h ago, and plans of "
            f"{environment.name} expire after {limit} h (policy.plan_expiry_hours); "
            "run a new dry run and review that"
        )


def check_clean(git: GitState) -> None:
    if git.dirty:
        shown = ", ".join(line.strip() for line in git.dirty[:3])
        more = f" and {len(git.dirty) - 3} more" if len(git.dirty) > 3 else ""
        raise Refusal(
            f"the working tree has uncommitted changes ({shown}{more}); "
            "commit or stash them so the deploy is exactly a commit"
        )


def check_ref(environment: Environment, git: GitState) -> None:
    allowed = environment.policy.allowed_refs
    if git.ref is not None and any(fnmatch.fnmatchcase(git.ref, ref) for ref in allowed):
        return
    where = git.ref or f"a detached HEAD ({git.commit[:7]}) with no release tag"
    raise Refusal(
        f"{environment.name} deploys only from {', '.join(allowed)}, not {where}; "
        "check out an allowed branch or tag"
    )


def check_account(environment: Environment, caller_account: str, principal: str) -> None:
    if caller_account != environment.account:
        raise Refusal(
            f"{environment.name} is account {environment.account} but the credentials in use "
            f"are {principal} in account {caller_account}; switch to {environment.name}'s "
            "credentials (AWS_PROFILE or the CI role)"
        )


def check_promotion(
    environment: Environment, commit: str, source_records: Iterable[DeployRecord]
) -> DeployRecord | None:
    """The commit must have deployed successfully to policy.promotion_from first; returns
    the newest such record (records newest first), whose bytes check_promoted_bytes holds
    this deploy to. None when the environment promotes from nowhere."""
    source = environment.policy.promotion_from
    if source is None:
        return None
    for record in source_records:
        if record.commit == commit and record.succeeded:
            return record
    raise Refusal(
        f"{environment.name} takes only commits already deployed to {source}, and "
        f"{commit[:7]} has no successful deploy there; deploy it to {source} first"
    )


def check_installed_as_locked(
    locked: Mapping[str, frozenset[str]], installed: Mapping[str, str]
) -> None:
    """What builds the templates and the model is what uv.lock pins (installed: name ->
    version of the build tools; a tool the lock does not pin, or not installed, is left
    alone): the lock's hash in the record then says what the deploy was built with."""
    wrong = [
        (name, version, sorted(locked[name]))
        for name, version in installed.items()
        if name in locked and version != NOT_INSTALLED and version not in locked[name]
    ]
    if wrong:
        name, version, pinned = wrong[0]
        more = f" (and {len(wrong) - 1} more)" if len(wrong) > 1 else ""
        raise Refusal(
            f"{name} {version} is installed, but uv.lock pins {' or '.join(pinned)}{more}: a "
            "deploy builds only with the locked versions; run `uv sync --locked` (nox "
            "sessions do) and retry"
        )


def check_promoted_bytes(
    environment: Environment,
    promoted: DeployRecord,
    model_sha256: str,
    lock_sha256: str,
    model_source: Mapping[str, str] | None = None,
) -> None:
    """Promote bytes, not commits: the model packaged here and the uv.lock it was built
    with are the ones the source environment ran for this commit (promoted: its record).
    Packaging is reproducible (same commit and locked libraries, same bytes), so a
    different digest means something else would run here than ran there. A model trained
    elsewhere (model_source: the record's kind, uri, package, image) must be the same
    archive, served by the same image; the refusal names where each came from."""
    source, commit = promoted.environment, promoted.commit[:7]
    ran = f"{source}'s deploy {promoted.deploy_id} of {commit}"
    here = model_source or {}
    if {here.get("kind", "build"), promoted.model_source.get("kind", "build")} != {"build"}:
        _check_promoted_model(environment, promoted, model_sha256, here)
    if not lock_sha256:
        raise Refusal(
            f"this checkout has no uv.lock, so what {environment.name} would run cannot be "
            f"compared with what {source} ran; run `uv lock`, commit uv.lock and deploy that "
            f"commit to {source} first"
        )
    if not promoted.lock_sha256:
        raise Refusal(
            f"{ran} recorded no uv.lock (it predates lock recording or had none), so "
            f"{environment.name} cannot take its bytes; deploy {commit} to {source} again first"
        )
    if promoted.lock_sha256 != lock_sha256:
        raise Refusal(
            f"uv.lock here ({lock_sha256[:12]}…) is not the one {ran} was built with "
            f"({promoted.lock_sha256[:12]}…); {environment.name} takes only the dependencies "
            f"{source} ran: deploy from that commit's committed uv.lock"
        )
    if promoted.model_sha256 != model_sha256:
        raise Refusal(
            f"the model packaged here ({model_sha256[:12]}…) is not the one {ran} served "
            f"({promoted.model_sha256[:12]}…): packaging did not reproduce it, so the "
            "libraries here differ from the lock (run `uv sync --locked`, or deploy through "
            f"nox, which installs exactly uv.lock); {environment.name} takes only the model "
            f"{source} ran"
        )


def _where(origin: Mapping[str, str]) -> str:
    kind = origin.get("kind", "build")
    if kind == "build":
        return "built from this commit"
    return f"from {origin.get('package') or origin.get('uri', 'an unrecorded source')}"


def _check_promoted_model(
    environment: Environment, promoted: DeployRecord, sha256: str, origin: Mapping[str, str]
) -> None:
    """The model-trained-elsewhere half of check_promoted_bytes: packaging did not make
    these bytes, so a difference is a different model or image, not a library drift."""
    source, there = promoted.environment, promoted.model_source
    ran = f"{source}'s deploy {promoted.deploy_id} of {promoted.commit[:7]}"
    if sha256 != promoted.model_sha256:
        raise Refusal(
            f"the model {_where(origin)} ({sha256[:12]}…) is not the one {ran} served "
            f"({promoted.model_sha256[:12]}…, {_where(there)}); {environment.name} takes only "
            f"the model {source} ran: register and approve that archive here, or deploy with "
            "--model-package naming its version"
        )
    framework = "the [model] framework image"
    image, image_there = origin.get("image") or framework, there.get("image") or framework
    if image != image_there:
        raise Refusal(
            f"the model's image here ({image}) is not the one {ran} served it with "
            f"({image_there}); {environment.name} takes only what {source} ran: register the "
            "model here with that image"
        )


def check_not_busy(statuses: Mapping[str, tuple[str, int]]) -> None:
    """statuses: stack name -> (status, pending change sets); missing stacks are absent.

    The lock is the stacks' own status: a stack mid-update (or holding another deploy's
    change sets) belongs to that operation until it settles.
    """
    for stack, (status, change_sets) in statuses.items():
        if status in _STUCK:
            raise Refusal(f"{stack} is {status}: {_STUCK[status]}")
        if status == "REVIEW_IN_PROGRESS":
            if change_sets:
                raise Refusal(
                    f"{stack} has {change_sets} pending change set(s) from another deploy; "
                    "wait for it to finish (or delete them) and retry"
                )
        elif not status.endswith(_SETTLED_SUFFIXES):
            raise Refusal(
                f"{stack} is {status}: another operation is changing it; wait until it "
                "settles (watch it in the CloudFormation console) and retry"
            )


def check_drift(environment: Environment, summary: str, *, execute: bool) -> None:
    """A deploy's execute refuses while the environment has drifted from its ledger, where
    policy.refuse_drift asks (summary: what drifted, or why drift could not be checked)."""
    if execute and environment.policy.refuse_drift:
        raise Refusal(
            f"{environment.name} has drifted from its ledger ({summary}); see invoke drift "
            f"--env {environment.name}, then put the change in code or undo it and deploy "
            "again (policy.refuse_drift)"
        )


def check_serving_switch(
    environment: Environment,
    endpoint: str,
    live: Mapping[str, str],
    planned: Mapping[str, str],
    retains: bool,
) -> str | None:
    """An instance endpoint cannot become serverless in place: "If you try to update your
    real-time endpoint to serverless, you receive a ValidationError message"; the other way
    works, but "once you make the update, you cannot roll it back to serverless"
    (https://docs.aws.amazon.com/sagemaker/latest/dg/serverless-endpoints.html). So the first
    is refused before any change set, with the way through the environment's policy allows,
    and the second is a note for the plan (returned). What RetainAllVariantProperties keeps
    of a serverless variant that goes onto instances is not documented, so that update
    (retains: the planned Endpoint keeps them, as it does while autoscaling is on) is
    refused with a way round it.

    live, planned: variant -> instance type, or SERVERLESS (endpoint_state.runs_on).
    """
    name = environment.name
    both = sorted(set(live) & set(planned))
    for variant in both:
        before, after = live[variant], planned[variant]
        if after == SERVERLESS and before not in ("", SERVERLESS):
            way = (
                f"run invoke destroy --env {name} --execute first (the endpoint is down until "
                'the deploy), or keep endpoint.serving = "instances"'
                if environment.policy.destroy_allowed
                else f'keep endpoint.serving = "instances": policy.destroy_allowed is false in '
                f"{name}, and only a destroy and a new deploy make it serverless"
            )
            raise Refusal(
                f"{endpoint} serves {variant} on {before} instances and this deploy makes it "
                f"serverless, which SageMaker refuses in place; {way}"
            )
    switched = [v for v in both if live[v] == SERVERLESS != planned[v]]
    if switched and retains:
        raise Refusal(
            f"{endpoint} serves {', '.join(switched)} serverless, and this deploy puts it on "
            "instances while keeping the live variant's properties (RetainAllVariantProperties, "
            "on while autoscaling is), which SageMaker does not define for a serverless "
            f"variant; deploy with [environments.{name}.autoscaling] enabled = false first, "
            "then with enabled = true"
        )
    if switched:
        return (
            f"{endpoint} goes from serverless to instances ({', '.join(switched)}); SageMaker "
            "cannot update it back to serverless: that takes invoke destroy and a new deploy"
        )
    return None


def check_instance_type(
    environment: str,
    endpoint: str,
    live: Mapping[str, str],
    autoscaled: Iterable[str],
    planned: Mapping[str, str],
) -> None:
    """An autoscaled variant keeps its instance type: SageMaker fails an update that changes
    it ("If the update would change the instance type for any model that is a target for
    auto scaling, the update fails", endpoint-scaling-update.html). One change set cannot
    deregister the target first (CloudFormation removes resources after it updates), so the
    way through is three deploys, named here.

    live, planned: variant -> instance type; autoscaled: variants with a scalable target.
    """
    for variant in sorted(set(autoscaled)):
        before, after = live.get(variant), planned.get(variant)
        if before and after and before != after:
            raise Refusal(
                f"{endpoint} would change {variant} from {before} to {after}, and SageMaker "
                "refuses that on an autoscaled variant; deploy with "
                f"[environments.{environment}.autoscaling] enabled = false first, then the "
                "new instance type, then enabled = true again"
            )


def check_roles_bounded(
    environment: str, kind: str, boundary: str, templates: Mapping[str, Mapping[str, Any]]
) -> None:
    """In a bootstrapped environment the execution role makes roles only under the
    permissions boundary (access/policies.py): a template with a role without it (a bundle
    built before the environment was bootstrapped) would fail mid-change, so it is refused
    before any change set."""
    for stack, template in templates.items():
        for logical_id, resource in (template.get("Resources") or {}).items():
            if resource.get("Type") != "AWS::IAM::Role":
                continue
            bound = json.dumps((resource.get("Properties") or {}).get("PermissionsBoundary"))
            if f":policy/{boundary}" not in bound and f'/{boundary}"' not in bound:
                raise Refusal(
                    f"{stack}'s role {logical_id} has no permissions boundary {boundary}, and "
                    f"{environment} is bootstrapped: its execution role makes roles under that "
                    f"boundary only; this {kind} was built before {environment} was "
                    "bootstrapped: roll back to a deploy made since, or deploy from source"
                )
