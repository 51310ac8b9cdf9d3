"""The scratch scope's vocabulary, pure and below everything that uses it: S3 names and their
normal forms (``names``), what must never be touched (``targets``: the protected targets and
the ``deny`` grammar), what a request addresses (``requests``), where a run may write and the
checks every request passes (``scratch``), and the OpenTofu backend settings (``backend``).

The gates, the S3 client factory's hooks, the OpenTofu workspace, the maintenance steps and the
tools all judge names through these modules; none of them does I/O.
"""
