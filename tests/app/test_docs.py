"""The documentation stays true to the code where a machine can tell: README.md and docs/ point
only inside the repository and at things that exist, docs/api.md describes every API route (and
the PKI's), docs/operations.md every command, and docs/walkthrough.md names functions that exist
and counts its own steps right."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import click

from tests.e2e.test_readme import quick_start

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)|`(\.\./[^`\s]*)`")  # a link, or a path up in backticks
CODE_PATH = re.compile(r"`((?:app|processes|signer|tests|bpmn|bench|docs|\.ci)/[\w./-]*"
                       r"|config\.py|wsgi\.py|pyproject\.toml|Makefile)(?::[\w.]+)?`")


def _text(page: Path) -> str:
    return page.read_text(encoding="utf-8")


def test_the_pages_link_only_to_files_of_the_repository_that_exist():
    broken = []
    for page in PAGES:
        for link, quoted in LINK.findall(_text(page)):
            target = link or quoted
            if target.startswith(("http://", "https://", "#")):
                continue
            path = (page.parent / target.split("#", 1)[0]).resolve()
            if not path.is_relative_to(ROOT) or not path.exists():
                broken.append(f"{page.relative_to(ROOT)}: {target}")
    assert broken == [], "links outside the repository or to nothing"


def test_the_paths_the_pages_name_exist():
    missing = []
    for page in PAGES:
        for path in CODE_PATH.findall(_text(page)):
            if not (ROOT / path).exists():
                missing.append(f"{page.relative_to(ROOT)}: {path}")
    assert missing == []


def test_every_make_target_the_readme_names_exists():
    targets = set(re.findall(r"^([\w./-]+):", _text(ROOT / "Makefile"), re.MULTILINE))
    named = set(re.findall(r"\bmake ([\w./-]+)", _text(ROOT / "README.md")))
    assert named and named <= targets, named - targets


def test_the_quick_start_is_runnable_as_written():
    block = quick_start()
    assert not re.search(r"<[\w -]+>", block), "placeholders belong in the operations block"
    assert "../" not in block


def _api_routes(app) -> set[str]:
    """The JSON API's routes (written without ``/api/v1``) and the PKI's public ones."""
    found = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            path = rule.rule[len("/api/v1"):]
        elif rule.endpoint.startswith("pki."):
            path = rule.rule
        else:
            continue
        path = re.sub(r"<int:\w+>|<task_id>", "<id>", path).replace("<path:encoded>", "<request>")
        found |= {f"{method} {path}" for method in rule.methods - {"HEAD", "OPTIONS"}}
    return found


def test_the_api_reference_describes_every_api_route(app):
    reference = _text(ROOT / "docs" / "api.md").split("## The API, route by route", 1)[1]
    described = set(re.findall(r"\*\*`((?:GET|POST|PUT|DELETE) [^`]+)`\*\*", reference))
    routes = _api_routes(app)
    assert sorted(routes - described) == [], "API routes docs/api.md does not describe"
    assert sorted(described - routes) == [], "docs/api.md describes routes that do not exist"


def _commands(app) -> list[str]:
    names = [*app.cli.commands, "shell", "routes"]  # the last two: app/cli.py:main adds them
    found = []
    for name in names:
        command = app.cli.commands.get(name)
        found.append(name)
        if isinstance(command, click.Group) and name != "db":  # db: Flask-Migrate's own
            found += [f"{name} {sub}" for sub in command.commands]
    return found


def test_the_operations_page_names_every_command(app):
    text = _text(ROOT / "docs" / "operations.md").replace("\\|", "|")
    missing = []
    for command in _commands(app):
        *group, last = command.split(" ")
        prefix = " ".join(["sealflow", *group])
        # `sealflow seal suspend|resume|void|revoke` names all four.
        if not re.search(rf"`{re.escape(prefix)} (?:[\w-]+\|)*{re.escape(last)}\b", text):
            missing.append(command)
    assert missing == []


STEP = re.compile(r"^(\d+)\. (↩ )?`([^`:]+):([\w.]+)`", re.MULTILINE)


def _defines(path: Path, name: str) -> bool:
    scope: list[ast.stmt] = ast.parse(path.read_text(encoding="utf-8")).body
    for part in name.split("."):
        found = [n for n in scope if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                    ast.ClassDef)) and n.name == part]
        if not found:
            return False
        scope = found[0].body
    return True


def test_the_walkthrough_names_functions_that_exist_and_counts_its_returns():
    text = _text(ROOT / "docs" / "walkthrough.md")
    steps = STEP.findall(text)
    assert steps, "no numbered `file:function` steps"
    seen: set[str] = set()
    unknown, marks, returns = [], [], 0
    for i, (number, mark, path, function) in enumerate(steps, 1):
        assert int(number) == i, f"step {number} is out of order"
        if not (ROOT / path).exists() or not _defines(ROOT / path, function):
            unknown.append(f"{number}. {path}:{function}")
        back = path in seen
        returns += back
        if back != bool(mark):
            marks.append(f"{number}. {path} ({'unmarked' if back else 'marked'})")
        seen.add(path)
    assert unknown == [], "steps naming functions that do not exist"
    assert marks == [], "↩ marks a step back to a module already visited, and only those"
    figure = re.search(r"\*\*(\d+) of (\d+) steps go back to a module already visited", text)
    assert figure and (int(figure[1]), int(figure[2])) == (returns, len(steps)), (
        f"the walkthrough says {figure and figure.groups()}; its steps give "
        f"{returns} of {len(steps)}")
