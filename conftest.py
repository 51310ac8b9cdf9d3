"""Repository-root conftest.

The plugin itself is loaded through its ``pytest11`` entry point; nothing is configured here
so that ``pytest proofs/`` behaves the same in this repository and in an operator's checkout.
"""
