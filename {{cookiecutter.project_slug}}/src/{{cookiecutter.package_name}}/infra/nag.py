"""Acknowledging cdk-nag findings: always with a written reason, next to their cause.

cdk-nag 3 reports one finding per wildcard (e.g. ``AwsSolutions-IAM5[Resource::...]``) and an
acknowledgement must name that finding exactly, so a new, unreviewed wildcard still fails
synth. The helpers here build those ids the way cdk-nag renders them.
"""

from __future__ import annotations

from collections.abc import Iterable

from aws_cdk import Acknowledgment, Stack, Token, Validations
from constructs import IConstruct

# How cdk-nag renders ${AWS::Partition} inside a finding id.
PARTITION = "<AWS::Partition>"


def partition(scope: IConstruct) -> str:
    """The partition of scope's stack as its ARNs (and so cdk-nag's finding ids) spell it: the
    literal ("aws", "aws-cn", ...) where the CDK resolves it, as it does for a stack with a
    region under cdk.json's @aws-cdk/core:enablePartitionLiterals (on in a new app), else
    <AWS::Partition>."""
    value = Stack.of(scope).partition
    return PARTITION if Token.is_unresolved(value) else value


def acknowledge(scope: IConstruct, rule: str, reason: str) -> None:
    """Accept one rule or finding (e.g. "AwsSolutions-S1") on scope and its children."""
    Validations.of(scope).acknowledge(Acknowledgment(id=rule, reason=reason))


def acknowledge_wildcards(scope: IConstruct, reason: str, *, resources: Iterable[str]) -> None:
    """Accept exactly these wildcard resources (as cdk-nag renders them); no action wildcards
    are granted anywhere, so none are ever acknowledged."""
    for resource in resources:
        acknowledge(scope, f"AwsSolutions-IAM5[Resource::{resource}]", reason)
