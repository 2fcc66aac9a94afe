"""The README's first command, end to end: bake a project, run its pipeline with nox
(lint -> tests -> synth) exactly as the baked project's CI would, then its release process
on the embedded local AWS (deploy, tag, new model, deploy, tag, rollback, history) with a
bare origin, and the local AWS stopped after."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from os.path import relpath
from pathlib import Path

import pytest

from bakery import pipeline
from bakery.__main__ import main as bakery_main
from bakery.bake import TEMPLATE_ROOT


def test_demo_bakes_and_runs_the_baked_pipeline(tmp_path: Path) -> None:
    result = subprocess.run(
        # Relative, as the README's `python3 run.py demo` passes build/demo.
        [sys.executable, "-m", "bakery", "demo", "--output-dir", relpath(tmp_path, TEMPLATE_ROOT)],
        cwd=TEMPLATE_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    for session in ("lint", "tests", "synth"):
        assert f"Session {session} was successful" in output
    manifest = json.loads((tmp_path / "threat-detector/cdk.out/manifest.json").read_text())
    stacks = [
        name
        for name, art in manifest["artifacts"].items()
        if art["type"] == "aws:cloudformation:stack"
    ]
    assert len(stacks) == 12  # 4 environments x (artifacts, serving, monitoring)
    assert "[demo] pipeline passed" in output
    assert "dry run: nothing changed" in output
    assert "Execute exactly this plan: invoke deploy --env local --execute --plan " in output
    assert " holds: the plan made now has its digest " in output  # the execute ran that plan
    assert "as alice (arn:aws:iam::123456789012:user/alice)" in output
    assert "as bob (arn:aws:iam::123456789012:user/bob)" in output
    assert "approved: local needs 2 approvals from people but the deployer" in output
    assert "it has 2: alice (invoke approve), bob (invoke approve)" in output
    assert "verified: " in output and " InService on " in output
    assert "pushed v0.1.0 to origin" in output and "pushed v0.2.0 to origin" in output
    assert "(feature " in output  # v0.2.0 came from the feat(model) commit
    assert "rolled back local" in output
    assert "Deploys of local" in output
    history = output[output.index("Deploys of local") :]
    assert history.count("succeeded") == 3  # deploy v0.1.0, deploy v0.2.0, rollback
    assert history.count("approved by alice, bob") == 2  # each deploy's plan
    assert "rollback" in history
    assert "rollout: " in history  # each execute's metrics over its rollout window
    assert "in sync: local runs what its ledger says" in output  # invoke drift
    assert "stopped local AWS (pid " in output
    assert "[demo] release process on the local AWS passed" in output
    summary = result.stdout[result.stdout.index("[demo] summary:") :].splitlines()
    assert [" ".join(line.split()[:-2]) for line in summary[1:]] == [
        "nox (lint -> tests -> synth)", "start the local AWS",
        "deploy dry run", "deploy approved by alice", "deploy approved by bob",
        "deploy --execute", "tag v0.1.0",
        "deploy the new model dry run", "deploy the new model approved by alice",
        "deploy the new model approved by bob", "deploy the new model --execute", "tag v0.2.0",
        "roll back to v0.1.0", "history", "drift against the ledger", "stop the local AWS", "total",
    ]  # fmt: skip
    origin = tmp_path / "threat-detector-origin.git"
    tags = subprocess.run(
        ["git", "tag", "--list"], cwd=origin, capture_output=True, text=True, check=True
    ).stdout.split()
    assert tags == ["v0.1.0", "v0.2.0"]
    pid_file = tmp_path / "threat-detector/build/local-aws/moto.pid"
    assert not pid_file.exists()


def test_a_failed_step_still_stops_the_local_aws_and_fails_the_demo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every command is faked: the step that fails, what runs after it, the exit status."""
    ran: list[str] = []

    def run(step: str, command: Sequence[str], project: Path, *_: object, **__: object) -> None:
        ran.append(step)
        if step == "deploy dry run":  # what a dry run leaves: its plan's bundle
            (project / "build/deploys/local/20261201T101502123Z-1a2b3c4-9f0e/bundle").mkdir(
                parents=True
            )
        if step.startswith("deploy approved by"):
            assert command[-2:] == ["--plan", "20261201T101502123Z-1a2b3c4-9f0e"]
        if step == "deploy --execute":
            assert command[-2:] == ["--plan", "20261201T101502123Z-1a2b3c4-9f0e"]
            raise pipeline.PipelineError(f"{step} failed in {project} (exit 1)")

    monkeypatch.setattr(pipeline, "_run", run)
    status = bakery_main(["demo", "--output-dir", str(tmp_path)])
    assert status == 1
    assert ran[ran.index("deploy --execute") :] == ["deploy --execute", "stop the local AWS"]
    errors = capsys.readouterr().err.strip().splitlines()
    assert errors == [f"error: deploy --execute failed in {tmp_path / 'threat-detector'} (exit 1)"]
