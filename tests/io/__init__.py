"""Tests of pytest_hastate/io."""
