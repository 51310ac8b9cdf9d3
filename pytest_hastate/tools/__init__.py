"""Operator tools that work without pytest: CLI, demo, bundle, migration plan, inventory."""
