"""Render the template into a folder, replacing an earlier bake, all or nothing."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

TEMPLATE_ROOT = Path(__file__).resolve().parents[1]


class BakeError(Exception):
    """The template could not be rendered (a hook refused an answer, or rendering failed)."""


def bake(output_dir: Path, answers: Mapping[str, str] | None = None) -> Path:
    """Render with the default answers, overridden by `answers`, into output_dir/<slug>/.

    The project is rendered beside its destination and moved into place only when every
    hook succeeded, so a refused answer leaves an earlier bake (or nothing) untouched.
    """
    from cookiecutter.exceptions import CookiecutterException, FailedHookException
    from cookiecutter.main import cookiecutter

    output_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".bake-", dir=output_dir))
    try:
        rendered = Path(
            cookiecutter(
                str(TEMPLATE_ROOT),
                no_input=True,
                extra_context=dict(answers or {}),
                output_dir=str(staging),
            )
        )
        target = output_dir / rendered.name
        if target.exists():
            shutil.rmtree(target)
        rendered.rename(target)
        return target
    except FailedHookException:
        # The hook has already printed its one line saying which answer and why.
        raise BakeError("a hook refused the answers; nothing was written") from None
    except CookiecutterException as error:
        raise BakeError(f"the template could not be rendered: {error}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
