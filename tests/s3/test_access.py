"""The proof's access comes from the package and the environment only; CI systems export an
undefined variable as the empty string, which counts as unset."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_hastate.errors import InputError
from pytest_hastate.models import EndpointPackage
from pytest_hastate.s3.client import access_from
from tests.support.helpers import filled_package

KEYS = {"TOFU_HA_STATE_ACCESS_KEY": "proof-key", "TOFU_HA_STATE_SECRET_KEY": "proof-secret"}


def package() -> EndpointPackage:
    return EndpointPackage.model_validate(filled_package())


def test_empty_endpoint_and_region_count_as_unset() -> None:
    env = {**KEYS, "TOFU_HA_STATE_ENDPOINT": "", "TOFU_HA_STATE_REGION": "",
           "TOFU_HA_STATE_SESSION_TOKEN": "", "AWS_CA_BUNDLE": ""}  # fmt: skip
    access = access_from(package(), Path("/pkg/endpoint-package.json"), env)
    assert access.endpoints == package().endpoints
    assert access.region == package().region
    assert access.session_token is None
    assert access.verify is True


def test_a_set_endpoint_must_still_agree() -> None:
    env = {**KEYS, "TOFU_HA_STATE_ENDPOINT": "https://elsewhere.example.com"}
    with pytest.raises(InputError, match="TOFU_HA_STATE_ENDPOINT: is set to 'https://elsewhere"):
        access_from(package(), Path("/pkg/endpoint-package.json"), env)
    slash = {**KEYS, "TOFU_HA_STATE_ENDPOINT": package().endpoint_url + "/"}
    with pytest.raises(InputError, match=r"only a trailing '/' differs"):
        access_from(package(), Path("/pkg/endpoint-package.json"), slash)


@pytest.mark.parametrize("name", sorted(KEYS))
def test_an_empty_key_is_missing(name: str) -> None:
    with pytest.raises(InputError, match=f"{name}: not set"):
        access_from(package(), Path("/pkg/endpoint-package.json"), {**KEYS, name: ""})
