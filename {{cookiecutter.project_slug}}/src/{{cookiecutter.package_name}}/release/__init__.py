"""The governed pipeline: guardrails, plan, execute, verify and the ledger (docs: README)."""
