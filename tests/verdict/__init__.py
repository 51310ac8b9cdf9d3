"""Tests of pytest_hastate/verdict."""
