"""Our stylesheets parse as their authors meant: a brace lost (a merge keeps both sides' rules
and drops the one closing line they shared) makes the browser swallow every rule after it into
an @media block, and a page elsewhere breaks (the new-request page's seal stopped being
positioned). Each section comment of app/static/*.css opens at the top level, and every brace
closes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

STATIC = Path(__file__).resolve().parents[2] / "app" / "static"


@pytest.mark.parametrize("sheet", sorted(p.name for p in STATIC.glob("*.css")))
def test_every_brace_closes_and_sections_start_at_the_top_level(sheet):
    text = (STATIC / sheet).read_text(encoding="utf-8")
    depth, unclosed = 0, []
    for number, line in enumerate(text.splitlines(), 1):
        code = re.sub(r"/\*.*?\*/", "", line)
        if line.startswith("/*") and depth:
            unclosed.append(number)  # a section comment inside a rule or an @media block
        depth += code.count("{") - code.count("}")
        assert depth >= 0, f"{sheet}:{number} closes a brace never opened"
    assert depth == 0 and unclosed == [], (sheet, depth, unclosed)
