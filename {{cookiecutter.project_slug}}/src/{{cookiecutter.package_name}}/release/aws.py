"""boto3 clients for one environment: region, endpoint URL, credentials and retries.

This is the only place where the embedded local AWS differs from real AWS: an environment
with an endpoint_url (the moto server) gets that URL and moto's throwaway credentials;
every other environment uses the normal credential chain (profile, SSO, OIDC in CI).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import boto3
import botocore.loaders
import botocore.session
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from ..config import Environment
from ..errors import AwsError, ConfigError

# Adaptive retries back off on throttling (CloudFormation's Describe* calls are throttled
# during long waits) instead of failing the deploy.
RETRIES = Config(
    retries={"mode": "adaptive", "max_attempts": 10},
    connect_timeout=5,
    read_timeout=60,
)
# The identity check is the first call of a deploy: fail fast when nothing answers.
QUICK = Config(retries={"mode": "standard", "max_attempts": 2}, connect_timeout=3)

_UNSIGNED = Config(signature_version=UNSIGNED, retries={"mode": "standard", "max_attempts": 2})
# moto accepts any credentials; fixed ones keep a developer's real keys out of local calls.
LOCAL_ACCESS_KEY = "testing"
# On the local AWS everyone is moto's one root user, unless this names someone else: an IAM
# user of the local AWS (made there on first use) with keys of their own, so STS tells
# people apart as it does in an account (to rehearse the two-person rule on a laptop).
LOCAL_USER = "LOCAL_AWS_USER"
_LOCAL_USER_NAME = re.compile(r"^[A-Za-z0-9+=,.@_-]{1,64}$")  # IAM's user name rule
# Or a role of the local AWS, by ARN (one `invoke bootstrap` made): a session of it, taken as
# CI takes it (AssumeRoleWithWebIdentity), to rehearse a CI deploy with CI's permissions.
LOCAL_ROLE = "LOCAL_AWS_ROLE"
_ROLE_ARN = re.compile(r"^arn:aws:iam::\d{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}$")


@dataclass(frozen=True)
class Aws:
    """Client factory bound to one environment: one client per service and config, made on
    first use (a SageMaker client costs about 80 ms to make; a deploy asks for it often)."""

    environment: Environment
    session: Any
    _clients: dict[tuple[str, int], Any] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def client(self, service: str, config: Config = RETRIES) -> Any:
        key = (service, id(config))  # the configs are the module's constants
        if key not in self._clients:
            self._clients[key] = self.session.client(
                service, endpoint_url=self.environment.endpoint_url, config=config
            )
        return self._clients[key]

    @property
    def is_local(self) -> bool:
        """The embedded local AWS (moto on loopback), not an AWS account."""
        return bool(self.environment.endpoint_url)

    @property
    def where(self) -> str:
        """For messages: the endpoint URL, or the account and region."""
        env = self.environment
        return env.endpoint_url or f"account {env.account} in {env.region}"


@cache
def _models() -> botocore.loaders.Loader:
    """botocore's service models, read once per process: they are data shipped with botocore,
    the same for every session (a new session would parse SageMaker's model again). The
    loader is the first session's own, made as botocore makes it (AWS_DATA_PATH honoured)."""
    loader: botocore.loaders.Loader = botocore.session.get_session().get_component("data_loader")
    return loader


def connect(environment: Environment, local_user: str | None = None) -> Aws:
    """A new session (its own credentials, resolved by the normal chain) per connect; the
    local AWS takes fixed credentials, so there one session and its clients serve every
    connect in a process (making a deploy's clients again costs about half a second).
    local_user (LOCAL_AWS_USER, or LOCAL_AWS_ROLE's ARN): on the local AWS only, act as
    that IAM user, or as a session of that role."""
    if environment.endpoint_url:
        root = _local(environment)
        if local_user and local_user.startswith("arn:"):
            return _local_role(environment, local_user)
        return _local_user(environment, local_user) if local_user else root
    return Aws(environment=environment, session=_session(environment.region))


def local_user_of(environ: Mapping[str, str]) -> str | None:
    """LOCAL_AWS_ROLE (a role ARN) or LOCAL_AWS_USER (an IAM user name), checked; None when
    neither is set."""
    role = environ.get(LOCAL_ROLE, "").strip()
    if role:
        if not _ROLE_ARN.match(role):
            raise ConfigError(
                f"{LOCAL_ROLE}={role!r} is not a role ARN; e.g. {LOCAL_ROLE}="
                "arn:aws:iam::123456789012:role/<project>-local-deploy (invoke bootstrap prints it)"
            )
        return role
    name = environ.get(LOCAL_USER, "").strip()
    if not name:
        return None
    if not _LOCAL_USER_NAME.match(name):
        raise ConfigError(
            f"{LOCAL_USER}={name!r} is not an IAM user name (letters, digits and +=,.@_-, "
            "at most 64); e.g. LOCAL_AWS_USER=alice"
        )
    return name


@cache
def _local(environment: Environment) -> Aws:
    return Aws(
        environment=environment,
        session=_session(
            environment.region,
            aws_access_key_id=LOCAL_ACCESS_KEY,
            aws_secret_access_key=LOCAL_ACCESS_KEY,
        ),
    )


def _local_user(environment: Environment, name: str) -> Aws:
    """The local AWS as IAM user `name`, made there if missing, with a new access key on
    every connect: the local AWS forgets its users when it stops or is reset, and a key it
    no longer knows would silently read as its root user, so keys are never kept."""
    iam = _local(environment).client("iam", QUICK)
    try:
        try:
            iam.create_user(UserName=name)
        except ClientError as error:
            if error_code(error) != "EntityAlreadyExists":
                raise
        for key in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]:
            iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])  # at most 2
        key = iam.create_access_key(UserName=name)["AccessKey"]
    except (BotoCoreError, ClientError) as error:
        raise AwsError(
            f"cannot act as {name} on the local AWS at {environment.endpoint_url}: "
            f"{one_line(error)}; start it with `invoke local-aws`"
        ) from None
    return _with_keys(environment, key)


def _with_keys(environment: Environment, keys: Mapping[str, Any]) -> Aws:
    """The local AWS with these keys (an IAM user's access key, or a role session's
    credentials with their session token)."""
    token = {"aws_session_token": str(keys["SessionToken"])} if "SessionToken" in keys else {}
    return Aws(
        environment=environment,
        session=_session(
            environment.region,
            aws_access_key_id=str(keys["AccessKeyId"]),
            aws_secret_access_key=str(keys["SecretAccessKey"]),
            **token,
        ),
    )


def _local_role(environment: Environment, role_arn: str) -> Aws:
    """A session of the role on the local AWS, taken with a web identity token as GitHub's
    OIDC gives CI one (the local AWS checks neither the token nor the role's trust: a test
    evaluates the trust policy itself)."""
    # Unsigned, as in CI: the web identity token is the only credential.
    sts = _local(environment).client("sts", _UNSIGNED)
    try:
        answer = sts.assume_role_with_web_identity(
            RoleArn=role_arn, RoleSessionName="local", WebIdentityToken="local-aws"
        )
    except (BotoCoreError, ClientError) as error:
        raise AwsError(
            f"cannot assume {role_arn} on the local AWS at {environment.endpoint_url}: "
            f"{one_line(error)}; run `invoke bootstrap --env {environment.name} --execute`"
        ) from None
    return _with_keys(environment, answer["Credentials"])


def _session(region: str, **credentials: str) -> Any:
    core = botocore.session.get_session()
    core.register_component("data_loader", _models())
    session = boto3.session.Session(region_name=region, botocore_session=core, **credentials)
    # boto3 appends its own data folder to the loader's search path per session: keep one.
    search = _models().search_paths
    search[:] = list(dict.fromkeys(search))
    return session


@dataclass(frozen=True)
class Caller:
    """Who the credentials in use are, as STS says (GetCallerIdentity)."""

    account: str
    principal: str  # the ARN: an IAM user, or an assumed role with its session name
    user_id: str  # the unique id (AIDA… for a user, AROA…:session for a role session)


def caller(aws: Aws) -> Caller:
    """The caller's identity; unreachable AWS or no credentials is one line."""
    try:
        identity = aws.client("sts", QUICK).get_caller_identity()
    except (BotoCoreError, ClientError) as error:
        hint = (
            "; start it with `invoke local-aws`"
            if aws.environment.endpoint_url
            else "; check your AWS credentials (aws sts get-caller-identity)"
        )
        raise AwsError(f"cannot reach AWS at {aws.where}: {one_line(error)}{hint}") from None
    return Caller(str(identity["Account"]), str(identity["Arn"]), str(identity["UserId"]))


def put_file(s3: Any, path: Path, bucket: str, key: str) -> None:
    """One PutObject for a small file (a bundle's files, a model's baselines): boto3's
    upload_file starts a transfer manager and its threads per call, which for a deploy's
    dozen small files cost more than the uploads. The model archive keeps upload_file,
    which goes multipart above 8 MB."""
    s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())


def one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text if len(text) <= 300 else text[:297] + "..."


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))
