"""The governed deploy of the working tree: its source for the pipeline (pipeline.py).

`invoke deploy` and `nox -s deploy` (CI) both call deploy(). Preflight (preflight.py) runs
every guardrail before anything is written to AWS; the source is the working tree's commit:
its model packaged and its templates synthesized. A dry run (the default) creates the
change sets only to read the plan, then deletes them. An execute always ends in a record,
success or failure, and a failure exits non-zero. A verified deploy's model is registered
in the model registry first when release.model_registry is on (registry.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from .. import caching
from ..config import BUILD, Settings
from ..digests import lock_sha256
from ..images import IMAGE
from ..infra.synth_cache import cached_synth
from .ledger import new_deploy_id
from .pipeline import DeployOutcome, DeployRequest, Result, Source, run_pipeline
from .preflight import Invocation, Run, preflight
from .sources import chosen_source, fetch_external

if TYPE_CHECKING:
    from ..model.packaged import ModelFiles, PackagedModel

__all__ = ["DeployOutcome", "DeployRequest", "Result", "deploy"]


def deploy(
    settings: Settings,
    request: DeployRequest,
    *,
    root: Path,
    environ: Mapping[str, str],
    out: Console,
    package: Callable[[Path], PackagedModel] | None = None,
) -> DeployOutcome:
    """Deploy the working tree's commit: package its model, synth its templates, apply."""
    run = preflight(
        settings,
        request.environment,
        Invocation(root, environ, out),
        execute=request.execute,
        plan=request.plan,
    )
    assert run.git is not None
    state = run.git
    out.print(
        f"preflight passed: {run.environment.name} ({run.aws.where}), commit "
        f"{state.commit[:7]} on {state.ref}, as {run.principal}"
    )
    return run_pipeline(
        run,
        request,
        new_deploy_id(state.commit),
        lambda folder: working_tree(run, folder, package, request.model_package),
    )


def working_tree(
    run: Run,
    folder: Path,
    package: Callable[[Path], PackagedModel] | None,
    model_package: str | None = None,
) -> Source:
    """The commit's templates in folder/cdk.out, serving its model: built from the commit
    (packaged into folder/model), or trained elsewhere ([model] source, --model-package:
    fetched into folder/model and checked, sources.py)."""
    assert run.git is not None
    cache = caching.cache_dir(run.root)
    chosen = chosen_source(run.environment, model_package)
    if chosen.kind == BUILD:
        packaged, said = _built_model(run, folder, package, cache)
        files: ModelFiles = packaged
        metrics: dict[str, Any] = asdict(packaged.metrics)
        container, origin = None, {"kind": BUILD}
    else:
        with run.out.status(f"fetching the model ({chosen.kind})…"):
            external = fetch_external(
                run.aws,
                run.environment,
                chosen,
                folder / "model",
                own_image=run.settings.serving.framework == IMAGE,
            )
        files, metrics = external.files, dict(external.metrics)
        container, origin = external.container, dict(external.origin)
        said = f"from {origin.get('package') or origin['uri']}"
    run.out.print(f"model {files.sha256} ({files.path.stat().st_size} bytes, {said})")
    with run.out.status("synthesizing…"):
        stacks, reused = cached_synth(
            cache,
            folder / "cdk.out",
            run.settings,
            [run.environment],
            files.sha256,
            container=container,
        )
    said = caching.REUSED if reused else "synthesized with cdk-nag"
    run.out.print(f"templates: {len(stacks)} stacks ({said})")
    return Source(
        templates=tuple((stack.stack_name, stack.template_path) for stack in stacks),
        model_sha256=files.sha256,
        model=files,
        commit=run.git.commit,
        ref=run.git.ref,
        lock_sha256=lock_sha256(run.root),
        metrics=metrics,
        model_source=origin,
    )


def _built_model(
    run: Run, folder: Path, package: Callable[[Path], PackagedModel] | None, cache: Path
) -> tuple[PackagedModel, str]:
    """The commit's model packaged into folder/model (from the cache where its inputs did not
    change), and how: "packaged" or the cache's word."""
    reused = False
    with run.out.status("packaging the model…"):
        if package is None:
            from ..model.cache import cached_package
            from ..model.settings import load

            packaged, reused = cached_package(cache, folder / "model", load(run.root))
        else:
            packaged = package(folder / "model")
    return packaged, caching.REUSED if reused else "packaged"
