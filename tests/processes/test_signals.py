"""Each signal's docstring says who receives it in Sealflow, and the app connects exactly those
(the sealing job is started by a signal: whoever reads ``grant_created`` finds its receiver)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from blinker import Signal

from processes import signals

SOURCE = Path(signals.__file__)


def _docstrings() -> dict[str, str]:
    """The docstring under each ``name = _signals.signal(...)`` of processes/signals.py."""
    body = ast.parse(SOURCE.read_text(encoding="utf-8")).body
    docs = {}
    for node, after in zip(body, body[1:], strict=False):
        if (isinstance(node, ast.Assign) and isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant)):
            docs[node.targets[0].id] = after.value.value
    return docs


def test_every_signal_names_the_receivers_the_app_connects(app):
    docs = _docstrings()
    declared = {name for name, value in vars(signals).items() if isinstance(value, Signal)}
    assert declared == set(docs), "a signal without a docstring"
    for name in sorted(declared):
        doc = " ".join(docs[name].split())
        named = set(re.findall(r"Receiver: ``([\w.]+)``", doc))
        assert named or "Receiver: none." in doc, f"{name}: its docstring names no receiver"
        connected = {f"{r.__module__}.{r.__qualname__}"
                     for r in getattr(signals, name).receivers_for(None)
                     if getattr(r, "__self__", None) is None
                     or r.__self__ is app.extensions["sealflow_jobs"]}
        assert connected == named, name


def test_the_signal_that_starts_the_sealing_job_names_its_receiver():
    doc = " ".join(_docstrings()["grant_created"].split())
    assert "app.jobs.JobRunner.on_grant" in doc and "sealing job" in doc
