"""Synth: one template per stack per environment, plain CloudFormation (no bootstrap, no
assets, cfn-lint clean), cdk-nag enforced, and failures that leave nothing half-written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk import aws_s3 as s3
from cfnlint.config import ConfigMixIn
from cfnlint.decode.decode import decode_str
from cfnlint.runner import Runner, run_template_by_data

from {{ cookiecutter.package_name }}.config import Settings, parse
from {{ cookiecutter.package_name }}.errors import ConfigError, SynthError
from {{ cookiecutter.package_name }}.infra import app as app_module
from {{ cookiecutter.package_name }}.infra.app import synthesize_into
from {{ cookiecutter.package_name }}.infra.assembly import SynthesizedStack
from {{ cookiecutter.package_name }}.node import bundled_node

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def test_one_template_per_stack_per_environment_in_deploy_order(
    synthesized: list[SynthesizedStack], settings: Settings
) -> None:
    expected = []
    for env in settings.environments.values():
        parts = ["artifacts", "serving"] + (["monitoring"] if env.monitoring else [])
        expected += [f"{env.name}-{part}" for part in parts]
    assert [stack.artifact_id for stack in synthesized] == expected
    for stack in synthesized:
        assert stack.template_path.is_file()
        assert stack.stack_name == f"{settings.project.name}-{stack.artifact_id}"
        if stack.artifact_id.endswith("-serving"):
            assert stack.dependencies == (f"{stack.environment}-artifacts",)


def test_templates_need_no_bootstrap_and_no_assets(
    synthesized: list[SynthesizedStack], template_json: dict[str, Any]
) -> None:
    for stack in synthesized:
        template = template_json[stack.artifact_id]
        assert "Rules" not in template, stack.artifact_id
        assert "BootstrapVersion" not in template.get("Parameters", {})
        assert "CDKMetadata" not in template["Resources"]
        assert "aws:cdk:path" not in json.dumps(template)
        assets = json.loads(
            stack.template_path.with_name(f"{stack.artifact_id}.assets.json").read_text()
        )
        # The only "file" an asset manifest may list is the template itself.
        files = assets.get("files", {})
        assert all(entry["source"]["path"].endswith(".template.json") for entry in files.values())
        assert assets.get("dockerImages", {}) == {}


def test_templates_are_cfn_lint_clean(
    synthesized: list[SynthesizedStack], settings: Settings
) -> None:
    problems = []
    # The rules are loaded once (cfn-lint's lint_file loads them for every file: 0.9 s).
    rules = Runner(ConfigMixIn()).rules
    for stack in synthesized:
        region = settings.environment(stack.environment).region
        template, matches = decode_str(Path(stack.template_path).read_text(encoding="utf-8"))
        if template is not None:
            matches += run_template_by_data(template, ConfigMixIn(regions=[region]), rules)
        problems += [f"{stack.artifact_id}: {match}" for match in matches]
    assert problems == []


def with_unacknowledged_finding(
    original: Any,
) -> Any:
    def build(*args: Any, **kwargs: Any) -> Any:
        app = original(*args, **kwargs)
        stack = Stack(app, "careless")
        s3.Bucket(stack, "NoLogsNoSsl")
        return app

    return build


def test_unacknowledged_nag_finding_fails_and_keeps_previous_output(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outdir = tmp_path / "cdk.out"
    dev = [settings.environment("dev")]
    synthesize_into(outdir, settings, dev)
    before = sorted(path.name for path in outdir.iterdir())

    monkeypatch.setattr(app_module, "build_app", with_unacknowledged_finding(app_module.build_app))
    with pytest.raises(SynthError) as raised:
        synthesize_into(outdir, settings, dev)
    message = str(raised.value)
    assert message.startswith("cdk-nag: ")
    assert "AwsSolutions-S" in message and "careless/NoLogsNoSsl" in message
    assert "\n" not in message
    assert sorted(path.name for path in outdir.iterdir()) == before
    assert (tmp_path / "cdk.out.validation-report.json").is_file()
    assert [path.name for path in tmp_path.iterdir() if path.name.startswith(".cdk.out")] == []

    monkeypatch.undo()
    synthesize_into(outdir, settings, dev)
    assert not (tmp_path / "cdk.out.validation-report.json").exists()


def test_model_digest_must_be_a_sha256(settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="model digest"):
        synthesize_into(tmp_path / "cdk.out", settings, [settings.environment("dev")], "abc")
    assert not (tmp_path / "cdk.out").exists()


def run_app(outdir: Path, context: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The CDK CLI's way in: python app.py with CDK_OUTDIR and CDK_CONTEXT_JSON."""
    env = {
        **os.environ,
        "CDK_OUTDIR": str(outdir),
        "CDK_CONTEXT_JSON": json.dumps(context),
        "PYTHONPATH": os.pathsep.join(
            [str(PROJECT_ROOT / "src"), os.environ.get("PYTHONPATH", "")]
        ),
    }
    env.pop("JSII_NODE", None)
    return subprocess.run(
        [sys.executable, "app.py"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_cdk_cli_entry_point_synthesizes_one_environment(
    tmp_path: Path, synthesized: list[SynthesizedStack]
) -> None:
    result = run_app(tmp_path, {"env": "dev"})
    assert result.returncode == 0, result.stderr
    expected = {f"{s.artifact_id}.template.json" for s in synthesized if s.environment == "dev"}
    assert {path.name for path in tmp_path.glob("*.template.json")} == expected
    # jsii runs on the bundled Node.js and prints no Node version banner.
    assert "node" not in result.stderr.lower(), result.stderr
    assert unconfigured_flags(tmp_path) == []


def recommended_flags() -> dict[str, Any]:
    """What `cdk init` writes into a new app's cdk.json: aws-cdk-lib's own
    recommended-feature-flags.json, read from the installed library's jsii assembly."""
    from aws_cdk import _jsii

    (assembly,) = Path(_jsii.__file__).parent.glob("aws-cdk-lib@*.jsii.tgz")
    with tarfile.open(assembly) as archive:
        member = archive.extractfile("package/recommended-feature-flags.json")
        assert member is not None
        flags: dict[str, Any] = json.load(member)
    return flags


def unconfigured_flags(outdir: Path) -> list[str]:
    """The recommended flags the synthesized app did not set to their recommended value, from
    the feature-flag report in the cloud assembly (what the CDK CLI counts and warns about)."""
    manifest = json.loads((outdir / "manifest.json").read_text(encoding="utf-8"))
    (report,) = [
        a for a in manifest["artifacts"].values() if a["type"] == "cdk:feature-flag-report"
    ]
    flags = report["properties"]["flags"]
    return sorted(
        name
        for name, value in recommended_flags().items()
        if flags.get(name, {}).get("userValue") != value
    )


def test_cdk_json_carries_every_flag_a_new_app_gets(synthesized: list[SynthesizedStack]) -> None:
    """The CDK CLI warned "83 feature flags are not configured" on this app; cdk.json now holds
    them (as `cdk init` and `cdk flags` keep them) and an in-process synth uses them too."""
    context = json.loads((PROJECT_ROOT / "cdk.json").read_text(encoding="utf-8"))["context"]
    recommended = recommended_flags()
    assert {name: context.get(name) for name in recommended} == recommended
    assert unconfigured_flags(synthesized[0].template_path.parent) == []


def test_a_cdk_json_without_flags_is_one_line(tmp_path: Path, settings: Settings) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "cdk.json").write_text("{", encoding="utf-8")
    moved = replace(settings, path=tmp_path / "config" / settings.path.name)
    with pytest.raises(ConfigError, match=r"cdk\.json: cannot read the CDK app's feature flags"):
        synthesize_into(tmp_path / "out", moved, moved.select(["dev"]))


def test_cdk_cli_entry_point_refuses_unknown_environment(tmp_path: Path) -> None:
    result = run_app(tmp_path, {"env": "qa"})
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: unknown environment 'qa': environments.toml defines local, dev, staging, prod"
    ]
    assert not list(tmp_path.glob("*.template.json"))


def test_bundled_node_is_an_executable() -> None:
    node = bundled_node()
    assert node.is_file() and os.access(node, os.X_OK)
    assert os.environ["JSII_NODE"]  # set by importing the infra package (conftest)


def test_monitoring_table_without_the_module_is_a_config_error(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = tomllib.loads(settings.path.read_text(encoding="utf-8"))
    document["environments"]["staging"]["monitoring"] = {
        "schedule": "cron(0 0 ? * * *)",
        "instance_type": "ml.m5.large",
        "max_runtime_seconds": 1800,
    }
    with_monitoring = parse(document, settings.path)
    monkeypatch.setattr(app_module, "_monitoring_module", lambda: None)
    with pytest.raises(ConfigError, match=r"environments\.staging\.monitoring is set but"):
        synthesize_into(
            tmp_path / "cdk.out", with_monitoring, [with_monitoring.environment("staging")]
        )
    assert not (tmp_path / "cdk.out").exists()


def test_a_relative_outdir_is_where_the_task_runs_after_a_change_of_directory(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CDK's Node.js process keeps the working directory it started in; a relative
    staging folder handed to it once left `invoke synth` run in-process from another folder
    (the doc tests' copies) with an empty cdk.out/ and the templates elsewhere."""
    for folder in ("first", "second"):
        (tmp_path / folder).mkdir()
        monkeypatch.chdir(tmp_path / folder)
        stacks = synthesize_into(Path("cdk.out"), settings, settings.select(["local"]))
        for stack in stacks:
            assert (tmp_path / folder / stack.template_path).is_file(), stack.template_path
