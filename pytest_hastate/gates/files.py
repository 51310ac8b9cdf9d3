"""Run the static gates on files: read the documents, follow the package's links, gate.

The only module of the static step that reads files; the gates themselves stay pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pytest_hastate.errors import InputError
from pytest_hastate.gates.contract import check_contract
from pytest_hastate.gates.package import LinkedContract, PackageLinks, check_package
from pytest_hastate.gates.text import GateReport
from pytest_hastate.io.documents import LoadedDocument, check_shape, read_json_object
from pytest_hastate.models import CandidateContract, EndpointPackage
from pytest_hastate.models.profile import Profile
from pytest_hastate.resources import contracts_dir

CONTRACT = "candidate contract"
PACKAGE = "endpoint package"


def load_contract(path: Path) -> LoadedDocument:
    """The contract at ``path``; a path that names no file but a contract pytest-hastate ships
    (by file name, e.g. ``contracts/ha-opentofu-state-managed-s3-candidate.json``) is that one."""
    shipped = contracts_dir() / path.name
    if not path.exists() and shipped.is_file():
        path = shipped
    document = read_json_object(path, CONTRACT)
    check_shape(document, CONTRACT, CandidateContract)
    return document


def load_package(path: Path) -> LoadedDocument:
    document = read_json_object(path, PACKAGE)
    check_shape(document, PACKAGE, EndpointPackage)
    return document


def contract_candidates(reference: str, package_path: Path, roots: Sequence[Path]) -> list[Path]:
    """Where a package's ``candidate_contract`` may live, in the order they are tried.

    The package's folder, then each repository root, then each root's ``contracts/`` folder by
    file name (public-format packages point at ``docs/contracts/<name>.json``), then the
    contracts pytest-hastate ships, by file name.
    """
    given = Path(reference)
    if given.is_absolute():
        return [given]
    candidates = [package_path.parent / given]
    candidates += [root / given for root in roots]
    candidates += [root / "contracts" / given.name for root in roots]
    candidates.append(contracts_dir() / given.name)
    return list(dict.fromkeys(candidates))


def resolve_contract(reference: str, package_path: Path, roots: Sequence[Path]) -> Path | None:
    for candidate in contract_candidates(reference, package_path, roots):
        if candidate.is_file():
            return candidate
    return None


@dataclass(frozen=True)
class PackageGateRun:
    report: GateReport
    contract_path: Path | None
    contract: LoadedDocument | None


def gate_contract(
    document: LoadedDocument, profile: Profile, *, allow_template: bool = False
) -> GateReport:
    findings = check_contract(document.data, profile, allow_template=allow_template)
    return GateReport("contract", document.label, tuple(findings))


def load_linked_contract(
    reference: str, package_path: Path, roots: Sequence[Path]
) -> tuple[Path | None, LoadedDocument | None, str | None]:
    """(where the package's contract reference resolves, the loaded contract, why not)."""
    path = resolve_contract(reference, package_path, roots)
    if path is None:
        tried = ", ".join(str(p) for p in contract_candidates(reference, package_path, roots))
        return None, None, f"{reference!r} not found (tried {tried})"
    try:
        return path, load_contract(path), None
    except InputError as exc:
        return path, None, str(exc)


def gate_package(
    document: LoadedDocument,
    profile: Profile,
    *,
    allow_template: bool,
    roots: Sequence[Path],
    contract: LoadedDocument | None = None,
) -> PackageGateRun:
    """Gate a loaded package under ``profile``, following its contract and CA bundle links;
    ``contract`` is the linked contract when the caller has already resolved and loaded it (not
    read again)."""
    data = document.data
    linked: LinkedContract | None = None
    contract_path: Path | None = None
    reference = data.get("candidate_contract")
    if isinstance(reference, str) and reference.strip():
        if contract is None:
            contract_path, contract, problem = load_linked_contract(reference, document.path, roots)
        else:
            contract_path, problem = contract.path, None
        linked = (
            LinkedContract(
                reference,
                findings=tuple(
                    check_contract(contract.data, profile, allow_template=allow_template)
                ),
            )
            if contract is not None
            else LinkedContract(reference, problem=problem)
        )
    ca_problem: str | None = None
    ca_bundle = data.get("ca_bundle")
    if isinstance(ca_bundle, str):
        ca_path = document.path.parent / ca_bundle
        if not ca_path.is_file():
            ca_problem = f"CA bundle {ca_bundle!r} not found next to the package"
        elif b"PRIVATE KEY" in ca_path.read_bytes()[:1_000_000]:
            ca_problem = f"CA bundle {ca_bundle!r} holds a private key"
    findings = check_package(
        data,
        profile,
        allow_template=allow_template,
        links=PackageLinks(contract=linked, ca_bundle_problem=ca_problem),
    )
    report = GateReport("package", document.label, tuple(findings))
    return PackageGateRun(report=report, contract_path=contract_path, contract=contract)
