"""The domain flushes, never commits: whoever starts the work (an HTTP request, a CLI command, a
job) owns its transaction. Only ``processes/db.py`` (which defines the unit of work) and the
built-in TSA's own short transaction (a separate unit of work by design) open or end one; app/
does it only through ``processes.db.unit_of_work`` (which drops the after-commit callbacks and
the transaction's caches on a rollback), never with a bare ``commit()`` or ``rollback()``. And
an instance's state has one writer, ``engine.save``."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Calls that begin or end a transaction, or make a session of its own (as a method or a bare
# name: ``session.commit()``, ``db.rollback(session)``, ``with unit_of_work(session):``).
BOUNDARIES = {"commit", "rollback", "unit_of_work", "begin", "begin_nested", "sessionmaker",
              "Session"}
ALLOWED = {
    ("processes/db.py", None),  # the unit of work itself
    ("processes/pki/timestamping.py", "_issue"),  # the built-in TSA's own transaction
    ("processes/pki/timestamping.py", "_accept_and_record"),  # (its steps, for _issue)
    ("processes/pki/timestamping.py", "_in_process_timestamper"),  # its session factory
}


def _boundary_calls(path: Path) -> list[tuple[str | None, str, int]]:
    """(enclosing top-level function, name called, line) of each boundary call in ``path``."""
    found = []
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        owner = node.name if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) else None
        for call in ast.walk(node):
            if not isinstance(call, ast.Call):
                continue
            func = call.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name in BOUNDARIES:
                found.append((owner, name, call.lineno))
    return sorted(found, key=lambda f: f[2])


def test_no_domain_function_commits_or_rolls_back():
    offenders = []
    for path in sorted((ROOT / "processes").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if (rel, None) in ALLOWED:
            continue
        for owner, name, line in _boundary_calls(path):
            if (rel, owner) not in ALLOWED:
                offenders.append(f"{rel}:{line} {name}() in {owner or 'module level'}")
    assert offenders == [], ("transaction boundaries belong to app/ (the API, the pages, the "
                             "CLI, app/jobs.py):\n" + "\n".join(offenders))


def test_the_app_ends_transactions_only_through_the_unit_of_work():
    offenders = [f"{path.relative_to(ROOT).as_posix()}:{line} {name}()"
                 for path in sorted((ROOT / "app").rglob("*.py"))
                 if "migrations" not in path.parts
                 for _owner, name, line in _boundary_calls(path)
                 if name in ("commit", "rollback", "begin", "begin_nested")]
    assert offenders == [], "use processes.db.unit_of_work:\n" + "\n".join(offenders)


def test_the_check_sees_a_commit_where_there_is_one(tmp_path):
    """The walk finds the spellings it is meant to refuse (else the test above proves nothing)."""
    sample = tmp_path / "sample.py"
    sample.write_text("from processes.db import unit_of_work\n"
                      "def step(session):\n"
                      "    with unit_of_work(session):\n"
                      "        session.flush()\n"
                      "    session.commit()\n"
                      "class Job:\n"
                      "    def run(self, s):\n"
                      "        s.rollback()\n", encoding="utf-8")
    assert [(o, n) for o, n, _ in _boundary_calls(sample)] == [
        ("step", "unit_of_work"), ("step", "commit"), (None, "rollback")]


def test_an_instance_state_is_written_only_by_engine_save():
    """``engine.save(req, wf)`` is the one writer of ``state``/``state_version`` (compacted,
    with the serializer's version): no module assigns them by hand."""
    writers = []
    for path in sorted((ROOT / "processes").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = node.targets if isinstance(node, ast.Assign) else []
            for target in targets:
                names = target.elts if isinstance(target, ast.Tuple) else [target]
                if any(isinstance(n, ast.Attribute) and n.attr == "state_version"
                       for n in names):
                    writers.append(f"{rel}:{node.lineno}")
    assert [w.split(":")[0] for w in writers] == ["processes/flows/engine.py"], writers
