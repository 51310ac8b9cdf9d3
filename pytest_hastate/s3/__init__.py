"""S3: the one client factory, its scratch guard, and scratch-scope operations."""
