"""The proof suite (proofs/) run for real against the labs."""
