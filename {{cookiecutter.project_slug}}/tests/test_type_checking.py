"""mypy follows only the aws_cdk modules this project imports (pyproject.toml says why), so
an import of another one must be listed there, or mypy would treat it as Any unseen."""

from __future__ import annotations

import ast
import importlib.util
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path

from .conftest import PROJECT_ROOT

CHECKED = [PROJECT_ROOT / name for name in ("src", "tests", "app.py", "tasks.py")]
PYPROJECT = PROJECT_ROOT / "pyproject.toml"


def followed(pyproject: Path) -> set[str]:
    """The modules a mypy override follows normally."""
    overrides = tomllib.loads(pyproject.read_text(encoding="utf-8"))["tool"]["mypy"]["overrides"]
    return {
        module
        for override in overrides
        if override.get("follow_imports") == "normal"
        for module in override["module"]
    }


def _cdk_folder() -> Path:
    spec = importlib.util.find_spec("aws_cdk")  # finds the package without importing it
    assert spec is not None and spec.submodule_search_locations is not None
    return Path(next(iter(spec.submodule_search_locations)))


def cdk_imports(paths: Iterable[Path]) -> dict[str, Path]:
    """Each aws_cdk module imported by the Python files under paths -> the first importer."""
    folder = _cdk_folder()
    found: dict[str, Path] = {}
    files = [
        p for path in paths for p in ([path] if path.is_file() else sorted(path.rglob("*.py")))
    ]
    for file in files:
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                # `from aws_cdk import aws_s3` imports the module aws_cdk.aws_s3;
                # `from aws_cdk import Stack` only the package.
                names = [node.module] + [
                    f"{node.module}.{alias.name}"
                    for alias in node.names
                    if (folder.parent / node.module.replace(".", "/") / alias.name).is_dir()
                ]
            else:
                continue
            for name in names:
                if name == "aws_cdk" or name.startswith("aws_cdk."):
                    found.setdefault(name, file)
    return found


def unfollowed(imports: Mapping[str, Path], listed: set[str]) -> list[str]:
    """One line per imported aws_cdk module that mypy would skip, saying what to do."""
    return [
        f"{module} (imported in {shown(file)}): add it to the followed aws_cdk modules in "
        "pyproject.toml's [[tool.mypy.overrides]]"
        for module, file in sorted(imports.items())
        if module not in listed
    ]


def shown(file: Path) -> Path:
    return file.relative_to(PROJECT_ROOT) if file.is_relative_to(PROJECT_ROOT) else file


def test_every_imported_aws_cdk_module_is_followed_by_mypy() -> None:
    imports = cdk_imports(CHECKED)
    assert {"aws_cdk", "aws_cdk.aws_s3"} <= set(imports)  # the scan sees the project's own
    assert unfollowed(imports, followed(PYPROJECT)) == []


def test_a_new_aws_cdk_import_is_named_until_it_is_listed(tmp_path: Path) -> None:
    module = tmp_path / "new_construct.py"
    module.write_text(
        "from aws_cdk import Duration, aws_lambda\nimport aws_cdk.aws_sqs\n", encoding="utf-8"
    )
    listed = followed(PYPROJECT)
    advice = "add it to the followed aws_cdk modules in pyproject.toml's [[tool.mypy.overrides]]"
    assert unfollowed(cdk_imports([module]), listed) == [
        f"aws_cdk.aws_lambda (imported in {module}): {advice}",
        f"aws_cdk.aws_sqs (imported in {module}): {advice}",
    ]
    assert (
        unfollowed(cdk_imports([module]), listed | {"aws_cdk.aws_lambda", "aws_cdk.aws_sqs"}) == []
    )
