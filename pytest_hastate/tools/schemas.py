"""JSON Schemas of our documents, generated from the models and kept in contracts/schema/."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from pytest_hastate.models import CandidateContract, EndpointPackage, VerdictRecord
from pytest_hastate.models.profile import Profile

SCHEMAS: dict[str, type[BaseModel]] = {
    "candidate-contract.schema.json": CandidateContract,
    "endpoint-package.schema.json": EndpointPackage,
    "profile.schema.json": Profile,
    "verdict.schema.json": VerdictRecord,
}


def render(model: type[BaseModel]) -> str:
    schema = model.model_json_schema(mode="validation")
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def drift(directory: Path) -> list[str]:
    """Names of the schema files that are missing or differ from the models."""
    return [
        name
        for name, model in SCHEMAS.items()
        if not (directory / name).is_file()
        or (directory / name).read_text("utf-8") != render(model)
    ]


def write(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, model in SCHEMAS.items():
        path = directory / name
        path.write_text(render(model), "utf-8")
        written.append(path)
    return written
