"""Who may do what: the bootstrap's roles as IAM policy documents (policies.py), the actions
CloudFormation needs per resource type (handlers.json) and per action the resources IAM
scopes it by (actions.json), and a small IAM policy evaluator that proves them (evaluate.py)."""
