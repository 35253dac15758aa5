"""`sealflow --help`, and the --help of every command and group, work on a machine with no
SEALFLOW_* settings at all (no secret key, no passphrase) and print no traceback; a command
that does work without them stops at once with one line naming the setting that is missing.

Each test runs the entry point pyproject.toml gives the `sealflow` script, in a child process
whose environment has no SEALFLOW_* variable (one process walks every command: the set-up
costs a second)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import click

from app.cli import build_cli

ROOT = Path(__file__).resolve().parents[2]
ENTRY_POINT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))[
    "project"]["scripts"]["sealflow"]

# Runs the entry point once per argument list (argv[1]: JSON), as the `sealflow` script would,
# and prints JSON: each run's exit code, standard output and standard error.
DRIVER = """
import contextlib, importlib, io, json, sys, traceback
module, _, function = sys.argv[1].partition(":")
main = getattr(importlib.import_module(module), function)
results = []
for args in json.loads(sys.argv[2]):
    out, err, code = io.StringIO(), io.StringIO(), 0
    sys.argv = ["sealflow", *args]
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            traceback.print_exc()
            code = "uncaught"
    results.append({"args": args, "code": code, "out": out.getvalue(), "err": err.getvalue()})
print(json.dumps(results))
"""


def run_sealflow(runs: list[list[str]], cwd: Path, **settings: str) -> list[dict]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SEALFLOW_", "FLASK_"))}
    env.update(PYTHONPATH=str(ROOT), **settings)
    done = subprocess.run([sys.executable, "-c", DRIVER, ENTRY_POINT, json.dumps(runs)],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def every_command(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, command in sorted(group.commands.items()):
        found.append((*path, name))
        if isinstance(command, click.Group):
            found += every_command(command, (*path, name))
    return found


def test_every_help_works_without_settings(tmp_path):
    commands = every_command(build_cli())
    assert {("init",), ("user", "add"), ("seal", "suspend"), ("pki", "root-crl"),
            ("serve",), ("worker",), ("demo",)} <= set(commands)
    results = run_sealflow([["--help"], *[[*path, "--help"] for path in commands]], tmp_path)

    top = results[0]
    assert top["code"] == 0 and top["err"] == "", top["err"]
    listed = top["out"].split("Commands:", 1)[1].split()
    assert {path[0] for path in commands} <= set(listed)
    for result, path in zip(results[1:], commands, strict=True):
        assert result["code"] == 0, (path, result)
        assert result["err"] == "", (path, result["err"])
        assert result["out"].startswith(f"Usage: sealflow {' '.join(path)} "), (path, result)
    assert not (tmp_path / "instance").exists()


def test_a_command_without_the_secrets_names_the_missing_setting(tmp_path):
    runs = [["init"], ["user", "add", "alice", "--password", "long-enough-1"],
            ["seal", "suspend", "1", "--reason", "test"], ["serve"], ["worker"], ["routes"]]
    for settings, missing in (({}, "SEALFLOW_SECRET_KEY"),
                              ({"SEALFLOW_SECRET_KEY": "s" * 32}, "SEALFLOW_KEY_PASSPHRASE")):
        for result in run_sealflow(runs, tmp_path, **settings):
            assert result["code"] == 1, result
            assert result["out"] == "", result
            [line] = result["err"].splitlines()
            assert line.startswith(f"Error: {missing} is not set"), result
    assert not (tmp_path / "instance").exists()
