"""The strict local AWS: moto on loopback, failing where CloudFormation and SageMaker fail.

moto is a lenient test double; this package puts AWS's documented behaviour in front of it
(cloudformation.py), provisions the resource types moto skips (resources.py) and injects
faults on request (faults.py); server.py serves it. `invoke local-aws` and every test that
deploys use it. What it models, and what it still does not, is listed in the README.
"""
