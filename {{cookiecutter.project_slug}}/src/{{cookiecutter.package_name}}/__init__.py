"""The service: configuration, infrastructure, model and the governed release pipeline."""
