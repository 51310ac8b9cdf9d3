"""Tests of pytest_hastate/maintenance."""
