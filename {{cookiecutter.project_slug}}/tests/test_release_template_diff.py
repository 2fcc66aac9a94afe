"""The property-level diff (template_diff.py): paths, replacement by the registry schemas,
references to replaced resources, and the security section."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from {{ cookiecutter.package_name }}.errors import AwsError
from {{ cookiecutter.package_name }}.release.plan import live_template
from {{ cookiecutter.package_name }}.release.template_diff import (
    ADDED,
    CHANGED,
    FOLLOWS,
    REMOVED,
    PropertyChange,
    ResourceDiff,
    diff_templates,
    template_sha256,
)

MODEL_URL = "s3://bucket/models/aaa/model.tar.gz"


def serving() -> dict[str, Any]:
    """A Model, the EndpointConfig naming it, the Endpoint on that, an alarm and a policy."""
    return {
        "Resources": {
            "Model": {
                "Type": "AWS::SageMaker::Model",
                "Properties": {
                    "ExecutionRoleArn": "arn:aws:iam::1:role/r",
                    "PrimaryContainer": {"Image": "img", "ModelDataUrl": MODEL_URL},
                    "Tags": [{"Key": "model-sha256", "Value": "aaa"}],
                },
            },
            "Config": {
                "Type": "AWS::SageMaker::EndpointConfig",
                "Properties": {
                    "ProductionVariants": [
                        {
                            "VariantName": "AllTraffic",
                            "InitialInstanceCount": 1,
                            "InstanceType": "ml.m5.large",
                            "ModelName": {"Fn::GetAtt": ["Model", "ModelName"]},
                        }
                    ]
                },
            },
            "Endpoint": {
                "Type": "AWS::SageMaker::Endpoint",
                "Properties": {
                    "EndpointConfigName": {"Fn::GetAtt": ["Config", "EndpointConfigName"]}
                },
            },
            "Alarm": {
                "Type": "AWS::CloudWatch::Alarm",
                "Properties": {"Threshold": 1000, "Dimensions": [{"Name": "E", "Value": "x"}]},
            },
            "Policy": {
                "Type": "AWS::IAM::Policy",
                "Properties": {
                    "PolicyDocument": {
                        "Statement": [
                            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": ["a", "b"]}
                        ]
                    },
                    "PolicyName": "p",
                    "Roles": [{"Ref": "Role"}],
                },
            },
        }
    }


def changed(edit: Any) -> dict[str, Any]:
    template = copy.deepcopy(serving())
    edit(template["Resources"])
    return template


def by_id(resources: tuple[ResourceDiff, ...]) -> dict[str, ResourceDiff]:
    return {resource.logical_id: resource for resource in resources}


def paths(resource: ResourceDiff) -> dict[str, PropertyChange]:
    return {change.path: change for change in resource.properties}


def test_an_unchanged_template_has_no_differences() -> None:
    diff = diff_templates(serving(), serving())
    assert diff.resources == ()
    assert diff.live_template_sha256 == template_sha256(serving())


def test_a_scalar_change_is_one_path_with_before_and_after_and_no_replacement() -> None:
    def edit(resources: dict[str, Any]) -> None:
        resources["Alarm"]["Properties"]["Threshold"] = 1200

    (alarm,) = diff_templates(serving(), changed(edit)).resources
    assert (alarm.logical_id, alarm.action, alarm.replaces, alarm.security) == (
        "Alarm",
        "Modify",
        False,
        False,
    )
    assert alarm.properties == (PropertyChange("Threshold", CHANGED, 1000, 1200, False, False),)


def test_lists_of_named_objects_are_matched_by_name_and_others_by_index() -> None:
    def edit(resources: dict[str, Any]) -> None:
        resources["Alarm"]["Properties"]["Dimensions"].insert(0, {"Name": "V", "Value": "all"})
        resources["Policy"]["Properties"]["PolicyDocument"]["Statement"][0]["Resource"][1] = "c"

    diff = by_id(diff_templates(serving(), changed(edit)).resources)
    assert set(paths(diff["Alarm"])) == {"Dimensions[Name=V].Name", "Dimensions[Name=V].Value"}
    assert {c.change for c in diff["Alarm"].properties} == {ADDED}
    statement = paths(diff["Policy"])["PolicyDocument.Statement[0].Resource[1]"]
    assert (statement.before, statement.after) == ("b", "c")


def test_an_intrinsic_function_is_one_value() -> None:
    def edit(resources: dict[str, Any]) -> None:
        resources["Endpoint"]["Properties"]["EndpointConfigName"] = {"Ref": "Other"}

    (endpoint,) = diff_templates(serving(), changed(edit)).resources
    (change,) = endpoint.properties
    assert change.path == "EndpointConfigName"
    assert change.after == {"Ref": "Other"}


def test_a_create_only_change_replaces_and_carries_to_what_refers_to_it() -> None:
    """PrimaryContainer is create-only for AWS::SageMaker::Model and ProductionVariants for
    AWS::SageMaker::EndpointConfig (their registry schemas); EndpointConfigName is not for
    AWS::SageMaker::Endpoint, which updates in place onto the new config."""

    def edit(resources: dict[str, Any]) -> None:
        resources["Model"]["Properties"]["PrimaryContainer"]["ModelDataUrl"] = "s3://b/bbb"

    diff = diff_templates(serving(), changed(edit))
    resources = by_id(diff.resources)
    assert diff.replaced == ("Model", "Config")
    model = paths(resources["Model"])["PrimaryContainer.ModelDataUrl"]
    assert (model.before, model.after, model.replaces) == (MODEL_URL, "s3://b/bbb", True)
    name = paths(resources["Config"])["ProductionVariants[VariantName=AllTraffic].ModelName"]
    assert (name.change, name.replaces) == (FOLLOWS, True)
    endpoint = paths(resources["Endpoint"])["EndpointConfigName"]
    assert (endpoint.change, endpoint.replaces, resources["Endpoint"].replaces) == (
        FOLLOWS,
        False,
        False,
    )


def test_a_new_type_replaces() -> None:
    def edit(resources: dict[str, Any]) -> None:
        resources["Alarm"]["Type"] = "AWS::CloudWatch::CompositeAlarm"

    (alarm,) = diff_templates(serving(), changed(edit)).resources
    assert alarm.replaces


def test_iam_and_security_properties_are_marked_and_others_not() -> None:
    def edit(resources: dict[str, Any]) -> None:
        resources["Policy"]["Properties"]["PolicyDocument"]["Statement"][0]["Action"] = "s3:*"
        resources["Model"]["Properties"]["ExecutionRoleArn"] = "arn:aws:iam::1:role/admin"
        resources["Model"]["Properties"]["Tags"][0]["Value"] = "bbb"

    resources = by_id(diff_templates(serving(), changed(edit)).resources)
    assert resources["Policy"].security
    assert paths(resources["Policy"])["PolicyDocument.Statement[0].Action"].security
    model = paths(resources["Model"])
    assert model["ExecutionRoleArn"].security
    assert not model["Tags[Key=model-sha256].Value"].security
    added = paths(by_id(diff_templates(None, serving()).resources)["Policy"])
    assert added["Roles[0]"].security


def test_a_first_deploy_adds_every_resource_with_each_value() -> None:
    diff = diff_templates(None, serving())
    assert diff.live_template_sha256 is None
    assert [(r.logical_id, r.action) for r in diff.resources] == [
        (name, "Add") for name in serving()["Resources"]
    ]
    alarm = paths(by_id(diff.resources)["Alarm"])
    assert alarm["Threshold"] == PropertyChange("Threshold", ADDED, None, 1000, False, False)


def test_a_removed_resource_and_a_changed_attribute_are_shown() -> None:
    def edit(resources: dict[str, Any]) -> None:
        del resources["Alarm"]
        resources["Model"]["DeletionPolicy"] = "Retain"

    resources = by_id(diff_templates(serving(), changed(edit)).resources)
    assert resources["Alarm"].action == "Remove"
    assert paths(resources["Alarm"])["Threshold"] == PropertyChange(
        "Threshold", REMOVED, 1000, None, False, False
    )
    assert paths(resources["Model"])["DeletionPolicy"].change == ADDED


def test_the_template_digest_ignores_key_order_and_whitespace() -> None:
    template = serving()
    reordered = json.loads(json.dumps(template, sort_keys=True, indent=4))
    assert template_sha256(reordered) == template_sha256(template)
    assert template_sha256(changed(lambda r: r.pop("Alarm"))) != template_sha256(template)


class _Answers:
    """A CloudFormation client that answers GetTemplate with a fixed body."""

    def __init__(self, body: Any) -> None:
        self.body = body

    def get_template(self, **kwargs: Any) -> dict[str, Any]:
        assert kwargs == {"StackName": "s", "TemplateStage": "Original"}
        return {"TemplateBody": self.body}


def test_the_live_template_is_read_as_json_and_a_yaml_one_is_refused_in_one_line() -> None:
    assert live_template(_Answers(serving()), "s") == serving()  # botocore parsed it
    assert live_template(_Answers(json.dumps(serving())), "s") == serving()
    with pytest.raises(
        AwsError, match=r"^the live template of s is not JSON, so it was not"
    ) as raised:
        live_template(_Answers("Resources:\n  A: {Type: X}\n"), "s")
    assert "\n" not in str(raised.value)


def test_any_value_of_a_security_type_but_its_tags_decides_access() -> None:
    group: dict[str, Any] = {
        "Type": "AWS::EC2::SecurityGroup",
        "Properties": {
            "GroupDescription": "g",
            "SecurityGroupIngress": [{"CidrIp": "10.0.0.0/8", "IpProtocol": "tcp"}],
            "Tags": [{"Key": "a", "Value": "1"}],
        },
    }
    opened = copy.deepcopy(group)
    opened["Properties"]["SecurityGroupIngress"][0]["CidrIp"] = "0.0.0.0/0"
    opened["Properties"]["Tags"][0]["Value"] = "2"
    (diff,) = diff_templates({"Resources": {"G": group}}, {"Resources": {"G": opened}}).resources
    found = paths(diff)
    assert found["SecurityGroupIngress[0].CidrIp"].security
    assert not found["Tags[Key=a].Value"].security


def test_a_create_only_value_that_appears_inside_a_new_object_replaces() -> None:
    """DataCaptureConfig is create-only for AWS::SageMaker::EndpointConfig: one that appears
    (absent before) is one change at its own path, and it replaces."""

    def edit(resources: dict[str, Any]) -> None:
        resources["Config"]["Properties"]["DataCaptureConfig"] = {"InitialSamplingPercentage": 5}

    config, endpoint = diff_templates(serving(), changed(edit)).resources
    (capture,) = config.properties
    assert capture.path == "DataCaptureConfig.InitialSamplingPercentage"
    assert (capture.change, capture.before, capture.after) == (ADDED, None, 5)
    assert capture.replaces and config.replaces
    assert endpoint.properties[0].change == FOLLOWS  # onto the new config
