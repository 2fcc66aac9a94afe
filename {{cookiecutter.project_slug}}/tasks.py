"""invoke tasks: the pipeline for people (`invoke --list`, `invoke --help <task>`).

CI runs these same tasks through the nox sessions in noxfile.py, so a laptop and CI run the
same code. Each task is a thin door into src/{{ cookiecutter.package_name }}/commands.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from invoke.collection import Collection
from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import Task, task

LINT_COMMANDS = ("ruff check .", "ruff format --check .", "mypy")
# The project is the folder of this tasks.py (the one invoke loaded), whichever installed
# package runs it: its config, its git repository, its build/.
ROOT = Path(__file__).resolve().parent


# One meaning per short flag across every task; an option not named here has its long form
# only (invoke would otherwise give -t to --timeout-minutes in one task and --to in another).
SHORT_FLAGS = {
    "bump": "b",
    "deploy": "d",
    "env": "e",
    "execute": "x",
    "json": "j",
    "limit": "l",
    "model_sha256": "m",
    "outdir": "o",
    "plan": "p",
    "to": "t",
}


class ProjectTask(Task[Any]):
    """A task whose short flags come from SHORT_FLAGS, and whose every option is a flag: an
    option without a default (--env) would be positional, and `invoke deploy --help` would
    then read "--help" as the environment."""

    def arg_opts(self, name: str, default: Any, taken_names: set[str]) -> dict[str, Any]:
        opts: dict[str, Any] = super().arg_opts(name, default, taken_names)
        opts["names"] = [opts["names"][0], *([SHORT_FLAGS[name]] if name in SHORT_FLAGS else [])]
        opts["positional"] = False
        return opts


@contextmanager
def refusals() -> Iterator[None]:
    """An expected failure (a ProjectError, AWS unreachable, no or expired credentials) is one
    line on stderr and exit 1, not a traceback; a bug keeps its traceback."""
    from {{ cookiecutter.package_name }}.errors import expected_failure

    try:
        yield
    except Exception as error:
        expected = expected_failure(error)
        if expected is None:
            raise
        raise Exit(f"error: {expected}", code=1) from None


@task(klass=ProjectTask)
def lint(c: Context) -> None:
    """Lint: ruff check, ruff format --check and mypy (strict), as CI runs them."""
    for command in LINT_COMMANDS:
        c.run(command)


@task(klass=ProjectTask)
def test(c: Context) -> None:
    """Run the tests (pytest); anything after `--` goes to pytest, e.g. `-- -k config`."""
    c.run(f"python -m pytest {c.remainder}".strip())


@task(
    klass=ProjectTask,
    iterable=["env"],
    help={
        "env": "Environment to synthesize; repeat for several (default: every environment)",
        "model-sha256": "sha256 of the packaged model the templates should serve",
        "outdir": "Cloud assembly folder (default: cdk.out)",
    },
)
def synth(c: Context, env: list[str], model_sha256: str = "", outdir: str = "cdk.out") -> None:
    """Synthesize CloudFormation templates (cdk-nag checked) and say where each went."""
    from {{ cookiecutter.package_name }} import commands

    with refusals():
        commands.synth(ROOT, env, Path(outdir), model_sha256)


@task(klass=ProjectTask)
def audit(c: Context) -> None:
    """Known vulnerabilities in what uv.lock pins (pip-audit); says so when it checked nothing."""
    from {{ cookiecutter.package_name }} import commands

    with refusals():
        status = commands.audit(ROOT)
    if status:
        raise Exit(code=status)


@task(klass=ProjectTask, help={"outdir": "Cloud assembly folder to scan (default: cdk.out)"})
def scan(c: Context, outdir: str = "cdk.out") -> None:
    """checkov on the templates, parliament on the bootstrap's IAM; fails on findings that
    config/checkov.toml or config/iam-lint.toml does not acknowledge."""
    from {{ cookiecutter.package_name }} import commands

    with refusals():
        commands.scan(ROOT, Path(outdir))


@task(klass=ProjectTask, help={"outdir": "Where model.json goes (default: build/model)"})
def train(c: Context, outdir: str = "build/model") -> None:
    """Train the model (deterministic, from config/model.toml) and show its metrics."""
    from {{ cookiecutter.package_name }}.model.commands import train_command

    with refusals():
        train_command(ROOT, Path(outdir))


@task(
    klass=ProjectTask,
    help={"outdir": "Where model.tar.gz and the baseline go (default: build/model)"},
)
def package(c: Context, outdir: str = "build/model") -> None:
    """Train and package a reproducible model.tar.gz; prints its sha256."""
    from {{ cookiecutter.package_name }}.model.commands import package_command

    with refusals():
        package_command(ROOT, Path(outdir))


@task(
    klass=ProjectTask,
    help={
        "env": "Environment to deploy (from config/environments.toml), e.g. local or prod",
        "execute": "Apply the plan; without it this is a dry run that changes nothing. A "
        "protected environment also needs {{ cookiecutter.deploy_confirm_variable }} set to "
        "I_UNDERSTAND_THE_COST (the variable is project.deploy_confirm_variable in "
        "config/environments.toml)",
        "upload-artifacts": "Upload the model artifact if missing (--no-upload-artifacts: "
        "require it to be in the bucket already)",
        "timeout-minutes": "How long to wait for each stack and the endpoint (default: 60)",
        "plan": "The deploy id of the reviewed dry run to execute: refused if anything it was "
        "computed from changed since (commit, live stacks, model, templates). Required where "
        "the environment's policy has require_reviewed_plan (staging and prod)",
        "model-package": "Serve a version of a SageMaker model package group instead of the "
        "environment's [model] source: a version number of its group, latest-approved, or a "
        "version's ARN; refused unless the version is Approved",
        "replay-captured": "Also replay the newest N requests the endpoint captured (data "
        "capture, in the artifact bucket) through the live and the candidate model, beside the "
        "golden requests (default: 0, none)",
    },
)
def deploy(
    c: Context,
    env: str = "",
    *,
    execute: bool = False,
    upload_artifacts: bool = True,
    timeout_minutes: int = 60,
    plan: str = "",
    model_package: str = "",
    replay_captured: int = 0,
) -> None:
    """Governed deploy: preflight, synth, package, change-set plan; --execute applies it."""
    from {{ cookiecutter.package_name }} import commands

    with refusals():
        commands.deploy(
            ROOT,
            env,
            execute=execute,
            upload_artifacts=upload_artifacts,
            timeout_minutes=timeout_minutes,
            plan=plan or None,
            model_package=model_package or None,
            replay_captured=replay_captured,
        )


@task(
    klass=ProjectTask,
    help={
        "env": "Environment to roll back",
        "to": "A deploy id or a vX.Y.Z tag to return to (default: the deploy before the live one)",
        "to-model-package": "Model-only rollback: serve version N of the model package group "
        "<project>-<env> with the live deploy's templates (needs release.model_registry)",
        "execute": "Apply the rollback; without it this is a dry run that changes nothing",
        "timeout-minutes": "How long to wait for each stack and the endpoint (default: 60)",
        "plan": "The deploy id of the rollback's reviewed dry run to execute (with the same "
        "--to): refused if anything it was computed from changed since. Required where the "
        "environment's policy has rollback_approvals_required (staging and prod)",
    },
)
def rollback(
    c: Context,
    env: str = "",
    *,
    to: str = "",
    to_model_package: int = 0,
    execute: bool = False,
    timeout_minutes: int = 60,
    plan: str = "",
) -> None:
    """Redeploy an earlier deploy's bundle, or only an earlier model; dry run unless --execute."""
    from {{ cookiecutter.package_name }} import commands

    with refusals():
        commands.rollback(
            ROOT,
            env,
            to=to,
            to_model_package=to_model_package,
            execute=execute,
            timeout_minutes=timeout_minutes,
            plan=plan or None,
        )


@task(
    klass=ProjectTask,
    help={
        "env": "Environment to bootstrap (it needs a [bootstrap] table in config)",
        "execute": "Create or update the bootstrap stack (an account admin's credentials); "
        "without it this is a dry run",
    },
)
def bootstrap(c: Context, env: str = "", *, execute: bool = False) -> None:
    """Make an environment's CI roles: GitHub OIDC, deploy, execution and read-only roles."""
    from {{ cookiecutter.package_name }} import commands

    with refusals():
        commands.bootstrap(ROOT, env, execute=execute)


@task(
    klass=ProjectTask,
    help={
        "env": "Environment to tear down (its policy must have destroy_allowed; prod's has not)",
        "execute": "Delete the serving and monitoring stacks; without it this is a dry run. "
        "Always needs {{ cookiecutter.deploy_confirm_variable }} set to I_UNDERSTAND_THE_COST",
        "timeout-minutes": "How long to wait for each stack's deletion (default: 60)",
    },
)
def destroy(c: Context, env: str = "", *, execute: bool = False, timeout_minutes: int = 60) -> None:
    """Delete an environment's endpoint stacks to stop its cost; models and ledger are kept."""
    from {{ cookiecutter.package_name }} import commands

    with refusals():
        commands.destroy(ROOT, env, execute=execute, timeout_minutes=timeout_minutes)


@task(
    klass=ProjectTask,
    help={
        "env": "Environment whose plan you approve",
        "plan": "The deploy id of the dry run whose plan you reviewed (it printed it; plan.md "
        "names it)",
        "digest": "The plan digest you reviewed (plan.md shows it; at least 12 hex digits): "
        "refused if the plan has another one. Default: the kept plan's",
    },
)
def approve(c: Context, env: str = "", plan: str = "", digest: str = "") -> None:
    """Approve a reviewed plan under your own AWS (and GitHub) identity: the two-person rule."""
    from {{ cookiecutter.package_name }} import commands

    with refusals():
        if not plan:
            raise Exit("error: no plan given: add --plan <the deploy id the dry run printed>")
        commands.approve(ROOT, env, plan=plan, digest=digest)


@task(
    klass=ProjectTask,
    help={
        "env": "Environment whose ledger holds the record",
        "deploy": "The deploy id of the record (invoke history lists them)",
        "text": "The note, in quotes: what happened after, and what follows (at most 2000 "
        "characters; link a longer write-up)",
    },
)
def note(c: Context, env: str = "", deploy: str = "", text: str = "") -> None:
    """Append a follow-up note (who, when) to a deploy's record; invoke history shows it."""
    # --text is a flag: as a positional argument invoke would read `invoke note --help` as
    # a note saying "--help".
    from {{ cookiecutter.package_name }} import commands

    with refusals():
        commands.note(ROOT, env, deploy_id=deploy, text=text)


@task(
    klass=ProjectTask,
    help={
        "bump": "patch, minor or major (default: from the commits since the last tag: "
        "feat -> minor, breaking -> major, anything else -> patch)",
        "execute": "Create the annotated tag and push it to origin (and a GitHub release "
        "when GITHUB_TOKEN is set); without it this is a dry run",
    },
)
def tag(c: Context, bump: str = "", execute: bool = False) -> None:
    """Tag HEAD vX.Y.Z once it deployed successfully to the release environment."""
    from {{ cookiecutter.package_name }} import commands

    with refusals():
        commands.tag(ROOT, bump=bump, execute=execute)


@task(
    klass=ProjectTask,
    help={
        "execute": "Apply the differences to GitHub (branch protection of release.branch, "
        "one environment per [approvals] table); without it this only shows them and exits 1 "
        "while GitHub differs from config, so CI can use it as a drift check. Needs "
        "GITHUB_TOKEN with admin rights on the repository",
    },
)
def governance(c: Context, execute: bool = False) -> None:
    """Compare GitHub's branch protection and environments with config; --execute applies."""
    from {{ cookiecutter.package_name }} import commands

    with refusals():
        status = commands.governance(ROOT, execute=execute)
    if status:
        raise Exit(code=status)


@task(
    klass=ProjectTask,
    help={
        "env": "Environment whose ledger to read",
        "json": "Print the records as JSON (for scripts) instead of a table",
        "limit": "Show only the newest N records (default: all)",
    },
)
def history(c: Context, env: str = "", json: bool = False, limit: int = 0) -> None:
    """Deploy records of an environment from its ledger, newest first."""
    from {{ cookiecutter.package_name }} import commands

    with refusals():
        commands.history(ROOT, env, as_json=json, limit=limit)


@task(
    klass=ProjectTask,
    help={
        "env": "Environment to check against its ledger",
        "json": "Print the report as JSON (for scripts) instead of a table",
    },
)
def drift(c: Context, env: str = "", json: bool = False) -> None:
    """Is what runs in AWS what the ledger says? Exit 0 in sync, 2 drifted, 1 on error."""
    from {{ cookiecutter.package_name }} import commands

    with refusals():
        status = commands.drift(ROOT, env, as_json=json)
    if status:
        raise Exit(code=status)


@task(
    klass=ProjectTask,
    help={
        "env": "Environment served by the local AWS (default: local)",
        "stop": "Stop the server started earlier (by its pid file)",
        "status": "Say whether it is running",
    },
)
def local_aws(c: Context, env: str = "local", stop: bool = False, status: bool = False) -> None:
    """Start the embedded local AWS (a moto server on loopback) in the background."""
    from {{ cookiecutter.package_name }} import commands

    if stop and status:
        raise Exit("error: give --stop or --status, not both", code=1)
    with refusals():
        commands.local_aws(ROOT, env, "stop" if stop else "status" if status else "start")


@task(
    klass=ProjectTask,
    help={
        "strict": "Exit 1 when out of date or the template cannot be reached "
        "(default: informational, exit 0)",
    },
)
def template_check(c: Context, strict: bool = False) -> None:
    """Is this project up to date with its template? (cruft check on .cruft.json)"""
    from {{ cookiecutter.package_name }}.template_update import check_template

    with refusals():
        status = check_template(ROOT)
    if status.exit_code(strict=strict):
        raise Exit(status.line, code=1)
    print(status.line)


ns = Collection(
    lint,
    test,
    synth,
    scan,
    audit,
    train,
    package,
    bootstrap,
    deploy,
    approve,
    tag,
    rollback,
    destroy,
    history,
    note,
    drift,
    governance,
    local_aws,
    template_check,
)
ns.configure({"run": {"echo": True, "pty": False}})
