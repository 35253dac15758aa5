"""Every package the code imports is declared in pyproject.toml, pinned: the code run by
app/, processes/ and signer/ in ``dependencies``, what only the tests and benchmarks import in
the ``test`` extra. A package that arrives only because another one depends on it today may be
gone after that one's next release."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUNTIME = ("app", "processes", "signer", "config.py", "wsgi.py")
TEST_ONLY = ("tests", "bench")


def _name(requirement: str) -> str:
    return _normal(re.match(r"[A-Za-z0-9._-]+", requirement).group(0))


def _normal(distribution: str) -> str:  # PEP 503
    return re.sub(r"[-_.]+", "-", distribution).lower()


def _declared() -> tuple[set[str], set[str]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return ({_name(r) for r in project["dependencies"]},
            {_name(r) for r in project["optional-dependencies"]["test"]})


def _files(tree: str) -> Iterator[Path]:
    path = ROOT / tree
    yield from [path] if path.is_file() else sorted(path.rglob("*.py"))


def _optional(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    """An import inside ``try: ... except ImportError:`` is one the code does without."""
    while node in parents:
        node, child = parents[node], node
        if isinstance(node, ast.Try) and child in node.body:
            caught = [h.type for h in node.handlers]
            if any(isinstance(t, ast.Name) and t.id in {"ImportError", "ModuleNotFoundError"}
                   for t in caught):
                return True
    return False


def _imports(path: Path) -> Iterator[tuple[str, int]]:
    """The top-level names ``path`` imports from outside the standard library and this repo
    (a benchmark's sibling scripts included), with their lines."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for top in {n.split(".")[0] for n in names}:
            ours = any((where / top).is_dir() or (where / f"{top}.py").is_file()
                       for where in (ROOT, path.parent))
            if top not in sys.stdlib_module_names and not ours \
                    and not _optional(node, parents):
                yield top, node.lineno


def _undeclared(trees: tuple[str, ...], declared: set[str]) -> list[str]:
    providers = importlib.metadata.packages_distributions()
    problems = []
    for tree in trees:
        for path in _files(tree):
            for top, line in _imports(path):
                dists = {_normal(d) for d in providers.get(top, [])}
                if not dists & declared:
                    problems.append(f"{path.relative_to(ROOT)}:{line}: {top} "
                                    f"(from {', '.join(sorted(dists)) or 'no installed package'})")
    return problems


def test_every_package_the_code_imports_is_a_declared_dependency():
    runtime, _ = _declared()
    problems = _undeclared(RUNTIME, runtime)
    assert not problems, "imported, not in [project] dependencies:\n" + "\n".join(problems)


def test_every_package_the_tests_and_benchmarks_import_is_declared():
    runtime, test = _declared()
    problems = _undeclared(TEST_ONLY, runtime | test)
    assert not problems, "imported, not declared (the test extra):\n" + "\n".join(problems)


def test_every_dependency_is_pinned_exactly():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    loose = [r for r in project["dependencies"] + project["optional-dependencies"]["test"]
             if not re.fullmatch(r"[A-Za-z0-9._-]+(\[[a-z0-9,_-]+\])?==[0-9][0-9A-Za-z.]*", r)]
    assert loose == []
