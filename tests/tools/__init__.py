"""Tests of pytest_hastate/tools."""
