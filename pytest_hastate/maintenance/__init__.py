"""The maintenance steps: durability sample, reachability, verify, cleanup."""
