"""The OpenTofu S3 backend block's settings: which the proof sets itself, which a package may
pass through (by allow-list, with their JSON types), and which route OpenTofu's requests or
choose its identity (never a package's). Pure."""

from __future__ import annotations

PROOF_SET = frozenset({"bucket", "key", "region", "endpoints", "use_lockfile"})
"""What the proof renders into every backend block from the package and the run."""

PACKAGE_OPTIONS: dict[str, type] = {
    "use_path_style": bool,
    "skip_s3_checksum": bool,
    "skip_credentials_validation": bool,
    "skip_requesting_account_id": bool,
    "skip_region_validation": bool,
    "skip_metadata_api_check": bool,
    "encrypt": bool,
    "max_retries": int,
    "retry_mode": str,
}
"""Settings a package may pass through to OpenTofu (``backend_options``), with their types.
Everything else is refused: the gate (rule P09) and the guard both read this one list."""

ROUTING_OR_IDENTITY = PROOF_SET | frozenset(
    {
        "endpoint", "workspace_key_prefix",
        "access_key", "secret_key", "token", "profile", "shared_credentials_file",
        "shared_credentials_files", "shared_config_files", "assume_role",
        "assume_role_with_web_identity", "role_arn", "session_name", "external_id",
        "allowed_account_ids", "forbidden_account_ids", "dynamodb_table", "dynamodb_endpoint",
        "sts_endpoint", "sts_region", "iam_endpoint", "custom_ca_bundle", "insecure",
        "force_path_style", "http_proxy", "https_proxy", "no_proxy",
    }
)  # fmt: skip
"""Settings that would send OpenTofu's requests elsewhere or under another identity: a package
naming one is told the proof owns it (the allow-list refuses it either way)."""


TEMPLATE_SEQUENCES = ("${", "%{")
"""What OpenTofu reads as an interpolation or a directive in a configuration string (OpenTofu
>= 1.10 evaluates the backend block; Terraform 1.11 does not): a rendered value holding one
would be a different value for OpenTofu than the literal the guard judged."""


def template_problem(value: str) -> str | None:
    """Why ``value`` cannot be rendered into OpenTofu's configuration as a literal, or None."""
    found = [sequence for sequence in TEMPLATE_SEQUENCES if sequence in value]
    if not found:
        return None
    return (
        f"holds {found[0]!r}, which OpenTofu evaluates as a template: the value it would use is "
        "not the literal judged"
    )


def strings_in(value: object) -> list[str]:
    """Every string in a JSON-like value, at any depth."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in strings_in(item)]
    if isinstance(value, list | tuple):
        return [s for item in value for s in strings_in(item)]
    return []


def allowed_in_backend(name: str) -> bool:
    """Whether the rendered backend block may carry ``name``."""
    return name in PROOF_SET or name in PACKAGE_OPTIONS
