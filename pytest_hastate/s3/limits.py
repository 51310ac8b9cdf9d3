"""How long the proof waits on an endpoint, and how often it asks. Pure (no boto3), so the
fixtures can name them without loading the client."""

from __future__ import annotations

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 10.0
"""A state object is a few KiB to a few MB: a gateway that holds a request open for 10 s is
failing. A request that met it is not sent again (``s3.client``): one read timeout says so."""
ATTEMPTS = 3
"""How many times a request is sent at most (the client's retry rule, ``s3.client``, with
botocore's standard conditions) when it fails quickly (a refused connection, a 5xx,
throttling), unless it is a conditional write (resent only when it provably never left: a
refused connection, a connect timeout, a failed TLS handshake) or its client sends once (probes
of an endpoint coming back, the watched window's clients). A read timeout is never retried."""
STOP_PROMISE = 30.0
"""What endpoints that never answer may cost before the run knows it failed: one read
timeout each, for the endpoints a step asks one after another (up to three). Nothing after it
waits on that endpoint again."""
