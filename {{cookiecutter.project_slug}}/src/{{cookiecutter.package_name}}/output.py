"""The console every command prints to: rich, readable in a terminal and in CI logs."""

from __future__ import annotations

import os
import sys

from rich.console import Console


def new_console() -> Console:
    """Logs (CI, pipes) get 120 columns instead of rich's 80; a terminal or COLUMNS decides.

    soft_wrap leaves long lines (ARNs, S3 URLs) whole for the log viewer to wrap, so they
    stay searchable; tables still fit the width.
    """
    width = None if sys.stdout.isatty() or "COLUMNS" in os.environ else 120
    return Console(highlight=False, width=width, soft_wrap=True)
