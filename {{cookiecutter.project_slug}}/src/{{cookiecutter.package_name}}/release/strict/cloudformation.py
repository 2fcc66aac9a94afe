"""CloudFormation as AWS runs it, on top of moto's: change-set rules, replacement, events, rollback.

moto's CloudFormation applies any change set at once, computes no replacement, never rolls
back and reports only stack-level events. `install()` replaces the parts the deploy engine
depends on, each from AWS's documentation:

- CreateChangeSet: "You can't use the UPDATE type to create a change set for a new stack
  or the CREATE type to create a change set for an existing stack"; a stack made by a
  CREATE change set stays REVIEW_IN_PROGRESS until one is executed, and takes CREATE
  change sets only: an UPDATE is answered "Stack [name] does not exist"
  (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateChangeSet.html,
  and aws/aws-cdk#7731). A stack in ROLLBACK_COMPLETE and the other stuck states takes none
  ("Stack:<id> is in ROLLBACK_COMPLETE state and can not be updated."). A resource type the
  registry does not know fails the template.
- The change set's rows say Replacement True/False/Conditional, decided by the registry
  schemas' createOnlyProperties and carried through Ref/GetAtt, with Scope and Details
  (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ResourceChange.html).
- ExecuteChangeSet works resource by resource in dependency waves, with an event per
  resource. A custom-named resource that must be replaced under the same name fails with
  "CloudFormation cannot update a stack when a custom-named resource requires replacing.
  Rename <name> and update the stack again."
  (https://repost.aws/knowledge-center/cloudformation-custom-name). A failed update goes
  UPDATE_ROLLBACK_IN_PROGRESS -> UPDATE_ROLLBACK_COMPLETE with the resources as they were
  (UPDATE_ROLLBACK_FAILED when the rollback fails); a failed first create goes
  ROLLBACK_IN_PROGRESS -> ROLLBACK_COMPLETE with its resources deleted
  (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/view-stack-events.html).
  Executing deletes every other change set of the stack ("they aren't valid for the updated
  stack", https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ExecuteChangeSet.html).
  Only a change set that is CREATE_COMPLETE and AVAILABLE executes.
- ListChangeSets lists the named stack's change sets only.
- SageMaker: custom names (EndpointName, ...) are honoured, not replaced by generated ones;
  the physical ids (Ref) of models, endpoint configs and endpoints are their ARNs
  with the name lowercased, as SageMaker returns ARNs (observed, e.g. boto/boto3#4606);
  an endpoint update that changes the instance type of a variant registered with
  Application Auto Scaling fails ("If the update would change the instance type for any
  model that is a target for auto scaling, the update fails",
  https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-scaling-update.html), and so does
  one that makes an instance endpoint serverless, or a serverless config SageMaker refuses
  (serverless.py).
- A JSON template is read as JSON. moto reads every template, JSON ones too, with PyYAML's
  pure-Python loader (about 90 ms for one of ours, 49 times in a two-deploy test); JSON is
  YAML, so what moto then sees is the same, and CloudFormation itself takes "JSON or YAML"
  (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/template-formats.html).
"""

from __future__ import annotations

import contextlib
import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from moto.cloudformation import models as cfn_models
from moto.cloudformation import parsing
from moto.cloudformation import responses as cfn_responses
from moto.cloudformation.exceptions import (
    AlreadyExistsException,
    CloudFormationError,
    ValidationError,
)
from moto.cloudformation.models import Change, ChangeSet, CloudFormationBackend, Event, Stack
from moto.cloudformation.utils import generate_changeset_id, validate_create_change_set
from moto.iam import models as iam_models
from moto.kms import models as kms_models
from moto.s3 import models as s3_models
from moto.sagemaker import models as sagemaker_models
from moto.sagemaker import responses as sagemaker_responses

from .. import schemas
from . import resources, serverless
from .faults import FAULTS, ResourceFailed

CUSTOM_NAME_REPLACEMENT = (
    "CloudFormation cannot update a stack when a custom-named resource requires replacing. "
    "Rename {name} and update the stack again."
)
AUTOSCALED_INSTANCE_TYPE = (
    "The endpoint {endpoint} variant {variant} is registered with Application Auto Scaling; "
    "an update that changes its instance type ({old} -> {new}) fails: delete its scaling "
    "policies and deregister the scalable target first, then register it again"
)
# Stack states in which CloudFormation accepts no change set until someone acts.
_STUCK = {"ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "CREATE_FAILED", "DELETE_FAILED"}
_STUCK_UPDATE = {"UPDATE_ROLLBACK_FAILED"}


class InvalidChangeSetStatus(CloudFormationError):
    code = "InvalidChangeSetStatus"

    def __init__(self, change_set_id: str, status: str) -> None:
        super().__init__(
            f"ChangeSet [{change_set_id}] cannot be executed in its current status of [{status}]"
        )


@dataclass(frozen=True)
class _Failed(Exception):
    """A resource failed while moto provisioned it."""

    logical_id: str
    reason: str


_PYYAML: Any = vars(cfn_models)["yaml"]  # PyYAML, as moto's CloudFormation imported it


class _JsonFirst:
    """PyYAML as moto's CloudFormation uses it, except that a JSON template is read as JSON."""

    def __getattr__(self, name: str) -> Any:
        return getattr(_PYYAML, name)

    @staticmethod
    def load(stream: Any, Loader: Any) -> Any:  # the keyword moto passes
        if isinstance(stream, str | bytes):
            with contextlib.suppress(ValueError):
                return json.loads(stream)
        return _PYYAML.load(stream, Loader=Loader)


def install() -> None:
    """Make moto's CloudFormation (and the SageMaker parts it drives) strict. Idempotent.

    Each patch replaces one moto method with the behaviour described above; the classes
    are handled as Any because this is monkeypatching by design.
    """
    backend: Any = CloudFormationBackend
    if getattr(backend, "strict_installed", False):
        return
    backend.strict_installed = True
    for module in (cfn_models, cfn_responses):
        setattr(module, "yaml", _JsonFirst())  # noqa: B010  (monkeypatching by design)
    moto_parsing: Any = parsing
    response: Any = cfn_responses.CloudFormationResponse
    resource_map: Any = parsing.ResourceMap
    models: tuple[Any, ...] = (
        sagemaker_models.Model,
        sagemaker_models.FakeEndpointConfig,
        sagemaker_models.FakeEndpoint,
    )
    # moto gives SageMaker resources generated names whatever the template says; real
    # CloudFormation honours ModelName, EndpointConfigName and EndpointName.
    for model, name_property in zip(
        models, ("ModelName", "EndpointConfigName", "EndpointName"), strict=True
    ):
        model.cloudformation_name_type = staticmethod(lambda name=name_property: name)
        model.physical_resource_id = property(_lowercase_arn)
        # moto deletes a stack's resources by physical id; ours are lowercased: by name.
        model.delete = _delete_by_name
    models[2].update_from_cloudformation_json = classmethod(_update_endpoint)
    serverless.install()
    key: Any = kms_models.Key
    key.create_from_cloudformation_json = _key_tags(key.create_from_cloudformation_json)
    role: Any = iam_models.Role
    role.create_from_cloudformation_json = _policies_as_json(role.create_from_cloudformation_json)
    role.update_from_cloudformation_json = _policies_as_json(role.update_from_cloudformation_json)
    bucket: Any = s3_models.FakeBucket
    bucket.create_from_cloudformation_json = _versioned(bucket.create_from_cloudformation_json)
    bucket.update_from_cloudformation_json = _versioned(bucket.update_from_cloudformation_json)
    sagemaker_response: Any = sagemaker_responses.SageMakerResponse
    sagemaker_response.update_endpoint = _update_endpoint_call
    for function in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        function.cache_clear()  # the resource types in resources.py register on import
    assert all(t.cloudformation_type() in parsing.get_model_map() for t in resources.TYPES)
    backend.create_change_set = _create_change_set(backend.create_change_set)
    backend.execute_change_set = _execute_change_set
    response.list_change_sets = _list_change_sets
    response._get_param = _update_by_default(response._get_param)
    resource_map.build_resource_diff = _with_reference_changes(resource_map.build_resource_diff)
    resource_map.update = _update_in_waves
    _forget_deleted_resources(resource_map)
    moto_parsing.parse_and_create_resource = _naming_failures(parsing.parse_and_create_resource)
    moto_parsing.parse_and_update_resource = _naming_failures(
        _replacing_first(parsing.parse_and_update_resource, parsing.parse_and_create_resource)
    )


def _lowercase_arn(resource: Any) -> str:
    # moto keeps an endpoint config's ARN in endpoint_config_arn (its .arn is a 1-tuple).
    arn = getattr(resource, "endpoint_config_arn", None) or resource.arn
    return str(arn).lower()


def _delete_by_name(resource: Any, account_id: str, region_name: str) -> None:
    backend = sagemaker_models.sagemaker_backends[account_id][region_name]
    if isinstance(resource, sagemaker_models.Model):
        backend._models.pop(resource.model_name, None)
    elif isinstance(resource, sagemaker_models.FakeEndpointConfig):
        backend.endpoint_configs.pop(resource.endpoint_config_name, None)
    else:
        backend.endpoints.pop(resource.endpoint_name, None)


def _live_stack(backend: CloudFormationBackend, name: str) -> Stack | None:
    for stack in backend.stacks.values():
        if stack.name == name and stack.status != "DELETE_COMPLETE":
            return stack
    return None


def _parse(template: str) -> dict[str, Any]:
    parsed: dict[str, Any] = Stack.parse_template(template)
    return parsed


def _create_change_set(original: Callable[..., tuple[str, str]]) -> Callable[..., tuple[str, str]]:
    def create_change_set(self: CloudFormationBackend, **call: Any) -> tuple[str, str]:
        """moto's own keywords (stack_name, change_set_name, template, parameters,
        description, change_set_type, notification_arns, tags, role_arn), passed on."""
        stack_name, change_set_name = str(call["stack_name"]), str(call["change_set_name"])
        template, change_set_type = str(call["template"]), str(call["change_set_type"])
        validate_create_change_set(change_set_name)
        live = _live_stack(self, stack_name)
        reviewing = live is not None and live.status == "REVIEW_IN_PROGRESS"
        if change_set_type == "UPDATE":
            if live is None or reviewing:
                raise ValidationError(message=f"Stack [{stack_name}] does not exist")
            if live.status in _STUCK | _STUCK_UPDATE or live.status.endswith("_IN_PROGRESS"):
                raise ValidationError(
                    message=f"Stack:{live.stack_id} is in {live.status} state and can not be "
                    "updated."
                )
        elif live is not None and not reviewing:
            raise AlreadyExistsException(
                f"Stack [{stack_name}] already exists and cannot be created again with the "
                f"changeSet [{change_set_name}]."
            )
        if live is not None and any(
            cs.stack_id == live.stack_id and cs.change_set_name == change_set_name
            for cs in self.change_sets.values()
        ):
            raise AlreadyExistsException(f"ChangeSet [{change_set_name}] already exists")
        new_template = _parse(template)
        unknown = sorted(
            {
                str(resource.get("Type"))
                for resource in new_template.get("Resources", {}).values()
                if not str(resource.get("Type", "")).startswith("Custom::")
                and not schemas.facts(str(resource.get("Type"))).known
            }
        )
        if unknown:
            listed = ", ".join(unknown)
            raise ValidationError(
                message=f"Template format error: Unrecognized resource types: [{listed}]"
            )
        if reviewing:
            assert live is not None
            change_set_id = generate_changeset_id(
                change_set_name, self.region_name, self.account_id
            )
            change_set = ChangeSet(
                change_set_type="CREATE",
                change_set_id=change_set_id,
                change_set_name=change_set_name,
                stack=live,
                template=template,
                parameters=call["parameters"],
                description=call["description"],
                notification_arns=call.get("notification_arns"),
                tags=call.get("tags"),
                role_arn=call.get("role_arn"),
            )
            change_set.status, change_set.execution_status = "CREATE_COMPLETE", "AVAILABLE"
            self.change_sets[change_set_id] = change_set
            stack_id = live.stack_id
        else:
            change_set_id, stack_id = original(self, **call)
            change_set = self.change_sets[change_set_id]
        if change_set.change_set_type == "UPDATE" and change_set.status == "CREATE_COMPLETE":
            _annotate(change_set, change_set.stack.template_dict, new_template)
        return change_set_id, stack_id

    return create_change_set


def _annotate(change_set: ChangeSet, old: dict[str, Any], new: dict[str, Any]) -> None:
    """Replacement, Scope and Details on each Modify row; rows for resources that change
    only because something they refer to is replaced (moto compares raw JSON)."""
    rows: dict[str, Any] = {change.logical_resource_id: change for change in change_set.changes}
    for update in schemas.stack_updates(old, new):
        row: Any = rows.get(update.logical_id)
        if row is None:
            row = Change("Modify", update.logical_id, update.resource_type)
            change_set.changes.append(row)
        static = schemas.update_of(
            update.logical_id,
            old["Resources"][update.logical_id],
            new["Resources"][update.logical_id],
        )
        row.replacement = (
            "True" if static.replaces else "Conditional" if update.replaces else "False"
        )
        row.scope = ["Properties"]
        create_only = {path[0] for path in schemas.facts(update.resource_type).create_only}
        row.details = [
            {
                "Target": {
                    "Attribute": "Properties",
                    "Name": name,
                    "RequiresRecreation": "Always" if name in create_only else "Never",
                },
                "Evaluation": "Static" if name in static.changed else "Dynamic",
                "ChangeSource": "DirectModification"
                if name in static.changed
                else "ResourceReference",
            }
            for name in update.changed
        ]


def _update_by_default(get_param: Callable[..., Any]) -> Callable[..., Any]:
    """ChangeSetType defaults to UPDATE ("By default, CloudFormation specifies UPDATE",
    API_CreateChangeSet.html); moto's default is CREATE."""

    def get(self: Any, param_name: str, if_none: Any = None) -> Any:
        if param_name == "ChangeSetType":
            if_none = "UPDATE"
        return get_param(self, param_name, if_none)

    return get


def _list_change_sets(self: Any) -> Any:
    from moto.core.responses import ActionResult

    stack_name = self._get_param("StackName")
    backend = self.cloudformation_backend
    change_sets = [
        cs
        for cs in backend.list_change_sets()
        if stack_name in (cs.stack_name, cs.stack_id) and cs.stack.status != "DELETE_COMPLETE"
    ]
    return ActionResult({"Summaries": change_sets})


def _forget_deleted_resources(resource_map: Any) -> None:
    """moto keeps a removed resource in the stack's map, so adding the same logical id back
    later finds the deleted one instead of creating it again."""
    delete_resource = resource_map._delete_resource
    get_item = resource_map.__getitem__

    def _delete_resource(self: Any, parsed_resource: Any, resource_json: Any) -> None:
        delete_resource(self, parsed_resource, resource_json)
        with contextlib.suppress(AttributeError, TypeError):
            parsed_resource.strict_deleted = True

    def __getitem__(self: Any, key: str) -> Any:
        if getattr(self._parsed_resources.get(key), "strict_deleted", False):
            del self._parsed_resources[key]
        return get_item(self, key)

    resource_map._delete_resource = _delete_resource
    resource_map.__getitem__ = __getitem__


def _with_reference_changes(diff: Callable[..., Any]) -> Callable[..., Any]:
    """moto updates only resources whose JSON changed; CloudFormation also updates those
    that refer to a replaced resource (an Endpoint whose EndpointConfig is replaced)."""

    def build_resource_diff(
        self: Any, other_template: dict[str, Any], parameters: Any = None
    ) -> dict[str, list[str]]:
        changes: dict[str, list[str]] = diff(self, other_template, parameters)
        current = {"Resources": self._resource_json_map}
        for update in schemas.stack_updates(current, other_template):
            if update.logical_id not in changes["Modify"]:
                changes["Modify"].append(update.logical_id)
        return changes

    return build_resource_diff


def _update_in_waves(
    self: Any, template: dict[str, Any], parameters: dict[str, Any] | None = None
) -> None:
    """An update in CloudFormation's order: adds and modifies together, each resource after
    what it depends on, then the removals ("CloudFormation creates resources in parallel
    where it can", https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-dependson.html;
    old resources go in the cleanup phase, after the updates,
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stack-failure-options.html).
    moto removes first, then adds everything, then modifies: a new scalable target was
    registered before the endpoint it names was updated, and a removed one was gone before
    the endpoint update that SageMaker would refuse while it is still registered."""
    by_action = self.build_resource_diff(template, parameters)
    old_json = dict(self._resource_json_map)
    self._template = template
    if parameters:
        self.input_parameters = parameters
    self.load_mapping()
    self.load_parameters()
    self.load_conditions()
    self._resource_json_map = template["Resources"]
    for wave in schemas.waves(template["Resources"]):
        for logical_id in wave:
            if logical_id in by_action["Add"]:
                _ = self[logical_id]  # moto provisions a resource on first access
            elif logical_id in by_action["Modify"]:
                self._parsed_resources[logical_id] = parsing.parse_and_update_resource(
                    logical_id,
                    template["Resources"][logical_id],
                    self,
                    account_id=self._account_id,
                    region_name=self._region_name,
                )
    removals = [name for name in by_action["Remove"] if name in self._parsed_resources]
    for wave in reversed(schemas.waves({name: old_json[name] for name in removals})):
        for logical_id in wave:
            # A resource that fails to delete in the cleanup is left behind; the update has
            # already succeeded (as _clean_up_superseded treats replaced resources).
            with contextlib.suppress(Exception):
                self._delete_resource(self._parsed_resources[logical_id], old_json[logical_id])


def _naming_failures(
    provision: Callable[..., Any],
) -> Callable[..., Any]:
    """Tag an error raised while provisioning a resource with its logical id."""

    def provision_named(logical_id: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return provision(logical_id, *args, **kwargs)
        except _Failed:
            raise
        except Exception as error:
            raise _Failed(logical_id, _reason(error)) from error

    return provision_named


def _reason(error: Exception) -> str:
    message = getattr(error, "message", None) or str(error) or type(error).__name__
    return " ".join(str(message).split())


# During one execution: the logical ids being replaced, and the old resources they
# superseded, deleted once the update succeeds (CloudFormation's cleanup phase) and kept
# when it fails (the rollback returns to them).
_REPLACING: set[str] = set()
_SUPERSEDED: list[tuple[Any, Any, dict[str, Any]]] = []  # (resource map, resource, json)


def _replacing_first(update: Callable[..., Any], create: Callable[..., Any]) -> Callable[..., Any]:
    """Replace the way CloudFormation does: the new resource first (a new physical id or
    name), the old one at cleanup. moto updates in place or deletes first, which breaks on a
    rename and leaves nothing to roll back to when the create fails."""

    def update_or_replace(
        logical_id: str,
        resource_json: dict[str, Any],
        resources_map: Any,
        account_id: str,
        region_name: str,
    ) -> Any:
        if logical_id not in _REPLACING:
            return update(logical_id, resource_json, resources_map, account_id, region_name)
        original = resources_map._parsed_resources.get(logical_id)
        old_json = _OLD_RESOURCES.get(logical_id, resource_json)
        created = create(logical_id, resource_json, resources_map, account_id, region_name)
        if original is not None:
            _SUPERSEDED.append((resources_map, original, old_json))
        return created

    return update_or_replace


_OLD_RESOURCES: dict[str, Any] = {}


def _clean_up_superseded() -> None:
    while _SUPERSEDED:
        resources_map, resource, resource_json = _SUPERSEDED.pop(0)
        with contextlib.suppress(Exception):  # already gone: nothing to clean up
            resources_map._delete_resource(resource, copy.deepcopy(resource_json))


def _update_endpoint(
    cls: Any,
    *,
    original_resource: Any,
    new_resource_name: str,
    cloudformation_json: dict[str, Any],
    account_id: str,
    region_name: str,
) -> Any:
    """UpdateEndpoint: the same endpoint moves to the new config (moto deletes and creates).

    With RetainAllVariantProperties the live instance counts and weights stay; an instance
    type change on a variant registered with Application Auto Scaling fails.
    """
    backend = sagemaker_models.sagemaker_backends[account_id][region_name]
    properties = cloudformation_json.get("Properties") or {}
    new = backend.endpoint_configs.get(str(properties.get("EndpointConfigName")))
    if new is None:
        raise ResourceFailed(
            f"Could not find endpoint configuration {properties.get('EndpointConfigName')!r}."
        )
    old = backend.endpoint_configs.get(original_resource.endpoint_config_name)
    problem = serverless.update_problem(
        original_resource.endpoint_name,
        old.production_variants if old else [],
        new.production_variants,
    )
    if problem:
        raise ResourceFailed(problem)
    before = {v["VariantName"]: v for v in (old.production_variants if old else [])}
    for variant in new.production_variants:
        name, instance_type = variant["VariantName"], variant.get("InstanceType")
        previous = before.get(name, {}).get("InstanceType", instance_type)
        if previous != instance_type and resources.registered_target(
            account_id, region_name, original_resource.endpoint_name, name
        ):
            raise ResourceFailed(
                AUTOSCALED_INSTANCE_TYPE.format(
                    endpoint=original_resource.endpoint_name,
                    variant=name,
                    old=previous,
                    new=instance_type,
                )
            )
    live = {v["VariantName"]: v for v in original_resource.production_variants}
    variants = original_resource._process_production_variants(new.production_variants)
    if str(properties.get("RetainAllVariantProperties", "false")).lower() == "true":
        for variant in variants:
            kept = live.get(variant["VariantName"], {})
            for key in (
                "CurrentInstanceCount",
                "DesiredInstanceCount",
                "CurrentWeight",
                "DesiredWeight",
            ):
                if key in kept:
                    variant[key] = kept[key]
    original_resource.endpoint_config_name = new.endpoint_config_name
    original_resource.production_variants = variants
    original_resource.data_capture_config = new.data_capture_config
    original_resource.tags = properties.get("Tags", [])
    return original_resource


def _key_tags(original: Callable[..., Any]) -> Callable[..., Any]:
    """AWS::KMS::Key's Tags are Key/Value pairs, as every resource's are
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-kms-key.html);
    moto passes them to KMS's CreateKey, whose tags are TagKey/TagValue, and fails on the
    first one with KeyError 'TagKey'."""

    def create(*args: Any, **kwargs: Any) -> Any:
        resource_name, cloudformation_json, *rest = args
        document = copy.deepcopy(cloudformation_json)
        properties = document.setdefault("Properties", {})
        properties["Tags"] = [
            {"TagKey": tag["Key"], "TagValue": tag["Value"]} for tag in properties.get("Tags", [])
        ]
        return original(resource_name, document, *rest, **kwargs)

    return create


def _versioned(original: Callable[..., Any]) -> Callable[..., Any]:
    """moto creates and updates a bucket without its VersioningConfiguration; CloudFormation
    sets it (Status Enabled or Suspended,
    https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-s3-bucket-versioningconfiguration.html),
    and the ledger counts on it: an overwritten or deleted record stays as a version."""

    def apply(*args: Any, **kwargs: Any) -> Any:
        bucket = original(*args, **kwargs)
        cloudformation_json = kwargs.get("cloudformation_json", args[1] if len(args) > 1 else {})
        properties = (cloudformation_json or {}).get("Properties") or {}
        status = (properties.get("VersioningConfiguration") or {}).get("Status")
        if status in {"Enabled", "Suspended"}:
            bucket.versioning_status = status
        return bucket

    return apply


def _policies_as_json(original: Callable[..., Any]) -> Callable[..., Any]:
    """moto's CloudFormation puts an AWS::IAM::Role's inline Policies as Python's repr of
    the document, which GetRolePolicy then returns and no JSON reader can parse; IAM keeps
    (and returns, URL-encoded) the JSON document
    (https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetRolePolicy.html)."""

    def apply(*args: Any, **kwargs: Any) -> Any:
        found = [a for a in (*args, *kwargs.values()) if isinstance(a, dict) and "Properties" in a]
        for cloudformation_json in found:
            for policy in (cloudformation_json["Properties"] or {}).get("Policies") or []:
                if isinstance(policy.get("PolicyDocument"), dict):
                    policy["PolicyDocument"] = json.dumps(policy["PolicyDocument"])
        return original(*args, **kwargs)

    return apply


def _update_endpoint_call(self: Any) -> Any:
    """SageMaker's UpdateEndpoint API, which moto lacks: the endpoint moves to the named
    config by the same rules as CloudFormation's update (above), tags untouched; a config
    or endpoint that does not exist is a ValidationException "Could not find ..."
    (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_UpdateEndpoint.html)."""
    from moto.core.responses import ActionResult
    from moto.sagemaker.exceptions import ValidationError as SageMakerValidationError

    backend = self.sagemaker_backend
    name = self._get_param("EndpointName")
    endpoint = backend.endpoints.get(name)
    if endpoint is None:
        raise SageMakerValidationError(message=f"Could not find endpoint '{name}'.")
    properties = {
        "EndpointConfigName": self._get_param("EndpointConfigName"),
        "RetainAllVariantProperties": self._get_param("RetainAllVariantProperties", False),
        "Tags": endpoint.tags,
    }
    try:
        _update_endpoint(
            type(endpoint),
            original_resource=endpoint,
            new_resource_name=name,
            cloudformation_json={"Properties": properties},
            account_id=backend.account_id,
            region_name=backend.region_name,
        )
    except ResourceFailed as failure:
        raise SageMakerValidationError(message=str(failure)) from None
    return ActionResult({"EndpointArn": endpoint.arn})


# --- ExecuteChangeSet ------------------------------------------------------------------


@dataclass(frozen=True)
class _Step:
    logical_id: str
    resource_type: str
    action: str  # Add, Modify, Remove
    replaces: bool = False


def _find_change_set(
    backend: CloudFormationBackend, change_set_name: str, stack_name: str | None
) -> ChangeSet:
    if change_set_name in backend.change_sets:
        found: ChangeSet = backend.change_sets[change_set_name]
        return found
    for change_set in backend.change_sets.values():
        if change_set.change_set_name == change_set_name and stack_name in (
            None,
            change_set.stack_name,
            change_set.stack_id,
        ):
            return change_set
    raise ValidationError(message=f"ChangeSet [{change_set_name}] does not exist")


def _steps(old: dict[str, Any], new: dict[str, Any]) -> list[_Step]:
    """Adds and modifies in dependency waves, then removals (CloudFormation's cleanup)."""
    before, after = old.get("Resources", {}), new.get("Resources", {})
    updates = {u.logical_id: u for u in schemas.stack_updates(old, new)}
    steps = []
    for wave in schemas.waves(after):
        for logical_id in wave:
            resource_type = str(after[logical_id].get("Type"))
            if logical_id not in before:
                steps.append(_Step(logical_id, resource_type, "Add"))
            elif logical_id in updates:
                steps.append(
                    _Step(logical_id, resource_type, "Modify", updates[logical_id].replaces)
                )
    steps += [
        _Step(logical_id, str(resource.get("Type")), "Remove")
        for logical_id, resource in before.items()
        if logical_id not in after
    ]
    return steps


def _planned_failure(
    old: dict[str, Any], new: dict[str, Any], steps: list[_Step]
) -> _Failed | None:
    """A failure known before anything is touched: a forbidden replacement or an injected one."""
    updates = {u.logical_id: u for u in schemas.stack_updates(old, new)}
    for step in steps:
        update = updates.get(step.logical_id)
        if update is not None and update.forbidden:
            return _Failed(step.logical_id, CUSTOM_NAME_REPLACEMENT.format(name=update.name))
        fault = FAULTS.resources.get(step.logical_id) or FAULTS.resources.get(step.resource_type)
        if fault is not None:
            return _Failed(step.logical_id, fault.reason)
    return None


def _ordered(template: dict[str, Any]) -> dict[str, Any]:
    """The template with its resources in wave order: moto provisions them in dict order."""
    ordered = dict(template)
    resources_ = template.get("Resources", {})
    ordered["Resources"] = {
        logical_id: resources_[logical_id]
        for wave in schemas.waves(resources_)
        for logical_id in wave
    }
    return ordered


def _execute_change_set(
    self: CloudFormationBackend, change_set_name: str, stack_name: str | None = None
) -> None:
    change_set = _find_change_set(self, change_set_name, stack_name)
    if change_set.status != "CREATE_COMPLETE" or change_set.execution_status != "AVAILABLE":
        raise InvalidChangeSetStatus(
            change_set.change_set_id,
            str(
                change_set.status
                if change_set.status != "CREATE_COMPLETE"
                else change_set.execution_status
            ),
        )
    stack: Stack = self.stacks[change_set.stack_id]
    creating = change_set.change_set_type == "CREATE"
    old = copy.deepcopy(stack.template_dict) if not creating else {"Resources": {}}
    old_parameters = dict(stack.parameters)
    new = _ordered(change_set.template_dict)
    steps = _steps(old, new)
    run = _Run(stack, creating)
    run.stack_event("IN_PROGRESS", "User Initiated")
    failure = _planned_failure(old, new, steps)
    applied = False
    if failure is None:
        change_set.template_dict = new
        failure = _replacing(steps, old, change_set.apply)
        if failure is not None and not failure.logical_id:
            failure = _Failed(stack.name, failure.reason)
        applied = failure is None
    for other in [cs for cs in self.change_sets.values() if cs.stack_id == stack.stack_id]:
        if other is not change_set:
            del self.change_sets[other.change_set_id]
    if failure is None:
        _clean_up_superseded()
        run.succeeded(steps)
        stack.template = change_set.template
        stack._parse_template()
        stack.output_map = stack._create_output_map()
        change_set.execution_status = "EXECUTE_COMPLETE"
        return
    change_set.execution_status = "EXECUTE_FAILED"
    _SUPERSEDED.clear()
    run.failed(steps, failure)
    if _rollback_fails(steps, failure):
        run.rollback_failed(steps, failure, "injected: the rollback failed")
        return
    problem = _replacing(
        steps,
        new,
        lambda: _roll_back(stack, creating, old, old_parameters, partly_applied=not applied),
    )
    _SUPERSEDED.clear()
    if problem is not None:
        run.rollback_failed(steps, failure, problem.reason)
        return
    run.rolled_back(steps, failure)


def _replacing(steps: list[_Step], old: dict[str, Any], work: Callable[[], None]) -> _Failed | None:
    """Run moto's provisioning with the replaced resources known; what failed, if anything."""
    _REPLACING.update(step.logical_id for step in steps if step.replaces)
    _OLD_RESOURCES.update(old.get("Resources", {}))
    try:
        work()
    except _Failed as failed:
        return failed
    except Exception as error:  # anything else moto raises while provisioning
        return _Failed("", _reason(error))
    finally:
        _REPLACING.clear()
        _OLD_RESOURCES.clear()
    return None


def _rollback_fails(steps: list[_Step], failure: _Failed) -> bool:
    failed_type = next((s.resource_type for s in steps if s.logical_id == failure.logical_id), "")
    return any(
        fault.rollback_fails
        for fault in FAULTS.resources.values()
        if fault.resource in {failure.logical_id, failed_type}
    )


def _roll_back(
    stack: Stack,
    creating: bool,
    old: dict[str, Any],
    old_parameters: dict[str, Any],
    *,
    partly_applied: bool,
) -> None:
    """Put the resources back as the last good template had them."""
    if creating:
        stack.resource_map.delete()
        return
    if partly_applied:
        stack.resource_map.update(old, old_parameters)


class _Run:
    """The events of one execution, in the order CloudFormation writes them."""

    def __init__(self, stack: Stack, creating: bool) -> None:
        self.stack = stack
        self.verb = "CREATE" if creating else "UPDATE"

    def event(self, logical_id: str, resource_type: str, status: str, reason: str = "") -> None:
        resource = self.stack.resource_map._parsed_resources.get(logical_id)
        physical = getattr(resource, "physical_resource_id", "") if resource else ""
        self.stack.events.append(
            Event(
                stack_id=self.stack.stack_id,
                stack_name=self.stack.name,
                logical_resource_id=logical_id,
                physical_resource_id=str(physical or ""),
                resource_type=resource_type,
                resource_status=status,
                resource_status_reason=reason or None,
                resource_properties=None,
            )
        )

    def stack_event(self, suffix: str, reason: str = "") -> None:
        status = (
            suffix
            if suffix.startswith(("ROLLBACK", "UPDATE_ROLLBACK"))
            else (f"{self.verb}_{suffix}")
        )
        self.stack.status = status
        self.event(self.stack.name, "AWS::CloudFormation::Stack", status, reason)
        self.stack.events[-1].physical_resource_id = self.stack.stack_id

    def _forward(self, step: _Step) -> None:
        if step.action == "Add":
            self.event(step.logical_id, step.resource_type, "CREATE_IN_PROGRESS")
            self.event(step.logical_id, step.resource_type, "CREATE_COMPLETE")
        else:
            reason = (
                "Requested update requires the creation of a new physical resource; hence "
                "creating one."
                if step.replaces
                else ""
            )
            self.event(step.logical_id, step.resource_type, "UPDATE_IN_PROGRESS", reason)
            self.event(step.logical_id, step.resource_type, "UPDATE_COMPLETE")

    def succeeded(self, steps: list[_Step]) -> None:
        for step in steps:
            if step.action != "Remove":
                self._forward(step)
        cleanup = [s for s in steps if s.action == "Remove" or s.replaces]
        if cleanup and self.verb == "UPDATE":
            self.stack_event("COMPLETE_CLEANUP_IN_PROGRESS")
            for step in cleanup:
                self.event(step.logical_id, step.resource_type, "DELETE_IN_PROGRESS")
                self.event(step.logical_id, step.resource_type, "DELETE_COMPLETE")
        self.stack_event("COMPLETE")

    def _before(self, steps: list[_Step], failure: _Failed) -> list[_Step]:
        ids = [s.logical_id for s in steps]
        end = ids.index(failure.logical_id) if failure.logical_id in ids else 0
        return [s for s in steps[:end] if s.action != "Remove"]

    def failed(self, steps: list[_Step], failure: _Failed) -> None:
        for step in self._before(steps, failure):
            self._forward(step)
        failing = next((s for s in steps if s.logical_id == failure.logical_id), None)
        if failing is not None:
            started = "CREATE" if failing.action == "Add" else "UPDATE"
            self.event(failing.logical_id, failing.resource_type, f"{started}_IN_PROGRESS")
            self.event(
                failing.logical_id, failing.resource_type, f"{started}_FAILED", failure.reason
            )
        what = "create" if self.verb == "CREATE" else "update"
        rollback = (
            "ROLLBACK_IN_PROGRESS" if self.verb == "CREATE" else "UPDATE_ROLLBACK_IN_PROGRESS"
        )
        self.stack_event(
            rollback,
            f"The following resource(s) failed to {what}: [{failure.logical_id}]. "
            + ("Rollback requested by user." if self.verb == "CREATE" else ""),
        )

    def rolled_back(self, steps: list[_Step], failure: _Failed) -> None:
        for step in reversed(self._before(steps, failure)):
            if step.action == "Add":
                self.event(step.logical_id, step.resource_type, "DELETE_IN_PROGRESS")
                self.event(step.logical_id, step.resource_type, "DELETE_COMPLETE")
            else:
                self.event(step.logical_id, step.resource_type, "UPDATE_IN_PROGRESS")
                self.event(step.logical_id, step.resource_type, "UPDATE_COMPLETE")
        if self.verb == "CREATE":
            self.stack_event("ROLLBACK_COMPLETE")
        else:
            self.stack_event("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")
            self.stack_event("UPDATE_ROLLBACK_COMPLETE")

    def rollback_failed(self, steps: list[_Step], failure: _Failed, reason: str) -> None:
        self.event(failure.logical_id, _type_of(steps, failure), "UPDATE_FAILED", reason)
        self.stack_event(
            "ROLLBACK_FAILED" if self.verb == "CREATE" else "UPDATE_ROLLBACK_FAILED",
            f"The following resource(s) failed to roll back: [{failure.logical_id}].",
        )


def _type_of(steps: list[_Step], failure: _Failed) -> str:
    return next((s.resource_type for s in steps if s.logical_id == failure.logical_id), "")
