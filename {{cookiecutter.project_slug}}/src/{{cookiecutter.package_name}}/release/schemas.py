"""What the CloudFormation registry says about a resource type: replacement and custom names.

Pure rules over template JSON. Whether an update replaces a resource is decided by the
type's `createOnlyProperties` in its registry schema: "A property that can only be set
during resource creation ... changing it replaces the resource"
(https://docs.aws.amazon.com/cloudformation-cli/latest/userguide/resource-type-schema.html).
cfn-lint ships those schemas (`cfnlint.schema.PROVIDER_SCHEMA_MANAGER`), so no call to AWS is
needed. A custom-named resource cannot be replaced under the same name: "CloudFormation
cannot update a stack when a custom-named resource requires replacing" (Name type,
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-name.html).

cfn-lint is a runtime dependency: the plan's property diff (template_diff.py) decides
replacement here, as the strict local AWS does; cfn-lint is imported on the first look-up.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

# Schemas differ little by region for the types we use; one region keeps look-ups cached.
_SCHEMA_REGION = "us-east-1"


@dataclass(frozen=True)
class TypeFacts:
    """The registry facts about one resource type that decide updates."""

    resource_type: str
    create_only: tuple[tuple[str, ...], ...]  # property paths, e.g. ("ProductionVariants",)
    name_property: str | None  # the property that gives the resource a custom name
    known: bool = True  # False: the registry has no such type


def preload() -> None:
    """Import cfn-lint's schema registry now (0.8 s): the local AWS does it as it starts, not
    in the first plan's CreateChangeSet (real CloudFormation has no such first-call cost)."""
    importlib.import_module("cfnlint.schema")


@cache
def facts(resource_type: str) -> TypeFacts:
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER, ResourceNotFoundError

    try:
        schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(_SCHEMA_REGION, resource_type).schema
    except ResourceNotFoundError:
        return TypeFacts(resource_type, (), None, known=False)
    create_only = tuple(
        tuple(part for part in pointer.split("/")[2:] if part != "*")
        for pointer in schema.get("createOnlyProperties", [])
        if pointer.startswith("/properties/")
    )
    return TypeFacts(
        resource_type,
        create_only,
        name_property(resource_type, set(schema.get("properties", {}))),
    )


def name_property(resource_type: str, properties: set[str]) -> str | None:
    """The custom-name property: `<Thing>Name` where the type's name ends in `<Thing>`.

    The Name type page lists these (BucketName for AWS::S3::Bucket, RoleName for
    AWS::IAM::Role, AlarmName, EndpointName, JobDefinitionName for
    AWS::SageMaker::DataQualityJobDefinition ...); the schema has no flag for them, and
    the naming rule covers every type on that page that our stacks use.
    """
    kind = resource_type.rsplit("::", 1)[-1]
    candidates = [p for p in properties if p.endswith("Name") and kind.endswith(p[: -len("Name")])]
    return max(candidates, key=len) if candidates else None


def _at(properties: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = properties
    for part in path:
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


@dataclass(frozen=True)
class Update:
    """How CloudFormation would apply a change to one resource."""

    logical_id: str
    resource_type: str
    replaces: bool
    changed: tuple[str, ...]  # top-level properties whose value differs (or references)
    forbidden: bool  # a custom-named replacement under the same name: the update fails
    name: str | None  # the custom name, when the template sets one


def update_of(
    logical_id: str,
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    *,
    replaced_references: frozenset[str] = frozenset(),
) -> Update:
    """old and new are the resource's template JSON (Type, Properties, ...).

    replaced_references: logical ids being replaced in the same update; a property that
    refers to one (Ref or Fn::GetAtt) changes too, as its physical id or attribute will.
    """
    resource_type = str(new.get("Type", old.get("Type", "")))
    type_facts = facts(resource_type)
    before = old.get("Properties") or {}
    after = new.get("Properties") or {}
    changed = sorted(
        key
        for key in set(before) | set(after)
        if _canonical(before.get(key)) != _canonical(after.get(key))
        or references(after.get(key)) & replaced_references
    )
    replaces = any(
        _canonical(_at(before, path)) != _canonical(_at(after, path))
        or references(_at(after, path)) & replaced_references
        for path in type_facts.create_only
    ) or str(old.get("Type")) != str(new.get("Type"))
    name_key = type_facts.name_property
    name = after.get(name_key) if name_key else None
    same_name = name is not None and _canonical(before.get(name_key)) == _canonical(name)
    return Update(
        logical_id=logical_id,
        resource_type=resource_type,
        replaces=replaces,
        changed=tuple(changed),
        forbidden=replaces and same_name,
        name=name if isinstance(name, str) else (None if name is None else _canonical(name)),
    )


def references(value: Any) -> frozenset[str]:
    """Logical ids a template value refers to with Ref, Fn::GetAtt or Fn::Sub."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, Mapping):
            for key, item in node.items():
                if key == "Ref" and isinstance(item, str) and not item.startswith("AWS::"):
                    found.add(item)
                elif key == "Fn::GetAtt":
                    target = item[0] if isinstance(item, list) else str(item).split(".")[0]
                    found.add(str(target))
                elif key == "Fn::Sub":
                    text = item[0] if isinstance(item, list) else item
                    for part in str(text).split("${")[1:]:
                        name = part.split("}")[0].split(".")[0]
                        if not name.startswith("AWS::"):
                            found.add(name)
                    if isinstance(item, list):
                        walk(item[1:])
                else:
                    walk(item)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(value)
    return frozenset(found)


def dependencies(resource: Mapping[str, Any]) -> frozenset[str]:
    """What a resource waits for: its DependsOn and everything it refers to."""
    depends_on = resource.get("DependsOn", [])
    declared = {depends_on} if isinstance(depends_on, str) else set(depends_on)
    return frozenset(declared | references(resource.get("Properties", {})))


def waves(resources: Mapping[str, Mapping[str, Any]]) -> list[list[str]]:
    """Logical ids in the order CloudFormation can work on them: each wave waits only for
    earlier waves; everything in one wave starts at once ("CloudFormation creates resources
    in parallel where it can", DependsOn attribute,
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-dependson.html).
    """
    pending = {
        logical_id: dependencies(resource) & set(resources)
        for logical_id, resource in resources.items()
    }
    ordered: list[list[str]] = []
    done: set[str] = set()
    while pending:
        wave = [logical_id for logical_id, needs in pending.items() if needs <= done]
        if not wave:
            raise ValueError(f"circular dependency between resources: {', '.join(sorted(pending))}")
        ordered.append(wave)
        done.update(wave)
        for logical_id in wave:
            del pending[logical_id]
    return ordered


def stack_updates(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Update]:
    """Every resource an update of template `old` to `new` modifies, replacement decided
    by the schemas and carried through references (a replaced Model changes the
    EndpointConfig that names it), in dependency order."""
    before = old.get("Resources", {})
    after = new.get("Resources", {})
    replaced: set[str] = set()
    updates: list[Update] = []
    for wave in waves(after):
        for logical_id in wave:
            if logical_id not in before:
                continue
            update = update_of(
                logical_id,
                before[logical_id],
                after[logical_id],
                replaced_references=frozenset(replaced),
            )
            if update.changed or update.replaces:
                updates.append(update)
                if update.replaces:
                    replaced.add(logical_id)
    return updates
