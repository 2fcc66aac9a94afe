"""SageMaker Serverless Inference as AWS documents it, where moto accepts anything.

moto checks only a serverless variant's memory size. SageMaker refuses, and the local AWS
now refuses with it:

- an endpoint config that mixes a serverless variant with features Serverless Inference
  lacks: "Some of the features currently available for SageMaker AI Real-time Inference are
  not supported for Serverless Inference, including GPUs, AWS marketplace model packages,
  private Docker registries, Multi-Model Endpoints, VPC configuration, network isolation,
  data capture, multiple production variants, Model Monitor, and inference pipelines"
  (https://docs.aws.amazon.com/sagemaker/latest/dg/serverless-endpoints.html); the model's
  network isolation and VPC are judged where the config names the model, as moto already
  checks there that the model exists;
- MaxConcurrency outside 1..200, and ProvisionedConcurrency above it ("Should be less than or
  equal to MaxConcurrency",
  https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ProductionVariantServerlessConfig.html);
- an update of an instance endpoint to a serverless config: "If you try to update your
  real-time endpoint to serverless, you receive a ValidationError message" (the same page);
- a scalable target on a serverless variant other than its provisioned concurrency: "Set
  this value to sagemaker:variant:DesiredProvisionedConcurrency", and only "with Provisioned
  Concurrency"
  (https://docs.aws.amazon.com/sagemaker/latest/dg/serverless-endpoints-autoscale.html).

The rules are pure functions over the API's plain data; `install` wires the first two into
CreateEndpointConfig (the API and CloudFormation both reach it), the others are called by
the endpoint update and the scalable target.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from moto.sagemaker import models as sagemaker_models
from moto.sagemaker import responses as sagemaker_responses
from moto.sagemaker.exceptions import ValidationError

PROVISIONED_CONCURRENCY = "sagemaker:variant:DesiredProvisionedConcurrency"


def _serverless(variant: Mapping[str, Any]) -> Mapping[str, Any] | None:
    config = variant.get("ServerlessConfig") or variant.get("CurrentServerlessConfig")
    return config if isinstance(config, Mapping) and config else None


def config_problem(
    variants: Sequence[Mapping[str, Any]],
    data_capture: Mapping[str, Any] | None,
    models: Mapping[str, Any],
) -> str | None:
    """Why SageMaker refuses this endpoint config; None when it does not. models: model
    name -> moto's Model (for network isolation and VPC)."""
    serverless = [v for v in variants if _serverless(v)]
    if not serverless:
        return None
    variant = serverless[0]
    config = _serverless(variant) or {}
    maximum = int(config.get("MaxConcurrency", 0))
    provisioned = config.get("ProvisionedConcurrency")
    capture = data_capture or {}
    model = models.get(str(variant.get("ModelName")))
    problems = (
        (len(variants) > 1, "Serverless Inference does not support multiple production variants."),
        (
            bool(capture) and str(capture.get("EnableCapture", True)).lower() != "false",
            "Serverless Inference does not support data capture (DataCaptureConfig).",
        ),
        (
            bool(variant.get("InstanceType")),
            "A production variant takes InstanceType or ServerlessConfig, not both.",
        ),
        (
            not 1 <= maximum <= 200,
            f"Value '{maximum}' at 'MaxConcurrency' failed to satisfy constraint: 1..200.",
        ),
        (
            provisioned is not None and not 1 <= int(provisioned) <= maximum,
            f"ProvisionedConcurrency {provisioned} must be 1..MaxConcurrency ({maximum}).",
        ),
        (
            bool(getattr(model, "enable_network_isolation", False)),
            "Network isolation is not supported for Serverless Inference.",
        ),
        (
            bool(getattr(model, "vpc_config", None)),
            "VPC configuration is not supported for Serverless Inference.",
        ),
    )
    return next((message for refused, message in problems if refused), None)


def update_problem(
    endpoint: str, live: Sequence[Mapping[str, Any]], new: Sequence[Mapping[str, Any]]
) -> str | None:
    """Why SageMaker refuses to move this endpoint's variants to the new config."""
    before = {str(v["VariantName"]): v for v in live}
    for variant in new:
        old = before.get(str(variant["VariantName"]))
        if old is not None and _serverless(variant) and not _serverless(old):
            return (
                f"Cannot update endpoint {endpoint}: an instance-based endpoint cannot be "
                "updated to a serverless endpoint configuration."
            )
    return None


def target_problem(variant: Mapping[str, Any], dimension: str) -> str | None:
    """Why Application Auto Scaling refuses this target on this (existing) variant."""
    config = _serverless(variant)
    if config is None:
        return None
    if dimension != PROVISIONED_CONCURRENCY or not config.get("ProvisionedConcurrency"):
        return (
            f"Unsupported scalable dimension {dimension} for a serverless variant: only "
            f"{PROVISIONED_CONCURRENCY} of a variant with ProvisionedConcurrency scales."
        )
    return None


def _checked(create: Callable[..., Any]) -> Callable[..., Any]:
    def create_endpoint_config(self: Any, *args: Any, **kwargs: Any) -> Any:
        problem = config_problem(
            kwargs.get("production_variants") or [],
            kwargs.get("data_capture_config"),
            self._models,
        )
        if problem:
            raise ValidationError(message=problem)
        return create(self, *args, **kwargs)

    return create_endpoint_config


def _isolation_kept(create: Any) -> Callable[..., Any]:
    """moto's CloudFormation drops a Model's EnableNetworkIsolation (its Model is never
    isolated); CloudFormation passes it to CreateModel."""

    def create_from_cloudformation_json(cls: Any, *args: Any, **kwargs: Any) -> Any:
        model = create(*args, **kwargs)
        cloudformation_json = kwargs.get("cloudformation_json", args[1] if len(args) > 1 else {})
        properties = (cloudformation_json or {}).get("Properties") or {}
        isolated = str(properties.get("EnableNetworkIsolation", False)).lower() == "true"
        model.enable_network_isolation = isolated
        return model

    return create_from_cloudformation_json


def _isolation_kept_by_api(create_model: Callable[..., Any]) -> Callable[..., Any]:
    """moto's CreateModel drops EnableNetworkIsolation too."""

    def create(self: Any) -> Any:
        result = create_model(self)
        model = self.sagemaker_backend._models[self._get_param("ModelName")]
        model.enable_network_isolation = bool(self._get_param("EnableNetworkIsolation"))
        return result

    return create


def install() -> None:
    """Called once by cloudformation.install."""
    backend: Any = sagemaker_models.SageMakerModelBackend
    backend.create_endpoint_config = _checked(backend.create_endpoint_config)
    model: Any = sagemaker_models.Model
    model.create_from_cloudformation_json = classmethod(
        _isolation_kept(model.create_from_cloudformation_json)
    )
    response: Any = sagemaker_responses.SageMakerResponse
    response.create_model = _isolation_kept_by_api(response.create_model)
