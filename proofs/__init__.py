"""The proof suite of pytest-hastate: one module per step of the proof order.

In a checkout it is the top-level ``proofs/`` folder (``pytest proofs/ ...``); installed, it is
the package ``pytest_hastate.proofs`` (``pytest --pyargs pytest_hastate.proofs ...`` or
``hastate prove ...``). The same files either way.
"""
