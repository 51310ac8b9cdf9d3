"""OpenTofu: the one CLI runner and the disposable workspace."""
