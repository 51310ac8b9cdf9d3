"""The non-secret documents pytest-hastate ships: the selected candidate contract, the
rejected-final examples, the endpoint package template and the JSON Schemas.

In a checkout this is the top-level ``contracts/`` folder; installed, the package
``pytest_hastate.contracts``. Read them through ``pytest_hastate.resources``.
"""
