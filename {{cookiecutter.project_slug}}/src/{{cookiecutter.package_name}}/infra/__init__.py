"""CDK constructs and stacks.

Importing this package points jsii at the bundled Node.js before aws_cdk loads.
"""

from ..node import use_bundled_node

use_bundled_node()
