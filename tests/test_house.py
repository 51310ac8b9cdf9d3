"""The house rules, checked: short functions, one-way import arrows, one module per heavy
library, and a static run (or importing the plugin) that loads none of them."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.helpers import PUBLIC_CONTRACT, REPO

PACKAGE = REPO / "pytest_hastate"
HEAVY = ("boto3", "botocore", "python_terraform", "kubernetes")
MAX_FUNCTION_LINES = 60


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def imported(path: Path) -> set[str]:
    """Every module ``path`` imports, at any depth of the file (lazy imports included)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def room(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return parts[0]


def test_no_function_is_longer_than_sixty_lines() -> None:
    long = [
        f"{path.relative_to(REPO)}:{node.lineno} {node.name} ({(node.end_lineno or node.lineno) - node.lineno + 1})"
        for path in modules()
        for node in ast.walk(ast.parse(path.read_text("utf-8")))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and (node.end_lineno or 0) - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert long == []


@pytest.mark.parametrize(
    ("library", "home"),
    [
        ("boto3", "s3/client.py"),
        ("botocore", "s3/client.py"),
        ("python_terraform", "tofu/runner.py"),
        ("kubernetes", "tools/inventory.py"),
        ("prometheus_client", "observability/reader.py"),
    ],
)
def test_one_module_imports_each_heavy_library(library: str, home: str) -> None:
    importers = sorted(
        str(path.relative_to(PACKAGE))
        for path in modules()
        if any(name == library or name.startswith(library + ".") for name in imported(path))
    )
    assert importers == [home]


def test_the_arrows_run_one_way() -> None:
    """Models import nothing of ours; the verdict's decision imports only models and steps;
    nothing imports the plugin; the proofs' library never imports the lab or the tools."""
    for path in modules():
        ours = {n for n in imported(path) if n.startswith("pytest_hastate")}
        where = path.relative_to(PACKAGE)
        assert "pytest_hastate.plugin" not in ours, where
        if room(path) == "models":
            assert ours <= {
                f"pytest_hastate.models.{m}"
                for m in (
                    "base",
                    "contract",
                    "package",
                    "verdict",
                    "checkpoint",
                    "profile",
                    "metrics",
                )
            }, where
        if where == Path("verdict/decide.py"):
            assert ours <= {
                "pytest_hastate.models",
                "pytest_hastate.steps",
                "pytest_hastate.exit_codes",
            }, ours
        if room(path) not in ("lab", "tools", "cli", "__main__"):  # the entry points may
            assert not {
                n for n in ours if n.startswith(("pytest_hastate.lab", "pytest_hastate.tools"))
            }, where


# What each room may import of ours (its own room always): the arrows of ARCHITECTURE.md.
BOTTOM = {"pytest_hastate.errors", "pytest_hastate.exit_codes"}
MAY_IMPORT = {
    "exit_codes": set(),
    "options": set(),
    "steps": set(),
    "errors": {"pytest_hastate.exit_codes"},
    "scope": {"pytest_hastate.models", *BOTTOM},
    "gates": {"pytest_hastate.models", "pytest_hastate.scope", "pytest_hastate.io",
              "pytest_hastate.resources", *BOTTOM},
    "io": {"pytest_hastate.models", "pytest_hastate.scope", "pytest_hastate.resources",
           *BOTTOM},
    "observability": {"pytest_hastate.models", *BOTTOM},
}  # fmt: skip


@pytest.mark.parametrize("where", sorted(MAY_IMPORT))
def test_the_bottom_of_the_house_imports_nothing_above_it(where: str) -> None:
    """The pure vocabulary (scope, the option and step tables, the errors) and the gates and io
    rooms import only what lies below them; the scope vocabulary no longer lives in s3."""
    paths = [PACKAGE / f"{where}.py"] if (PACKAGE / f"{where}.py").is_file() else []
    paths += sorted((PACKAGE / where).glob("*.py")) if (PACKAGE / where).is_dir() else []
    assert paths, where
    allowed = MAY_IMPORT[where] | {f"pytest_hastate.{where}"}
    for path in paths:
        ours = {n for n in imported(path) if n.startswith("pytest_hastate")}
        above = {n for n in ours if not any(n == a or n.startswith(a + ".") for a in allowed)}
        assert above == set(), path.relative_to(PACKAGE)


#: What a run or an install leaves in a working tree (the .gitignore's entries), for a copy of
#: the repository that is not a git checkout (CI runs on an exported tree).
UNTRACKED_PARTS = {"__pycache__", "evidence", "build", "dist", "migration", "site"}


def tracked_files() -> list[str]:
    """The files git tracks (plus new ones it does not ignore): what a clone holds. In an
    exported tree without git, every file outside what runs and installs leave behind."""
    if not (REPO / ".git").exists():
        return sorted(
            str(path.relative_to(REPO)) for path in REPO.rglob("*")
            if path.is_file() and not any(
                part.startswith(".") or part in UNTRACKED_PARTS or part.endswith(".egg-info")
                for part in path.relative_to(REPO).parts[:-1]
            )
        )  # fmt: skip
    done = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO, capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    return [line for line in done.stdout.splitlines() if (REPO / line).is_file()]


def test_comments_cite_only_what_is_in_the_repository() -> None:
    """No comment, docstring or documentation page cites a document outside the repository,
    and every module file or docs page one names is a file of the repository (not of an
    installed copy or a virtualenv beside it)."""
    outside = re.compile(
        r"(?-i:\bSPEC\b)|field[- ]notes|STYLE\.md|\.\./shared|shared/design", re.IGNORECASE
    )
    named = re.compile(r"(?<![\w/.])((?:[a-z0-9_-]+/)*[a-z0-9_-]+\.(?:py|md))\b")
    files = tracked_files()
    readable = [
        f for f in files
        if f.startswith(("pytest_hastate/", "proofs/", "docs/")) and f.endswith((".py", ".md"))
    ] + ["ARCHITECTURE.md", "README.md"]  # fmt: skip
    problems = []
    for relative in sorted(set(readable)):
        path = REPO / relative
        text = path.read_text("utf-8")
        if cited := outside.search(text):
            problems.append(f"{relative}: cites {cited.group(0)}")
        for name in set(named.findall(text)) - {"evidence/report.md"}:  # a run's output
            candidates = {name, f"pytest_hastate/{name}", f"docs/{name}",
                          str(path.parent.relative_to(REPO) / name)}  # fmt: skip
            found = candidates & set(files) or [f for f in files if f.endswith("/" + name)]
            if not found:
                problems.append(f"{relative}: names {name}, which is not in the repository")
    assert problems == []


def loaded_after(code: str, cwd: Path, heavy: tuple[str, ...] = HEAVY) -> set[str]:
    """The heavy libraries in ``sys.modules`` after running ``code`` in a fresh interpreter."""
    probe = f"{code}\nimport sys\nprint(sorted({{m.split('.')[0] for m in sys.modules}} & {set(heavy)!r}))"
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=cwd, capture_output=True, text=True, check=False
    )
    assert done.stdout.strip(), done.stderr
    return set(ast.literal_eval(done.stdout.strip().splitlines()[-1]))


def test_importing_the_plugin_loads_no_heavy_library(tmp_path: Path) -> None:
    assert loaded_after("import pytest_hastate.plugin", tmp_path) == set()


TRIVIAL_SESSION = (
    "import pytest\n"
    "code = pytest.main(['test_trivial.py', '-q', '-p', 'no:cacheprovider'])\n"
    "assert code == 0, code\n"
)
"""A pytest session over a project of one plain test (``trivial_project``): it proves nothing."""


@pytest.fixture
def trivial_project(tmp_path: Path) -> Path:
    (tmp_path / "test_trivial.py").write_text("def test_nothing():\n    pass\n")
    (tmp_path / "tox.ini").write_text("[pytest]\n")
    return tmp_path


def test_a_session_that_proves_nothing_loads_no_proof_machinery(trivial_project: Path) -> None:
    """Every pytest session loads the plugin: one without a package, contract or checkpoint
    must not pay for the models (pydantic), the clients or the reporter."""
    assert loaded_after(TRIVIAL_SESSION, trivial_project, (*HEAVY, "pydantic")) == set()


def test_a_session_that_proves_nothing_imports_only_the_plugins_own_modules(
    trivial_project: Path,
) -> None:
    """Each module of ours costs such a session its import through pytest's assertion
    rewriter (the plugin's distribution is marked for rewriting): the step table is read only
    once the proof suite is there or the command line asks for a proof."""
    probe = TRIVIAL_SESSION + (
        "import sys\nprint(sorted(m for m in sys.modules if m.startswith('pytest_hastate')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=trivial_project, capture_output=True, text=True,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    loaded = set(ast.literal_eval(done.stdout.strip().splitlines()[-1]))
    assert loaded <= {
        "pytest_hastate", "pytest_hastate.plugin", "pytest_hastate.aliases",
        "pytest_hastate.options", "pytest_hastate.stash", "pytest_hastate.activation",
    }, loaded  # fmt: skip


def test_a_static_run_loads_no_heavy_library(tmp_path: Path) -> None:
    import shutil

    shutil.copytree(
        REPO / "proofs", tmp_path / "proofs", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(PUBLIC_CONTRACT, tmp_path / "contract.json")
    (tmp_path / "tox.ini").write_text("[pytest]\n")
    code = (
        "import pytest\n"
        "code = pytest.main(['proofs/', '-m', 'static', '--contract', 'contract.json', '-q', "
        "'-p', 'no:cacheprovider', '--expect-interim'])\n"
        "assert code == 0, code"
    )
    assert loaded_after(code, tmp_path) == set()


def test_the_proof_counts_the_tests_use_match_the_proof_modules() -> None:
    """The outcome counts the suite asserts stay in step with the proof modules they count."""
    from tests.support.helpers import ALL_PROOF_TESTS, OBSERVED_TESTS, TOFU_TESTS

    def tests_in(pattern: str) -> int:
        return sum(
            isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
            for path in (REPO / "proofs").glob(pattern)
            for node in ast.parse(path.read_text("utf-8")).body
        )

    assert tests_in("test_*.py") == ALL_PROOF_TESTS - OBSERVED_TESTS + 1  # one, parametrized
    assert tests_in("test_3b_*.py") == 1
    assert tests_in("test_3_*.py") == TOFU_TESTS
