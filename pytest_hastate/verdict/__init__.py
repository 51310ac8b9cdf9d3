"""The verdict: collecting reports, deciding (pure), reporting."""
