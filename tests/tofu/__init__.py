"""Tests of pytest_hastate/tofu."""
