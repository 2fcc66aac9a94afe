"""The threat-scoring model: synthetic data, training, the SageMaker handler and packaging.

A logistic regression scores how likely a login session is malicious. Training is
deterministic (config/model.toml decides it) and the served artifact is plain JSON plus a
standard-library handler, so it does not depend on the container's scikit-learn version.
"""
