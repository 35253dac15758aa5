"""The layout's rules that import-linter cannot state: no two modules share a name unless they
are the same idea on two layers and say so first thing, and the contract that keeps the signer's
inside out of reach lists every module of the signer."""

from __future__ import annotations

import ast
import tomllib
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("app", "processes", "signer")


def _modules() -> list[Path]:
    return [p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")
            if p.name != "__init__.py" and "migrations" not in p.parts]


def test_modules_that_share_a_name_say_first_thing_where_the_others_are():
    by_name: dict[str, list[Path]] = defaultdict(list)
    for path in _modules():
        by_name[path.stem].append(path)
    for pkg in (ROOT / "processes").iterdir():  # a package is a name too
        if (pkg / "__init__.py").exists():
            by_name[pkg.name].append(pkg)
    unexplained = []
    for _name, paths in sorted(by_name.items()):
        if len(paths) < 2:
            continue
        for path in paths:
            if path.is_dir():
                continue
            doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
            first = doc.split("\n\n", 1)[0].replace("\n", " ")
            others = [p for p in paths if p != path]
            missing = [str(o.relative_to(ROOT)) for o in others
                       if str(o.relative_to(ROOT)) not in first]
            if missing:
                unexplained.append(f"{path.relative_to(ROOT)} does not name {missing}")
    assert unexplained == [], "\n".join(unexplained)


def test_the_signer_contract_lists_every_module_of_the_signer():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    (public_face,) = [c for c in contracts if "public face" in c["name"]]
    listed = set(public_face["forbidden_modules"])
    present = {f"signer.{p.stem}" for p in (ROOT / "signer").glob("*.py")
               if p.name != "__init__.py"}
    assert sorted(present - listed) == [], "signer modules app/ and processes/ could import"
