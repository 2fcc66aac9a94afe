"""What a change does to each resource, property by property: the live template against the new.

Pure rules over template JSON. The change set's rows stay the authority for what
CloudFormation will do (plan.py); this explains them, the way `cdk diff` does, without the
CDK CLI:

- every resource added, removed or modified, and for a modified one each property that
  changes, as a path into its value (`ProductionVariants[VariantName=AllTraffic].
  InitialInstanceCount`) with its value before and after. Lists of objects that carry a name
  (`Key`, `Name`, `VariantName`, `Sid`) are matched by it, so one new tag is one change, not
  a shifted list; an intrinsic function (`Ref`, `Fn::...`) is one value;
- whether it replaces the resource, decided by the type's `createOnlyProperties` in the
  CloudFormation registry schema (schemas.py: "changing it replaces the resource"), or by a
  new type; a property that refers to a replaced resource changes with it, as its physical
  id does (so a replaced Model carries into the EndpointConfig naming it);
- which changes touch security: IAM (roles, policies, statements), resource policies, keys,
  encryption and network settings, listed on their own as `cdk diff` does.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from . import schemas

ADDED, REMOVED, CHANGED, FOLLOWS = "added", "removed", "changed", "follows"
# Resource attributes besides Type and Properties that a change can touch.
_ATTRIBUTES = ("DependsOn", "Condition", "DeletionPolicy", "UpdateReplacePolicy", "UpdatePolicy")
# The keys that name an object in a list (Tags, Dimensions, variants, policy statements).
_IDENTITY_KEYS = ("Key", "Name", "VariantName", "Sid", "PolicyName")
# What `cdk diff` puts in its security section, and what else decides who can reach what.
_SECURITY_TYPES = (
    "AWS::IAM::",
    "AWS::S3::BucketPolicy",
    "AWS::KMS::",
    "AWS::EC2::SecurityGroup",
    "AWS::Lambda::Permission",
    "AWS::SNS::TopicPolicy",
    "AWS::SQS::QueuePolicy",
)
_SECURITY_PROPERTIES = frozenset(
    {
        "AssumeRolePolicyDocument",
        "BucketEncryption",
        "EnableNetworkIsolation",
        "EnableInterContainerTrafficEncryption",
        "ExecutionRoleArn",
        "Groups",
        "KeyPolicy",
        "KmsKeyId",
        "ManagedPolicyArns",
        "NetworkConfig",
        "PermissionsBoundary",
        "PolicyDocument",
        "Policies",
        "PublicAccessBlockConfiguration",
        "RoleArn",
        "Roles",
        "SecurityGroupIds",
        "Subnets",
        "Users",
        "VpcConfig",
    }
)


@dataclass(frozen=True)
class PropertyChange:
    """One value that changes. before/after are template JSON; None where `change` says the
    value is absent (added, removed). FOLLOWS: the text is the same but it refers to a
    replaced resource, so its value changes when CloudFormation replaces that."""

    path: str
    change: str  # added, removed, changed, follows
    before: Any
    after: Any
    replaces: bool  # under a create-only property: changing it replaces the resource
    security: bool  # under a property that decides access (a policy, a role, a key, network)


@dataclass(frozen=True)
class ResourceDiff:
    logical_id: str
    resource_type: str
    action: str  # Add, Remove, Modify (the change set's words)
    replaces: bool  # by the registry schema, or a new type
    properties: tuple[PropertyChange, ...]
    security: bool  # a security-relevant type (IAM, a resource policy, a key), or a
    # security-relevant property changes


@dataclass(frozen=True)
class StackDiff:
    live_template_sha256: str | None  # None: the stack has no template yet (a first deploy)
    resources: tuple[ResourceDiff, ...]

    @property
    def replaced(self) -> tuple[str, ...]:
        return tuple(r.logical_id for r in self.resources if r.replaces)


def template_sha256(template: Mapping[str, Any]) -> str:
    """The digest of a template's content (keys sorted), whatever its whitespace."""
    canonical = json.dumps(template, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def diff_templates(live: Mapping[str, Any] | None, new: Mapping[str, Any]) -> StackDiff:
    """Each resource that differs between the live template (None: no stack yet) and new."""
    before: Mapping[str, Any] = (live or {}).get("Resources", {})
    after: Mapping[str, Any] = new.get("Resources", {})
    replaced: set[str] = set()
    modified: dict[str, ResourceDiff] = {}
    for wave in schemas.waves(after):  # dependency order: a replacement reaches what refers to it
        for logical_id in wave:
            if logical_id not in before:
                continue
            diff = _modified(logical_id, before[logical_id], after[logical_id], replaced)
            if diff is not None:
                modified[logical_id] = diff
                if diff.replaces:
                    replaced.add(logical_id)
    resources: list[ResourceDiff] = []
    for logical_id, resource in after.items():
        if logical_id not in before:
            resources.append(_whole("Add", logical_id, resource, ADDED))
        elif logical_id in modified:
            resources.append(modified[logical_id])
    resources += [
        _whole("Remove", logical_id, resource, REMOVED)
        for logical_id, resource in before.items()
        if logical_id not in after
    ]
    return StackDiff(
        live_template_sha256=template_sha256(live) if live is not None else None,
        resources=tuple(resources),
    )


def _modified(
    logical_id: str, old: Mapping[str, Any], new: Mapping[str, Any], replaced: set[str]
) -> ResourceDiff | None:
    resource_type = str(new.get("Type", ""))
    create_only = schemas.facts(resource_type).create_only
    security_type = _is_security_type(resource_type)
    before_properties = old.get("Properties") or {}
    after_properties = new.get("Properties") or {}
    changes: list[PropertyChange] = []
    for key in [*before_properties, *(k for k in after_properties if k not in before_properties)]:
        for path, change, before, after in _leaf_changes(
            (str(key),),
            before_properties.get(key, _ABSENT),
            after_properties.get(key, _ABSENT),
            replaced,
        ):
            names = _names_in(path)
            changes.append(
                PropertyChange(
                    path=_render_path(path),
                    change=change,
                    before=None if before is _ABSENT else before,
                    after=None if after is _ABSENT else after,
                    # A path under a create-only property, or above one (an object or list
                    # that appears, goes, or becomes an intrinsic, holding it).
                    replaces=any(
                        names[: len(c)] == c or c[: len(names)] == names for c in create_only
                    ),
                    security=_decides_access(resource_type, names),
                )
            )
    for attribute in _ATTRIBUTES:
        if _canonical(old.get(attribute)) != _canonical(new.get(attribute)):
            change = ADDED if attribute not in old else REMOVED if attribute not in new else CHANGED
            changes.append(
                PropertyChange(
                    attribute, change, old.get(attribute), new.get(attribute), False, False
                )
            )
    new_type = str(old.get("Type", "")) != resource_type
    if not changes and not new_type:
        return None
    return ResourceDiff(
        logical_id=logical_id,
        resource_type=resource_type,
        action="Modify",
        replaces=new_type or any(c.replaces for c in changes),
        properties=tuple(changes),
        security=security_type or any(c.security for c in changes),
    )


def _whole(action: str, logical_id: str, resource: Mapping[str, Any], change: str) -> ResourceDiff:
    """An added or removed resource: each of its property values, as added or removed."""
    resource_type = str(resource.get("Type", ""))
    security_type = _is_security_type(resource_type)
    properties = resource.get("Properties") or {}
    rows = []
    leaves = [leaf for key, item in properties.items() for leaf in _leaves((str(key),), item)]
    for path, value in leaves:
        rows.append(
            PropertyChange(
                path=_render_path(path),
                change=change,
                before=value if change == REMOVED else None,
                after=value if change == ADDED else None,
                replaces=False,
                security=_decides_access(resource_type, _names_in(path)),
            )
        )
    return ResourceDiff(
        logical_id=logical_id,
        resource_type=resource_type,
        action=action,
        replaces=False,
        properties=tuple(rows),
        security=security_type or any(row.security for row in rows),
    )


# --- values as paths ----------------------------------------------------------------------------

Path = tuple[str, ...]  # property names, and list items as "[0]" or "[Key=name]"
_ABSENT: Any = object()  # a property one side does not have


_FUNCTIONS = frozenset(
    {
        "Condition",
        "Fn::And",
        "Fn::Base64",
        "Fn::Cidr",
        "Fn::Equals",
        "Fn::FindInMap",
        "Fn::GetAZs",
        "Fn::GetAtt",
        "Fn::If",
        "Fn::ImportValue",
        "Fn::Join",
        "Fn::Length",
        "Fn::Not",
        "Fn::Or",
        "Fn::Select",
        "Fn::Split",
        "Fn::Sub",
        "Fn::ToJsonString",
        "Fn::Transform",
        "Ref",
    }
)


def _is_intrinsic(value: Any) -> bool:
    return isinstance(value, Mapping) and len(value) == 1 and next(iter(value)) in _FUNCTIONS


def _is_object(value: Any) -> bool:
    return isinstance(value, Mapping) and bool(value) and not _is_intrinsic(value)


def _leaves(path: Path, value: Any) -> list[tuple[Path, Any]]:
    """(path, value) of every leaf: a scalar, an intrinsic, or an empty object or list."""
    if _is_object(value):
        return [leaf for key, item in value.items() for leaf in _leaves((*path, str(key)), item)]
    if isinstance(value, list) and value:
        return [leaf for key, item in _items(value) for leaf in _leaves((*path, key), item)]
    return [(path, value)]


def _identity(*lists: Sequence[Any]) -> str | None:
    """The key that names every item of these lists, each name once per list; None: none does."""
    for identity in _IDENTITY_KEYS:
        if all(_names(values, identity) is not None for values in lists):
            return identity
    return None


def _names(values: Sequence[Any], identity: str) -> list[str] | None:
    names = [item.get(identity) if isinstance(item, Mapping) else None for item in values]
    if all(isinstance(name, str) for name in names) and len(set(names)) == len(names):
        return [str(name) for name in names]
    return None


def _items(values: Sequence[Any], identity: str | None = "") -> list[tuple[str, Any]]:
    """A list's items keyed "[Key=name]" by the key that names them (found when identity is
    ""), or "[0]" by index."""
    if identity == "":
        identity = _identity(values)
    if identity is None:
        return [(f"[{index}]", item) for index, item in enumerate(values)]
    return [(f"[{identity}={item[identity]}]", item) for item in values]


def _leaf_changes(
    path: Path, before: Any, after: Any, replaced: set[str]
) -> list[tuple[Path, str, Any, Any]]:
    """(path, change, before, after) for every leaf that differs, or refers to a replaced id."""
    if before is _ABSENT or after is _ABSENT:
        side, change = (after, ADDED) if before is _ABSENT else (before, REMOVED)
        return [
            (leaf, change, None if change == ADDED else value, value if change == ADDED else None)
            for leaf, value in _leaves(path, side)
        ]
    if _canonical(before) == _canonical(after):
        return [
            (leaf, FOLLOWS, value, value)
            for leaf, value in (_leaves(path, after) if replaced else [])
            if schemas.references(value) & replaced
        ]
    if _is_object(before) and _is_object(after):
        old, new = dict(before), dict(after)
    elif isinstance(before, list) and isinstance(after, list) and before and after:
        identity = _identity(before, after)
        old, new = dict(_items(before, identity)), dict(_items(after, identity))
    else:
        return [(path, CHANGED, before, after)]
    found: list[tuple[Path, str, Any, Any]] = []
    for key in [*old, *(k for k in new if k not in old)]:
        if key not in new:
            found += [(p, REMOVED, v, None) for p, v in _leaves((*path, key), old[key])]
        elif key not in old:
            found += [(p, ADDED, None, v) for p, v in _leaves((*path, key), new[key])]
        else:
            found += _leaf_changes((*path, key), old[key], new[key], replaced)
    return found


def _render_path(path: Path) -> str:
    text = ""
    for part in path:
        text += part if part.startswith("[") or not text else f".{part}"
    return text or "(value)"


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _is_security_type(resource_type: str) -> bool:
    return resource_type.startswith(_SECURITY_TYPES)


def _names_in(path: Path) -> tuple[str, ...]:
    return tuple(part for part in path if not part.startswith("["))


def _decides_access(resource_type: str, names: tuple[str, ...]) -> bool:
    """A value under a property that decides access, or any value of a security type (a
    security group's rules, a key's rotation, a permission's principal) but its tags and
    description."""
    if _SECURITY_PROPERTIES & set(names):
        return True
    return _is_security_type(resource_type) and names[:1] not in {("Tags",), ("Description",)}
