"""Tests of pytest_hastate/gates."""
