"""Tests of pytest_hastate/s3."""
