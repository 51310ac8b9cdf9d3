"""Test support: real test engines, recorded API servers, helpers."""
