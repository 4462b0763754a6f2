"""Helpers shared by tests in several folders (and by the chaos harness, which runs outside pytest)."""
