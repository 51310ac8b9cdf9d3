"""Tests of pytest_hastate/lab."""
