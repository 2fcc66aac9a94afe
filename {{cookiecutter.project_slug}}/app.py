"""The CDK app, for the CDK CLI: cdk.json runs `python app.py`.

`cdk synth -c env=prod` selects environments (comma-separated; default all) and
`-c model_sha256=<digest>` the packaged model. `invoke synth` runs the same code in-process.
"""

import sys
from pathlib import Path

from {{ cookiecutter.package_name }}.infra.app import cli_main

if __name__ == "__main__":
    sys.exit(cli_main(Path(__file__).resolve().parent))
