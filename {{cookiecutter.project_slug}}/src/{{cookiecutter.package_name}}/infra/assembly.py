"""What a synth produced, as plain data (no aws_cdk to import): the engine and the synth
cache read it without starting the CDK."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# The digest templates reference when no packaged model is given: synth stays reviewable and
# testable before a model exists; the deploy engine always passes the real digest.
UNPACKAGED_MODEL_SHA256 = "0" * 64


@dataclass(frozen=True)
class SynthesizedStack:
    """One stack of one environment, as written into the cloud assembly."""

    environment: str
    stack_name: str
    artifact_id: str
    template_path: Path
    dependencies: tuple[str, ...]
