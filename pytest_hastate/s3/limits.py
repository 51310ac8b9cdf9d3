"""How long the proof waits on an endpoint, and how often it asks. Pure (no boto3), so the
fixtures can name them without loading the client."""

from __future__ import annotations

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 10.0
"""Per attempt. A state object is a few KiB to a few MB: a gateway that holds a request open
for 10 s is failing, and botocore's bounded retries (``ATTEMPTS`` in all) say so within ~30 s."""
ATTEMPTS = 3
"""How many times a request is sent at most (botocore's standard retries), unless its client
sends once (conditional writes, probes of an endpoint coming back)."""
STOP_PROMISE = 30.0
"""What one endpoint that never answers may cost before the run knows it failed: one
request's attempts, each its read timeout. Nothing after it waits on that endpoint again."""
