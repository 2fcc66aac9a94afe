"""A small IAM policy evaluator: is one request allowed by a set of identity policies?

It follows IAM's evaluation logic for a single account's identity-based policies
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):
an explicit Deny wins, then an Allow, else the request is implicitly denied. A statement
applies when its Action (or NotAction) matches the action, its Resource (or NotResource)
the resource, and every condition holds. Action names match case-insensitively, resource
ARNs case-sensitively, `*` and `?` being the only wildcards
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html).
A condition whose key the request lacks does not hold, unless its operator ends in
IfExists (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html).
Operators it does not know raise: a policy is never allowed by a condition it skipped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from typing import Any

Policy = Mapping[str, Any]


class Decision(StrEnum):
    ALLOWED = "allowed"
    DENIED = "explicitly denied"
    IMPLICIT = "implicitly denied"


@dataclass(frozen=True)
class Request:
    """One authorization request: an action on a resource with its condition context
    (keys such as "aws:RequestTag/project"; a value or a list of values)."""

    action: str
    resource: str
    context: Mapping[str, str | Sequence[str]] = field(default_factory=dict)


@cache
def _pattern(text: str, ignore_case: bool) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in text)
    return re.compile(f"^{body}$", (re.IGNORECASE if ignore_case else 0) | re.DOTALL)


def matches(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    return bool(_pattern(pattern, ignore_case).match(value))


def matches_arn(pattern: str, value: str) -> bool:
    """An ARN pattern against an ARN, each of its six colon-separated parts on its own, so a
    wildcard never spans a colon before the resource part ("Each of the six colon-delimited
    components of the ARN is checked separately", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_ARN);
    anything else (a "*" resource) as a plain pattern."""
    if not (pattern.startswith("arn:") and value.startswith("arn:")):
        return matches(pattern, value)
    patterns, values = pattern.split(":", 5), value.split(":", 5)
    if len(patterns) != len(values):
        return False
    return all(matches(p, v) for p, v in zip(patterns, values, strict=True))


def _listed(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _values(context: Mapping[str, str | Sequence[str]], key: str) -> list[str] | None:
    # Condition keys are case-insensitive; the tag-key part of aws:RequestTag/<key> is not,
    # which a lower-cased match would blur only for two tags differing in case (we have none).
    for name, value in context.items():
        if name.lower() == key.lower():
            return [value] if isinstance(value, str) else list(value)
    return None


def _equals(pattern: str, value: str) -> bool:
    return pattern == value


def _like(pattern: str, value: str) -> bool:
    return matches(pattern, value)


def _bool(pattern: str, value: str) -> bool:
    return pattern.lower() == value.lower()


_STRING: dict[str, Callable[[str, str], bool]] = {
    "StringEquals": _equals,
    "StringLike": _like,
    # ArnEquals and ArnLike behave alike: both take wildcards, part by part.
    "ArnEquals": matches_arn,
    "ArnLike": matches_arn,
    "Bool": _bool,
}
_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotLike": "StringLike",
    "ArnNotLike": "ArnLike",
}


def _holds(operator: str, key: str, wanted: list[str], context: Mapping[str, Any]) -> bool:
    if_exists = operator.endswith("IfExists")
    op = operator.removesuffix("IfExists")
    qualifier, _, op = op.rpartition(":")
    negated = op in _NEGATED
    base = _NEGATED.get(op, op)
    if base not in _STRING:
        raise ValueError(f"condition operator {operator!r} is not one this evaluator knows")
    compare = _STRING[base]
    values = _values(context, key)
    if values is None:
        # A missing key: ForAllValues holds (no value fails it), ForAnyValue does not (no
        # value matches), a negated operator holds, ...IfExists holds.
        if qualifier == "ForAnyValue":
            return False
        return if_exists or negated or qualifier == "ForAllValues"

    def one(value: str) -> bool:
        hit = any(compare(pattern, value) for pattern in wanted)
        return not hit if negated else hit

    if qualifier == "ForAllValues":
        return all(one(value) for value in values)
    if qualifier == "ForAnyValue":
        return any(one(value) for value in values)
    if qualifier:
        raise ValueError(f"condition qualifier {qualifier!r} is not one this evaluator knows")
    if len(values) != 1:
        raise ValueError(
            f"condition key {key} has {len(values)} values: use ForAnyValue/ForAllValues"
        )
    return one(values[0])


def _applies(statement: Mapping[str, Any], request: Request) -> bool:
    if "Action" in statement:
        if not any(
            matches(a, request.action, ignore_case=True) for a in _listed(statement["Action"])
        ):
            return False
    elif any(
        matches(a, request.action, ignore_case=True) for a in _listed(statement.get("NotAction"))
    ):
        return False
    if "Resource" in statement:
        if not any(matches_arn(r, request.resource) for r in _listed(statement["Resource"])):
            return False
    elif any(matches_arn(r, request.resource) for r in _listed(statement.get("NotResource"))):
        return False
    for operator, pairs in (statement.get("Condition") or {}).items():
        for key, wanted in pairs.items():
            if not _holds(operator, key, _listed(wanted), request.context):
                return False
    return True


def evaluate(policies: Sequence[Policy], request: Request) -> Decision:
    """The decision of these identity policies (all of one principal) on the request."""
    allowed = False
    for policy in policies:
        statements = policy.get("Statement", [])
        for statement in statements if isinstance(statements, list) else [statements]:
            if not _applies(statement, request):
                continue
            if statement.get("Effect") == "Deny":
                return Decision.DENIED
            allowed = allowed or statement.get("Effect") == "Allow"
    return Decision.ALLOWED if allowed else Decision.IMPLICIT
