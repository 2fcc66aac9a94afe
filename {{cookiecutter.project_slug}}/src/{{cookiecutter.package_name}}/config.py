"""Load config/environments.toml into typed, validated settings.

Every value is checked once, here: an unknown key, a wrong type, a value SageMaker would
reject or a missing account is a ConfigError whose one line names the file, the environment
and the key. Nothing falls back to another environment or to a default.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .images import (
    IMAGE,
    ecr_image_parts,
    framework_versions,
    has_model_monitor_image,
    has_serving_image,
)

# Relative to the project root: the folder of the tasks.py invoke loaded (or of app.py for
# the CDK CLI), passed down by the caller. Never derived from this package's __file__: with
# two projects in one environment, or a non-editable install, that names the wrong project.
CONFIG_FILE = Path("config") / "environments.toml"


def config_path(root: Path) -> Path:
    return root / CONFIG_FILE


_ENV_NAME = re.compile(r"^[a-z][a-z0-9]{1,11}$")
_SLUG = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
_ACCOUNT = re.compile(r"^\d{12}$")
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
_INSTANCE_TYPE = re.compile(r"^ml\.[a-z0-9]+\.[a-z0-9]+$")
# Instance families with local NVMe storage (the d families: m5d, c5d, g4dn, p4d; and g5,
# g6, p5, trn1, inf2, which "include local storage" too): SageMaker encrypts
# their volumes itself and "if you specify a value for KmsKeyId when using any nitro-based
# instances with local storage, the call to CreateEndpointConfig fails"
# (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateEndpointConfig.html).
_LOCAL_STORAGE = re.compile(
    r"^ml\.(?:[a-z]+[0-9]+[a-z]*d[a-z]*|g5|g6|g6e|p5|p5e|p5en|trn1|trn1n|inf2)\."
)
_KMS_KEY_ARN = re.compile(
    r"^arn:aws[a-z-]*:kms:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):key/(?:mrk-)?[0-9a-f-]{32,36}$"
)
_ENV_VAR = re.compile(r"^[A-Z][A-Z0-9_]*$")
_REPOSITORY = re.compile(r"^[A-Za-z0-9-]+/[A-Za-z0-9._-]+$")
_URL = re.compile(r"^https?://[A-Za-z0-9.-]+(:\d+)?/?$")
# An API root: https://api.github.com, or https://HOST/api/v3 for GitHub Enterprise Server.
_API_URL = re.compile(r"^https?://[A-Za-z0-9.-]+(:\d+)?(/[A-Za-z0-9._/-]*)?$")
_GIT_REF = re.compile(r"^refs/(heads|tags)/\S+$")
_CRON = re.compile(r"^cron\(.+\)$")
_CHECK = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._/()-]*$")
# A GitHub user login, or an organisation's team as "org/team-slug".
_REVIEWER = re.compile(r"^[A-Za-z0-9-]+(/[A-Za-z0-9._-]+)?$")
_TEAM = re.compile(r"^[A-Za-z0-9-]+/[A-Za-z0-9._-]+$")
# GitHub allows at most 6 required reviewers per environment, and so many gates per run here.
MAX_APPROVALS = 6
_BRANCH = re.compile(r"^[A-Za-z0-9._/-]+$")


class RolloutStrategy(StrEnum):
    ALL_AT_ONCE = "all-at-once"
    CANARY = "canary"
    LINEAR = "linear"

    @property
    def sagemaker_type(self) -> str:
        """The TrafficRoutingConfig type SageMaker expects."""
        return self.value.replace("-", "_").upper()


# SageMaker's limits on the traffic step of each strategy, in percent of the fleet.
STEP_LIMITS: Mapping[RolloutStrategy, tuple[int, int]] = {
    RolloutStrategy.CANARY: (1, 50),
    RolloutStrategy.LINEAR: (10, 50),
}


INSTANCES, SERVERLESS = "instances", "serverless"
# ProductionVariantServerlessConfig: "Valid values are in 1 GB increments: 1024 MB, 2048 MB,
# 3072 MB, 4096 MB, 5120 MB, or 6144 MB"; MaxConcurrency "Minimum value of 1. Maximum value of
# 200" (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ProductionVariantServerlessConfig.html).
SERVERLESS_MEMORY_MB = (1024, 2048, 3072, 4096, 5120, 6144)
MAX_CONCURRENCY = 200


@dataclass(frozen=True)
class EndpointSettings:
    """[endpoint]: serving = "instances" (a fleet of instance_count instance_type, with
    data_capture_percent of requests kept) or "serverless" (SageMaker Serverless Inference:
    memory_size_mb and max_concurrency, no instances, no data capture)."""

    instance_type: str = ""
    instance_count: int = 0
    data_capture_percent: int = 0  # 0: no data capture (serverless)
    serving: str = INSTANCES
    memory_size_mb: int = 0  # serverless
    max_concurrency: int = 0  # serverless

    @property
    def serverless(self) -> bool:
        return self.serving == SERVERLESS


@dataclass(frozen=True)
class Rollout:
    strategy: RolloutStrategy
    step_percent: int | None
    wait_seconds: int
    termination_wait_seconds: int
    max_execution_timeout_seconds: int


@dataclass(frozen=True)
class Alarms:
    error_5xx_count: int
    latency_p99_ms: int
    evaluation_periods: int


@dataclass(frozen=True)
class Autoscaling:
    enabled: bool  # false: no scalable target, and deploys set the instance count
    min_capacity: int
    max_capacity: int
    invocations_per_instance: int
    scale_in_cooldown_seconds: int
    scale_out_cooldown_seconds: int


@dataclass(frozen=True)
class ArtifactRetention:
    noncurrent_version_days: int
    data_capture_days: int
    access_log_days: int


@dataclass(frozen=True)
class Monitoring:
    schedule: str
    instance_type: str
    max_runtime_seconds: int


@dataclass(frozen=True)
class Bootstrap:
    """The environment's bootstrap stack (`invoke bootstrap`): its deploys run as the
    execution role it creates. oidc_provider is "create" (the stack creates the account's
    GitHub OIDC provider) or the ARN of the provider another environment of the same
    account created; session_hours is how long CI's deploy role session lasts (IAM's
    MaxSessionDuration: 3 hours, what the workflows ask for, to 12)."""

    oidc_provider: str
    session_hours: int

    @property
    def max_session_seconds(self) -> int:
        return self.session_hours * 3600


@dataclass(frozen=True)
class Policy:
    confirmation_required: bool
    allowed_refs: tuple[str, ...]
    ci_green_required: bool
    promotion_from: str | None
    # An execute must name the reviewed dry run it runs (--plan) and match its digest.
    require_reviewed_plan: bool
    # How long a dry run's plan may be executed with --plan (from the time in its deploy id).
    plan_expiry_hours: int
    # The two-person rule (release/approvals.py): how many distinct people must approve a
    # plan's digest before an execute runs it, and a rollback's; whether the deployer may be
    # one of them; whose approvals count (GitHub teams, "org/team-slug"; empty: anyone with
    # a verified identity); and whether each of those teams must be among the approvers.
    approvals_required: int
    rollback_approvals_required: int
    deployer_may_approve: bool
    approver_teams: tuple[str, ...]
    one_approver_per_team: bool
    # Whether `invoke destroy` may delete the environment's serving and monitoring stacks.
    destroy_allowed: bool
    # Whether a deploy's execute refuses while the environment has drifted from its ledger
    # (release/drift.py); without it the drift is reported and the deploy goes on.
    refuse_drift: bool
    # The most a deploy's model may change decisions on the golden requests, in % of them
    # (release/model_review.py); 100 never refuses, and the plan always shows the change.
    max_flip_percent: int


@dataclass(frozen=True)
class Approvals:
    """The GitHub environment that gates deploys to this environment in CI."""

    reviewers: tuple[str, ...]
    wait_timer_minutes: int
    prevent_self_review: bool


@dataclass(frozen=True)
class Encryption:
    """How the environment's data is encrypted at rest: "s3" (S3-managed keys, SSE-S3, and
    SageMaker's defaults) or "kms" (a customer-managed KMS key: the artifact bucket, the
    endpoint's storage volume, its data capture and the Model Monitor job's output and
    volume). key_arn names an existing key of the environment's account and region; without
    it the artifacts stack creates one (aliased, rotated yearly)."""

    kind: str
    key_arn: str | None = None

    @property
    def kms(self) -> bool:
        return self.kind == "kms"


BUILD, ARTIFACT, PACKAGE = "build", "artifact", "package"
LATEST_APPROVED = "latest-approved"


@dataclass(frozen=True)
class ModelSource:
    """Where an environment's model comes from ([environments.E.model]; release/sources.py):
    "build" trains and packages it from this commit; "artifact" takes a model.tar.gz from
    S3 with its sha256, its model-quality statistics and (with Model Monitor) its baseline;
    "package" takes a version of a SageMaker model package group a training pipeline
    writes, which must be Approved, with its image, artifact, metrics and baseline."""

    kind: str = BUILD
    group: str = ""  # package: the model package group
    version: str = ""  # package: "latest-approved" or a version number
    artifacts: str = ""  # package: the s3:// prefix its training pipeline writes under
    uri: str = ""  # artifact: s3://bucket/key/model.tar.gz
    sha256: str = ""  # artifact: the archive's sha256
    metrics: str = ""  # artifact: s3:// URI of its model-quality statistics (JSON)
    baseline: str = ""  # artifact with Model Monitor: s3:// prefix of its baseline files


@dataclass(frozen=True)
class Environment:
    name: str
    account: str
    region: str
    endpoint_url: str | None
    endpoint: EndpointSettings
    rollout: Rollout
    alarms: Alarms
    autoscaling: Autoscaling
    artifacts: ArtifactRetention
    monitoring: Monitoring | None
    policy: Policy
    approvals: Approvals | None
    encryption: Encryption = Encryption("s3")
    bootstrap: Bootstrap | None = None  # None: deploys run with the caller's credentials
    model: ModelSource = ModelSource()  # no [model] table: built from the commit


@dataclass(frozen=True)
class Project:
    name: str
    deploy_confirm_variable: str


@dataclass(frozen=True)
class Release:
    """What `invoke tag` certifies and where the model registry is used."""

    environment: str
    branch: str
    model_registry: bool


@dataclass(frozen=True)
class GitHubSettings:
    repository: str
    api_url: str
    required_checks: tuple[str, ...]
    timeout_seconds: int


@dataclass(frozen=True)
class Governance:
    """Branch protection for the release branch, applied by `invoke governance`."""

    required_approving_reviews: int
    dismiss_stale_reviews: bool
    require_code_owner_reviews: bool
    enforce_admins: bool


@dataclass(frozen=True)
class Serving:
    """[model]: what serves every environment's model unless its source brings its own
    container (a registry package): a SageMaker framework image of a version, from
    images.json for each region, running the model's code/inference.py; or a team's own
    image (framework "image"), by an ECR URI pinned by digest."""

    framework: str = "sklearn"
    version: str = "1.2-1"
    image: str = ""  # framework "image" only


@dataclass(frozen=True)
class Settings:
    path: Path
    project: Project
    release: Release
    github: GitHubSettings
    governance: Governance
    environments: Mapping[str, Environment]
    serving: Serving = Serving()

    def environment(self, name: str) -> Environment:
        """The named environment; an unknown name is an error listing the known ones."""
        if not name:  # the tasks' --env has no default
            known = ", ".join(self.environments)
            raise ConfigError(f"no environment given: add --env NAME, one of {known}")
        try:
            return self.environments[name]
        except KeyError:
            known = ", ".join(self.environments)
            raise ConfigError(
                f"unknown environment {name!r}: {self.path.name} defines {known}"
            ) from None

    def select(self, names: list[str] | None) -> list[Environment]:
        """The named environments in file order, or all of them when names is None/empty."""
        if not names:
            return list(self.environments.values())
        return [self.environment(name) for name in names]


class _Table:
    """A TOML table read key by key; every error names the file and the dotted key."""

    def __init__(self, data: Mapping[str, Any], where: str, path: Path) -> None:
        self._data = data
        self._where = where
        self._path = path
        self._seen: set[str] = set()

    def _dotted(self, key: str) -> str:
        return f"{self._where}.{key}" if self._where else key

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self._path.name}: {self._dotted(key)}: {problem}")

    def _get(self, key: str, kind: type, kind_name: str) -> Any:
        self._seen.add(key)
        if key not in self._data:
            raise self.fail(key, f"missing; add {key} = <{kind_name}>")
        value = self._data[key]
        # bool is a subclass of int; an int key must not accept true/false
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise self.fail(key, f"must be {kind_name}, got {value!r}")
        return value

    def has(self, key: str) -> bool:
        return key in self._data

    def names(self) -> list[str]:
        """The keys of this table, for tables whose keys are names (environments)."""
        return list(self._data)

    def string(self, key: str, pattern: re.Pattern[str], example: str) -> str:
        value: str = self._get(key, str, "a string")
        if not pattern.match(value):
            raise self.fail(key, f"{value!r} is not valid (e.g. {example!r})")
        return value

    def integer(self, key: str, low: int, high: int) -> int:
        value: int = self._get(key, int, "an integer")
        if not low <= value <= high:
            raise self.fail(key, f"{value} is outside {low}..{high}")
        return value

    def boolean(self, key: str) -> bool:
        value: bool = self._get(key, bool, "true or false")
        return value

    def strings(
        self, key: str, pattern: re.Pattern[str], example: str, *, allow_empty: bool = False
    ) -> tuple[str, ...]:
        values: list[Any] = self._get(key, list, "a list of strings")
        if not values and not allow_empty:
            raise self.fail(key, f"must not be empty (e.g. [{example!r}])")
        for value in values:
            if not isinstance(value, str) or not pattern.match(value):
                raise self.fail(key, f"{value!r} is not valid (e.g. {example!r})")
        return tuple(values)

    def table(self, key: str) -> _Table:
        data: Mapping[str, Any] = self._get(key, dict, "a table")
        return _Table(data, self._dotted(key), self._path)

    def done(self) -> None:
        """Refuse keys nobody read: a typo must not be silently ignored."""
        unknown = sorted(set(self._data) - self._seen)
        if unknown:
            raise self.fail(unknown[0], "unknown key; check its spelling against the docs")


def _rollout(table: _Table, endpoint: EndpointSettings) -> Rollout:
    strategy_name = table.string("strategy", re.compile(r"^[a-z-]+$"), "canary")
    try:
        strategy = RolloutStrategy(strategy_name)
    except ValueError:
        choices = ", ".join(s.value for s in RolloutStrategy)
        raise table.fail("strategy", f"{strategy_name!r} is not one of {choices}") from None
    step: int | None = None
    if strategy is RolloutStrategy.ALL_AT_ONCE:
        if table.has("step_percent"):
            raise table.fail("step_percent", "only canary and linear rollouts take a step")
    elif endpoint.serverless:
        # A choice of this project, not a documented SageMaker rule: canary and linear steps
        # are sized in instances or percent of a fleet's capacity (CapacitySize,
        # https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CapacitySize.html),
        # and no AWS page says what they do on a serverless endpoint (its exclusions name
        # rolling updates only,
        # https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-exclusions.html),
        # so a serverless endpoint rolls out all at once, still blue/green with the alarms.
        raise table.fail(
            "strategy",
            f"a {strategy} rollout steps through an instance fleet's capacity, and SageMaker "
            "documents no such steps for a serverless endpoint (endpoint.serving = "
            '"serverless"); use all-at-once',
        )
    else:
        low, high = STEP_LIMITS[strategy]
        step = table.integer("step_percent", 1, 100)
        if not low <= step <= high:
            raise table.fail(
                "step_percent",
                f"{step} % is outside SageMaker's {low}-{high} % for a {strategy} rollout",
            )
        if endpoint.instance_count < 2:
            raise table.fail(
                "strategy",
                f"a {strategy} rollout needs endpoint.instance_count >= 2 "
                f"(it is {endpoint.instance_count}); raise the count or use all-at-once",
            )
    rollout = Rollout(
        strategy=strategy,
        step_percent=step,
        wait_seconds=table.integer("wait_seconds", 0, 3600),
        termination_wait_seconds=table.integer("termination_wait_seconds", 0, 3600),
        max_execution_timeout_seconds=table.integer("max_execution_timeout_seconds", 600, 14400),
    )
    table.done()
    return rollout


_SERVING = re.compile(rf"^({INSTANCES}|{SERVERLESS})$")


def _endpoint(t: _Table) -> EndpointSettings:
    """[endpoint]: an instance fleet (the default), or serverless with only its own keys;
    a key of the other kind is refused naming both, not ignored."""
    serving = t.string("serving", _SERVING, SERVERLESS) if t.has("serving") else INSTANCES
    if serving == SERVERLESS:
        # "Some of the features currently available for SageMaker AI Real-time Inference are
        # not supported for Serverless Inference, including GPUs, ... data capture, multiple
        # production variants, Model Monitor"
        # (https://docs.aws.amazon.com/sagemaker/latest/dg/serverless-endpoints.html).
        for key, why in (
            ("instance_type", "has no instances"),
            ("instance_count", "has no instances"),
            ("data_capture_percent", "captures no data in SageMaker"),
        ):
            if t.has(key):
                raise t.fail(
                    key,
                    f'a serverless endpoint {why} (endpoint.serving = "serverless"); remove '
                    f'{key}, or serve on "instances"',
                )
        memory = t.integer("memory_size_mb", SERVERLESS_MEMORY_MB[0], SERVERLESS_MEMORY_MB[-1])
        if memory not in SERVERLESS_MEMORY_MB:
            sizes = ", ".join(map(str, SERVERLESS_MEMORY_MB))
            raise t.fail("memory_size_mb", f"{memory} is not a serverless memory size ({sizes})")
        endpoint = EndpointSettings(
            serving=SERVERLESS,
            memory_size_mb=memory,
            max_concurrency=t.integer("max_concurrency", 1, MAX_CONCURRENCY),
        )
    else:
        for key in ("memory_size_mb", "max_concurrency"):
            if t.has(key):
                raise t.fail(
                    key,
                    f'only a serverless endpoint takes {key} (endpoint.serving is "instances");'
                    ' remove it, or set serving = "serverless"',
                )
        endpoint = EndpointSettings(
            instance_type=t.string("instance_type", _INSTANCE_TYPE, "ml.m5.large"),
            instance_count=t.integer("instance_count", 1, 100),
            data_capture_percent=t.integer("data_capture_percent", 1, 100),
        )
    t.done()
    return endpoint


# A serverless endpoint's: SageMaker scales it, up to max_concurrency.
NO_AUTOSCALING = Autoscaling(False, 0, 0, 0, 0, 0)


def _autoscaling(table: _Table, endpoint: EndpointSettings) -> Autoscaling:
    if endpoint.serverless:
        if table.has("autoscaling"):
            # "Amazon SageMaker AI automatically scales in or out on-demand serverless
            # endpoints" (https://docs.aws.amazon.com/sagemaker/latest/dg/serverless-endpoints-autoscale.html).
            raise table.fail(
                "autoscaling",
                "SageMaker scales a serverless endpoint itself, up to endpoint.max_concurrency "
                '(endpoint.serving = "serverless"); remove [autoscaling]',
            )
        return NO_AUTOSCALING
    t = table.table("autoscaling")
    autoscaling = Autoscaling(
        enabled=t.boolean("enabled") if t.has("enabled") else True,
        min_capacity=t.integer("min_capacity", 1, 100),
        max_capacity=t.integer("max_capacity", 1, 100),
        invocations_per_instance=t.integer("invocations_per_instance", 1, 1_000_000),
        scale_in_cooldown_seconds=t.integer("scale_in_cooldown_seconds", 0, 86_400),
        scale_out_cooldown_seconds=t.integer("scale_out_cooldown_seconds", 0, 86_400),
    )
    if autoscaling.min_capacity > autoscaling.max_capacity:
        raise t.fail("min_capacity", "is above max_capacity")
    for key, outside in (
        ("min_capacity", endpoint.instance_count < autoscaling.min_capacity),
        ("max_capacity", endpoint.instance_count > autoscaling.max_capacity),
    ):
        if outside:
            raise t.fail(
                key,
                f"endpoint.instance_count {endpoint.instance_count} must lie within "
                f"{autoscaling.min_capacity}..{autoscaling.max_capacity} (min..max_capacity)",
            )
    t.done()
    return autoscaling


def _check_approval_policy(table: _Table, policy: Policy) -> None:
    """Approvals name a reviewed plan; one approver per team needs teams and enough people."""
    if policy.approvals_required and not policy.require_reviewed_plan:
        raise table.fail(
            "approvals_required",
            f"{policy.approvals_required} approval(s) of a plan need a reviewed plan to "
            "approve: set require_reviewed_plan = true (or approvals_required = 0)",
        )
    if len(set(policy.approver_teams)) != len(policy.approver_teams):
        raise table.fail("approver_teams", "names a team twice")
    if policy.one_approver_per_team:
        teams = len(policy.approver_teams)
        if not teams:
            raise table.fail("one_approver_per_team", "needs approver_teams (e.g. ['acme/leads'])")
        if policy.approvals_required < teams:
            raise table.fail(
                "one_approver_per_team",
                f"needs approvals_required >= {teams}, one approver for each of approver_teams "
                f"(it is {policy.approvals_required})",
            )


def _environment(name: str, table: _Table, serving: Serving) -> Environment:
    account = table.string("account", _ACCOUNT, "123456789012")
    region = table.string("region", _REGION, "us-east-1")
    if serving.framework == IMAGE:
        if (ecr_image_parts(serving.image) or {}).get("region") != region:
            raise table.fail(
                "region",
                f"{region!r} is not the region of [model] image {serving.image} (SageMaker "
                "serves a model only from an image in its own region)",
            )
    elif not has_serving_image(serving.framework, serving.version, region):
        raise table.fail(
            "region",
            f"{region!r} has no {serving.framework} {serving.version} serving image in "
            "images.json; change [model] or the region",
        )
    endpoint_url = (
        table.string("endpoint_url", _URL, "http://127.0.0.1:5123")
        if table.has("endpoint_url")
        else None
    )

    endpoint = _endpoint(table.table("endpoint"))
    rollout = _rollout(table.table("rollout"), endpoint)

    t = table.table("alarms")
    alarms = Alarms(
        error_5xx_count=t.integer("error_5xx_count", 1, 1_000_000),
        latency_p99_ms=t.integer("latency_p99_ms", 1, 3_600_000),
        evaluation_periods=t.integer("evaluation_periods", 1, 60),
    )
    t.done()

    autoscaling = _autoscaling(table, endpoint)

    t = table.table("artifacts")
    artifacts = ArtifactRetention(
        noncurrent_version_days=t.integer("noncurrent_version_days", 1, 3650),
        data_capture_days=t.integer("data_capture_days", 1, 3650),
        access_log_days=t.integer("access_log_days", 1, 3650),
    )
    t.done()

    monitoring: Monitoring | None = None
    if table.has("monitoring") and endpoint.serverless:
        raise table.fail(
            "monitoring",
            "Model Monitor needs data capture, which SageMaker Serverless Inference does not "
            'support (endpoint.serving = "serverless"); remove [monitoring], or serve on '
            '"instances"',
        )
    if table.has("monitoring"):
        t = table.table("monitoring")
        monitoring = Monitoring(
            schedule=t.string("schedule", _CRON, "cron(0 * ? * * *)"),
            instance_type=t.string("instance_type", _INSTANCE_TYPE, "ml.m5.large"),
            max_runtime_seconds=t.integer("max_runtime_seconds", 60, 86_400),
        )
        t.done()
        if not has_model_monitor_image(region):
            raise table.fail(
                "region",
                f"{region!r} has no Model Monitor image; remove [monitoring] or change region",
            )

    t = table.table("policy")
    policy = Policy(
        confirmation_required=t.boolean("confirmation_required"),
        allowed_refs=t.strings("allowed_refs", _GIT_REF, "refs/heads/main"),
        ci_green_required=t.boolean("ci_green_required"),
        promotion_from=(
            t.string("promotion_from", _ENV_NAME, "staging") if t.has("promotion_from") else None
        ),
        require_reviewed_plan=t.boolean("require_reviewed_plan"),
        plan_expiry_hours=t.integer("plan_expiry_hours", 1, 720),
        approvals_required=t.integer("approvals_required", 0, MAX_APPROVALS),
        rollback_approvals_required=t.integer("rollback_approvals_required", 0, MAX_APPROVALS),
        deployer_may_approve=t.boolean("deployer_may_approve"),
        approver_teams=t.strings(
            "approver_teams", _TEAM, "acme/release-managers", allow_empty=True
        ),
        one_approver_per_team=t.boolean("one_approver_per_team"),
        destroy_allowed=t.boolean("destroy_allowed"),
        refuse_drift=t.boolean("refuse_drift"),
        max_flip_percent=t.integer("max_flip_percent", 0, 100),
    )
    _check_approval_policy(t, policy)
    t.done()
    approvals: Approvals | None = None
    if table.has("approvals"):
        t = table.table("approvals")
        approvals = Approvals(
            reviewers=t.strings("reviewers", _REVIEWER, "acme/release-managers", allow_empty=True),
            wait_timer_minutes=t.integer("wait_timer_minutes", 0, 43_200),
            prevent_self_review=t.boolean("prevent_self_review"),
        )
        if len(approvals.reviewers) > 6:
            raise t.fail("reviewers", "GitHub allows at most 6 required reviewers")
        t.done()
    instance_types = [endpoint.instance_type] if endpoint.instance_type else []
    instance_types += [monitoring.instance_type] if monitoring else []
    encryption = _encryption(table, account, region, instance_types)
    bootstrap = _bootstrap(table.table("bootstrap"), account) if table.has("bootstrap") else None
    model = _model_source(table.table("model"), monitoring) if table.has("model") else ModelSource()
    table.done()
    return Environment(
        name=name,
        account=account,
        region=region,
        endpoint_url=endpoint_url,
        endpoint=endpoint,
        rollout=rollout,
        alarms=alarms,
        autoscaling=autoscaling,
        artifacts=artifacts,
        monitoring=monitoring,
        policy=policy,
        approvals=approvals,
        encryption=encryption,
        bootstrap=bootstrap,
        model=model,
    )


_S3_URI = re.compile(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/\S+$")
_S3_PREFIX = re.compile(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/(\S*/)?$")
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
# ModelPackageGroupName's pattern (CreateModelPackageGroup,
# https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateModelPackageGroup.html).
PACKAGE_GROUP = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
_PACKAGE_VERSION = re.compile(rf"^({LATEST_APPROVED}|[1-9][0-9]*)$")


def _model_source(t: _Table, monitoring: Monitoring | None) -> ModelSource:
    """[model]: each source's keys, and only those (an unknown or a foreign key is refused)."""
    kind = t.string("source", re.compile(rf"^({BUILD}|{ARTIFACT}|{PACKAGE})$"), PACKAGE)
    source = ModelSource(kind)
    if kind == PACKAGE:
        version = t._get("version", object, 'a version number or "latest-approved"')
        if isinstance(version, bool) or not _PACKAGE_VERSION.match(str(version)):
            raise t.fail("version", f"{version!r} is not a version number or {LATEST_APPROVED!r}")
        source = ModelSource(
            kind,
            group=t.string("group", PACKAGE_GROUP, "threat-models"),
            version=str(version),
            artifacts=t.string("artifacts", _S3_PREFIX, "s3://training-bucket/threat-models/"),
        )
    elif kind == ARTIFACT:
        uri = t.string("uri", _S3_URI, "s3://training-bucket/run-7/output/model.tar.gz")
        if not uri.endswith(".tar.gz"):
            raise t.fail("uri", f"{uri!r} is not a model.tar.gz (SageMaker serves a .tar.gz)")
        source = ModelSource(
            kind,
            uri=uri,
            sha256=t.string("sha256", _SHA256_HEX, "64 lowercase hex digits"),
            metrics=t.string("metrics", _S3_URI, "s3://training-bucket/run-7/evaluation.json"),
            baseline=(
                t.string("baseline", _S3_PREFIX, "s3://training-bucket/run-7/baseline/")
                if monitoring is not None or t.has("baseline")
                else ""
            ),
        )
    t.done()
    return source


_OIDC_PROVIDER = re.compile(
    r"^arn:aws:iam::(?P<account>\d{12}):oidc-provider/token\.actions\.githubusercontent\.com$"
)


def _bootstrap(t: _Table, account: str) -> Bootstrap:
    """[bootstrap]: the provider is created here or named by an ARN of this account (IAM
    has one provider per URL per account, and a role trusts a provider of its own account)."""
    provider = t.string("oidc_provider", re.compile(r"^(create|arn:.+)$"), "create")
    if provider != "create":
        found = _OIDC_PROVIDER.match(provider)
        if found is None:
            raise t.fail(
                "oidc_provider",
                f"{provider!r} is not a GitHub OIDC provider ARN (arn:aws:iam::<account>:"
                'oidc-provider/token.actions.githubusercontent.com); use "create" or that ARN',
            )
        if found["account"] != account:
            raise t.fail(
                "oidc_provider",
                f"the provider is in account {found['account']}, but the environment is "
                f"account {account}: a role trusts a provider of its own account only; use "
                '"create" or the ARN of this account\'s provider',
            )
    # At least the 9000 s the deploy and rollback workflows ask for (role-duration-seconds):
    # STS refuses a session longer than the role's MaxSessionDuration, 12 h at most.
    bootstrap = Bootstrap(oidc_provider=provider, session_hours=t.integer("session_hours", 3, 12))
    t.done()
    return bootstrap


def _encryption(table: _Table, account: str, region: str, instance_types: list[str]) -> Encryption:
    """`encryption = "s3"`, `"kms"` (a key the artifacts stack creates) or an existing key's
    ARN, which must be of the environment's own account and region."""
    value = table.string("encryption", re.compile(r"^(s3|kms|arn:.+)$"), "kms")
    if value == "s3":
        return Encryption("s3")
    for instance_type in instance_types:
        if _LOCAL_STORAGE.match(instance_type):
            raise table.fail(
                "encryption",
                f"{value!r} with instance type {instance_type!r}: SageMaker refuses a KMS key "
                "for instance types with local storage (they encrypt it themselves); use "
                'encryption = "s3" or an instance type without local storage',
            )
    if value == "kms":
        return Encryption("kms")
    found = _KMS_KEY_ARN.match(value)
    if found is None:
        raise table.fail(
            "encryption",
            f"{value!r} is not a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>); use "
            '"s3", "kms" or a key ARN',
        )
    if (found["region"], found["account"]) != (region, account):
        raise table.fail(
            "encryption",
            f"the key is in account {found['account']}, region {found['region']}, but the "
            f"environment is account {account}, region {region}: use a key of its own account "
            'and region, or "kms" to create one',
        )
    return Encryption("kms", value)


def _check_providers(environments: Mapping[str, Environment], path: Path) -> None:
    """IAM has one GitHub OIDC provider per account: one environment of an account creates
    it, the others name it (a second create would fail with EntityAlreadyExists)."""
    creators: dict[str, str] = {}
    for env in environments.values():
        if env.bootstrap is None or env.bootstrap.oidc_provider != "create":
            continue
        if env.account in creators:
            first = creators[env.account]
            raise ConfigError(
                f"{path.name}: environments.{env.name}.bootstrap.oidc_provider: {first} and "
                f"{env.name} share account {env.account}, which has one GitHub OIDC provider; "
                f'{first} creates it, so give {env.name} oidc_provider = "arn:aws:iam::'
                f'{env.account}:oidc-provider/token.actions.githubusercontent.com"'
            )
        creators[env.account] = env.name


def _check_promotions(environments: Mapping[str, Environment], path: Path) -> None:
    """promotion_from must name another environment, and the chain must not loop."""
    for env in environments.values():
        seen = [env.name]
        source = env.policy.promotion_from
        while source is not None:
            where = f"{path.name}: environments.{env.name}.policy.promotion_from"
            if source not in environments:
                raise ConfigError(f"{where}: {source!r} is not an environment in this file")
            if source in seen:
                raise ConfigError(f"{where}: promotion loops ({' -> '.join([*seen, source])})")
            seen.append(source)
            source = environments[source].policy.promotion_from


def parse(document: Mapping[str, Any], path: Path) -> Settings:
    """Validate an already-parsed document; `path` is only used in messages."""
    root = _Table(document, "", path)
    p = root.table("project")
    project = Project(
        name=p.string("name", _SLUG, "threat-detector"),
        deploy_confirm_variable=p.string(
            "deploy_confirm_variable", _ENV_VAR, "{{ cookiecutter.deploy_confirm_variable }}"
        ),
    )
    p.done()
    t = root.table("release")
    release = Release(
        environment=t.string("environment", _ENV_NAME, "prod"),
        branch=t.string("branch", _BRANCH, "main"),
        model_registry=t.boolean("model_registry"),
    )
    t.done()
    t = root.table("github")
    github = GitHubSettings(
        repository=t.string("repository", _REPOSITORY, "acme/threat-detector"),
        api_url=t.string("api_url", _API_URL, "https://api.github.com"),
        required_checks=t.strings("required_checks", _CHECK, "tests", allow_empty=True),
        timeout_seconds=t.integer("timeout_seconds", 1, 300),
    )
    t.done()
    t = root.table("governance")
    governance = Governance(
        required_approving_reviews=t.integer("required_approving_reviews", 0, 6),
        dismiss_stale_reviews=t.boolean("dismiss_stale_reviews"),
        require_code_owner_reviews=t.boolean("require_code_owner_reviews"),
        enforce_admins=t.boolean("enforce_admins"),
    )
    t.done()
    serving = _serving(root.table("model"))
    envs_table = root.table("environments")
    environments: dict[str, Environment] = {}
    for name in envs_table.names():
        if not _ENV_NAME.match(name):
            raise envs_table.fail(name, "environment names are 2-12 lowercase letters/digits")
        environments[name] = _environment(name, envs_table.table(name), serving)
    envs_table.done()
    root.done()
    if not environments:
        raise ConfigError(f"{path.name}: defines no [environments.<name>] table")
    _check_promotions(environments, path)
    _check_providers(environments, path)
    if release.environment not in environments:
        known = ", ".join(environments)
        raise ConfigError(
            f"{path.name}: release.environment: {release.environment!r} is not an environment "
            f"in this file ({known})"
        )
    return Settings(
        path=path,
        project=project,
        release=release,
        github=github,
        governance=governance,
        environments=environments,
        serving=serving,
    )


_FRAMEWORKS = ("sklearn", "xgboost", "pytorch", IMAGE)


def _serving(t: _Table) -> Serving:
    """[model]: a framework and a version images.json has, or "image" and a pinned URI."""
    framework = t.string("framework", re.compile(f"^({'|'.join(_FRAMEWORKS)})$"), "xgboost")
    if framework == IMAGE:
        example = "123456789012.dkr.ecr.us-east-1.amazonaws.com/repo@sha256:…"
        image = t.string("image", re.compile(r"^\S+$"), example)
        parts = ecr_image_parts(image) or {}
        # Pinned by digest, with no tag beside it: a tag can be moved to other bytes, a
        # digest cannot.
        if "digest" not in parts or "tag" in parts:
            raise t.fail("image", f"{image!r} is not valid (e.g. {example!r})")
        t.done()
        return Serving(framework, "", image)
    version = t.string("version", re.compile(r"^\S+$"), "1.7-1")
    known = framework_versions(framework)
    if version not in known:
        raise t.fail(
            "version",
            f"images.json has no {framework} serving image {version!r} (it has {', '.join(known)})",
        )
    t.done()
    return Serving(framework, version)


def read_toml(path: Path) -> dict[str, Any]:
    """A config file's document; a missing file or bad TOML is a one-line ConfigError."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: not found; run from the project root") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path.name}: not valid TOML: {error}") from None


def load(root: Path) -> Settings:
    """Read and validate the environments file of the project at root."""
    path = config_path(root)
    return parse(read_toml(path), path)
