"""What an environment serves, read from SageMaker, and which record describes it.

The newest successful record is not what is live: a deploy whose CloudFormation succeeded
and whose verify or a later stack failed leaves its model serving, and SageMaker's
deployment guardrails roll an endpoint back on an alarm ("If any of the pre-specified alarms
trip during any baking period, then all endpoint traffic rolls back to the blue fleet",
https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-blue-green.html), so
the endpoint can serve its previous config while CloudFormation holds the new template.
So the live state is read from the endpoint (its EndpointConfig, the Model that config
names, the artifact that Model reads), every execute records what it left live, and the
live record is the newest record whose recorded state matches what SageMaker says now.
The matching rules are pure functions over plain data.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from ..bucket_layout import MODELS_PREFIX
from ..errors import AwsError
from ..naming import SERVING
from .aws import error_code, one_line
from .ledger import DeployRecord

_MODEL_URL = re.compile("/" + MODELS_PREFIX + r"([0-9a-f]{64})/model\.tar\.gz$")


@dataclass(frozen=True)
class LiveState:
    """An endpoint's config and the model sha256 it serves ("" when that cannot be told: the
    config is gone, or its model reads no artifact of ours)."""

    endpoint_config: str
    model_sha256: str = ""

    def matches(self, other: LiveState) -> bool:
        """Same config (SageMaker spells names in ARNs lowercased: compared casefolded) and,
        where both know it, the same model."""
        if self.endpoint_config.casefold() != other.endpoint_config.casefold():
            return False
        known = self.model_sha256 and other.model_sha256
        return not known or self.model_sha256 == other.model_sha256

    def as_record(self) -> dict[str, str]:
        return {"endpoint_config": self.endpoint_config, "model_sha256": self.model_sha256}


def left_live(record: DeployRecord) -> LiveState | None:
    """What the environment served when the record's execute ended; None when unknown.

    Records from before the `live` field: a success left its own config and model live.
    """
    if record.live.get("endpoint_config"):
        return LiveState(record.live["endpoint_config"], record.live.get("model_sha256", ""))
    if record.succeeded and record.endpoint.get("config"):
        return LiveState(record.endpoint["config"], record.model_sha256)
    return None


def changed_serving(record: DeployRecord) -> bool:
    """Whether the record's execute left its serving template in place: it succeeded, or its
    serving stack's change set completed before something later failed (verify, the smoke
    call, the monitoring stack). A serving stack that failed was rolled back by CloudFormation
    to the template before, so what serves then is an earlier record's."""
    if record.succeeded:
        return True
    return any(name.endswith(f"-{SERVING}") for name in record.change_sets)


def live_record(records: Sequence[DeployRecord], live: LiveState | None) -> DeployRecord | None:
    """The newest record (newest first) that left `live` serving with its own templates; None
    when the endpoint is absent or serves what no record made (a change outside the
    pipeline)."""
    if live is None:
        return None
    for record in records:
        state = left_live(record)
        if state is not None and state.matches(live) and changed_serving(record):
            return record
    return None


def read_live(sagemaker: Any, endpoint: str) -> LiveState | None:
    """The endpoint's live state; None when the endpoint does not exist."""
    try:
        described = sagemaker.describe_endpoint(EndpointName=endpoint)
    except ClientError as error:
        if _missing(error):
            return None
        raise AwsError(f"cannot read endpoint {endpoint}: {one_line(error)}") from None
    config_name = str(described["EndpointConfigName"])
    try:
        config = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
        model = sagemaker.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    except ClientError as error:
        if _missing(error):  # replaced and deleted by CloudFormation after SageMaker moved on
            return LiveState(config_name)
        raise AwsError(f"cannot read endpoint {endpoint}: {one_line(error)}") from None
    found = _MODEL_URL.search(str(model.get("PrimaryContainer", {}).get("ModelDataUrl", "")))
    return LiveState(config_name, found.group(1) if found else "")


def _missing(error: ClientError) -> bool:
    # SageMaker answers a missing endpoint, config or model with ValidationException
    # "Could not find ..." (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DescribeEndpoint.html).
    return error_code(error) == "ValidationException" and "Could not find" in str(error)
