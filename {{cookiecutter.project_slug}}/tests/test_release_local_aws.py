"""`invoke local-aws`: the strict moto server, a process started, reported and stopped by pid."""

from __future__ import annotations

import os
import socket
from dataclasses import replace
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from {{ cookiecutter.package_name }}.config import Settings
from {{ cookiecutter.package_name }}.errors import LocalAwsError
from {{ cookiecutter.package_name }}.release import local_aws


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_start_status_stop_by_pid(settings: Settings, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    local = replace(settings.environment("local"), endpoint_url=url)
    server = local_aws.local_aws(local, tmp_path / "local-aws")
    assert local_aws.status(server).startswith("not running")
    pid = local_aws.start(server)
    try:
        assert server.pid_file.read_text(encoding="utf-8").strip() == str(pid)
        assert local_aws.status(server) == f"running at {url} (pid {pid})"
        assert local_aws.start(server) == pid  # a second start finds the running one
        s3 = boto3.client(
            "s3",
            endpoint_url=url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        s3.create_bucket(Bucket="speaks-s3")
        assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["speaks-s3"]
    finally:
        assert local_aws.stop(server) == pid
    assert not server.pid_file.exists()
    assert not local_aws.alive(pid)
    assert local_aws.stop(server) is None
    assert local_aws.status(server).startswith("not running")


def test_a_stale_pid_file_is_not_trusted(settings: Settings, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    server = local_aws.local_aws(replace(settings.environment("local"), endpoint_url=url), tmp_path)
    server.pid_file.write_text(f"{os.getpid()}\n", encoding="utf-8")  # alive, but not moto
    assert local_aws.status(server).startswith("not running")


def test_only_loopback_environments_are_served(settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(LocalAwsError, match="'dev' has no loopback endpoint_url"):
        local_aws.local_aws(settings.environment("dev"), tmp_path)
    remote = replace(settings.environment("local"), endpoint_url="http://10.1.2.3:5123")
    with pytest.raises(LocalAwsError, match="no loopback endpoint_url"):
        local_aws.local_aws(remote, tmp_path)


def test_the_local_aws_is_strict(settings: Settings, tmp_path: Path) -> None:
    """`invoke local-aws` serves the strict layer: a custom-named IAM role whose Path (a
    create-only property) changes fails and rolls back, as on real CloudFormation, and an
    UPDATE change set on a REVIEW_IN_PROGRESS stack is refused."""
    from .conftest import aws_client as client
    from .test_strict_aws import apply, events, role_template

    url = f"http://127.0.0.1:{free_port()}"
    server = local_aws.local_aws(
        replace(settings.environment("local"), endpoint_url=url), tmp_path / "local-aws"
    )
    local_aws.start(server)
    try:
        cloudformation = client(url, "cloudformation")
        apply(cloudformation, "roles", role_template("/a/"), "CREATE", "one")
        stack = apply(cloudformation, "roles", role_template("/b/"), "UPDATE", "two")
        assert stack["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
        assert any(
            status == "UPDATE_FAILED" and "custom-named resource requires replacing" in reason
            for _, status, reason in events(cloudformation, "roles")
        )
        cloudformation.create_change_set(
            StackName="fresh",
            ChangeSetName="first",
            ChangeSetType="CREATE",
            TemplateBody=role_template("/", "other"),
        )
        with pytest.raises(ClientError, match=r"Stack \[fresh\] does not exist"):
            cloudformation.create_change_set(
                StackName="fresh",
                ChangeSetName="update",
                ChangeSetType="UPDATE",
                TemplateBody=role_template("/", "other"),
            )
    finally:
        local_aws.stop(server)
