# Operator entry points of pytest-hastate. `just --list` shows them all.
# `just` itself comes from the rust-just wheel (pip install -e '.[lab]').
# Paths are the repository's own (source_directory()), so the recipes work from any folder and
# from a justfile that imports this one; files an operator names stay relative to where they run.

set positional-arguments
set shell := ["bash", "-euo", "pipefail", "-c"]

root := source_directory()
venv_python := root / ".venv/bin/python"
python := if path_exists(venv_python) == "true" { venv_python } else { "python3" }
proofs := root / "proofs"
selected_contract := root / "contracts/ha-opentofu-state-managed-s3-candidate.json"

# List the recipes.
default:
    @just --list

# Contract gate (C01-C12): just ha-state-candidate-static-gate [--contract] FILE
ha-state-candidate-static-gate *args:
    {{ python }} -m pytest_hastate gate contract "$@"

# Contract gate on the selected candidate artifact.
ha-state-selected-candidate-static-gate:
    {{ python }} -m pytest_hastate gate contract {{ selected_contract }}

# Endpoint package gate (P01-P15): just ha-state-endpoint-package-gate [--package] FILE [--allow-template]
ha-state-endpoint-package-gate *args:
    {{ python }} -m pytest_hastate gate package "$@"

# The same package gate, under the name the live-candidate status file uses.
ha-state-endpoint-package-check *args:
    {{ python }} -m pytest_hastate gate package "$@"

# The proof suite: just ha-state-candidate-proof --endpoint-package FILE [--run-disposable-tofu --use-lockfile] ...
ha-state-candidate-proof *args:
    {{ python }} -m pytest {{ proofs }} "$@"

# Proof step 2a alone, as the public package format names it:
# just ha-state-credential-boundary-check [PACKAGE | --endpoint-package PACKAGE] [--checkpoint-file FILE] ...
ha-state-credential-boundary-check *args:
    #!/usr/bin/env bash
    set -euo pipefail
    args=()
    if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then args+=(--endpoint-package "$1"); shift; fi
    exec {{ python }} -m pytest {{ proofs }} --credential-boundary-check "${args[@]}" "$@"

# The static proof on the selected candidate contract (no network); ends INTERIM_ONLY by design.
static-proof *args:
    {{ python }} -m pytest {{ proofs }} -m static --contract {{ selected_contract }} --expect-interim "$@"

# Root-cause look at the live store: the bucket-index probe plus what the store reported:
# just rustfs-bucket-index-rca --scratch-probe [--since 30m] [--kubeconfig F] [--selector k=v] [--endpoint-package P]
rustfs-bucket-index-rca *args:
    {{ python }} -m pytest_hastate rca "$@"

# Start the local HA lab (a real SeaweedFS cluster): just lab-up [--topology singleton] [--dir DIR]
lab-up *args:
    {{ python }} -m pytest_hastate lab up "$@"

# Stop every process of the local lab: just lab-down [--dir DIR]
lab-down *args:
    {{ python }} -m pytest_hastate lab down "$@"

# Show the local lab's components: just lab-status [--dir DIR]
lab-status *args:
    {{ python }} -m pytest_hastate lab status "$@"

# The whole proof on a local HA lab: lab up, pre-maintenance proof, kill the primary gateway and
# a volume server, post-maintenance verify, cleanup, lab down. Ends GO.
demo *args:
    {{ python }} -m pytest_hastate demo --topology ha "$@"

# The same on the singleton lab (a gateway restart as maintenance). Ends INTERIM_ONLY.
demo-interim *args:
    {{ python }} -m pytest_hastate demo --topology singleton "$@"

# Watch the maintenance window (after the pre-maintenance phase; Ctrl-C, --duration S or
# --until-file F stops it; the verify checks it):
# just ha-state-maintenance-watch --endpoint-package P --from-checkpoint CP [--evidence-dir D]
ha-state-maintenance-watch *args:
    {{ python }} -m pytest_hastate watch "$@"

# One page for an operator or auditor from an evidence folder (Markdown for a CI job summary):
# just ha-state-report EVIDENCE_DIR [--format markdown|html] [--output FILE]
ha-state-report *args:
    {{ python }} -m pytest_hastate report "$@"

# Readiness from the latest evidence (strict passes only on GO), or capture it first:
# just tofu-state-ha-readiness [--expect-interim] [--evidence DIR] [--endpoint-package P]
tofu-state-ha-readiness *args:
    {{ python }} -m pytest_hastate readiness "$@"

# Validate an evidence bundle: just ha-state-proof-evidence-check DIR
ha-state-proof-evidence-check *args:
    {{ python }} -m pytest_hastate evidence check "$@"

# Read-only inventory of live object stores and storage classes:
# just ha-state-candidate-inventory [--kubeconfig FILE] [--context NAME] [--output FILE] [--fail-without-candidate]
ha-state-candidate-inventory *args:
    {{ python }} -m pytest_hastate inventory "$@"

# Plan the protected migration of one stack (refused without a GO for this package):
# just ha-state-migration-plan --endpoint-package FILE --state-key attic/terraform.tfstate --target-bucket B [--evidence DIR]
ha-state-migration-plan *args:
    {{ python }} -m pytest_hastate migration-plan "$@"

# The project's own test suite, after the linters (CI runs exactly this).
test *args: lint
    cd {{ root }} && {{ python }} -m pytest tests/ "$@"

# ruff and mypy; the JSON Schemas and the documentation's reference pages in sync with the code;
# the wheel built and checked, pyproject.toml validated; the documentation site built (strict).
lint:
    #!/usr/bin/env bash
    set -euo pipefail
    cd {{ root }}
    {{ python }} -m ruff check .
    {{ python }} -m ruff format --check .
    {{ python }} -m mypy
    {{ python }} -m pytest_hastate schema --check
    {{ python }} -m pytest_hastate reference --check
    {{ python }} -m validate_pyproject pyproject.toml
    out="$(mktemp -d)"; trap 'rm -rf "$out"' EXIT
    [ -e build ] || trap 'rm -rf "$out" build' EXIT  # setuptools' leftover, unless it was there
    log="$({{ python }} -m build --no-isolation --wheel --outdir "$out" . 2>&1)" || { echo "$log"; exit 1; }
    {{ python }} -m check_wheel_contents "$out"/*.whl
    NO_MKDOCS_2_WARNING=1 {{ python }} -m mkdocs build --strict --quiet --site-dir "$out/site"

# The documentation site into site/ (mkdocs-material, strict: a broken link fails).
docs:
    cd {{ root }} && NO_MKDOCS_2_WARNING=1 {{ python }} -m mkdocs build --strict

# Mutation testing of the guard and the verdict (mutmut, configured in pyproject.toml; about
# half an hour on 2 cores, not in CI): each area must kill >= 90 % of its mutants, and every
# survivor must be named in mutation/equivalent.txt with why it cannot change behaviour.
mutate *args:
    #!/usr/bin/env bash
    set -euo pipefail
    cd {{ root }}
    {{ python }} -c "import mutmut" 2>/dev/null || { echo "mutate: pip install -e '.[mutation]'"; exit 2; }
    rm -rf mutants  # no result kept from an earlier run: every mutant meets today's tests
    {{ python }} -m mutmut run --max-children "${HASTATE_MUTATE_CHILDREN:-2}" "$@" | tr '\r' '\n' | tail -n 3
    {{ python }} mutation/summary.py

# Regenerate contracts/schema/ from the models, and the documentation's reference pages.
schemas:
    cd {{ root }} && {{ python }} -m pytest_hastate schema
    cd {{ root }} && {{ python }} -m pytest_hastate reference

# Benchmarks on real labs, ours beside a baseline; results as JSON into bench/results/, and
# the verify plot when matplotlib is installed (pip install -e '.[bench]').
bench *args:
    cd {{ root }} && {{ python }} bench/run.py "$@"
    cd {{ root }} && ({{ python }} -c "import matplotlib" 2>/dev/null && {{ python }} bench/plot.py || echo "bench: no plot (pip install -e '.[bench]')")
