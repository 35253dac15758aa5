"""Reading designers' XML (BPMN and DMN) safely: DTDs and entity declarations are refused before
parsing, and the parser resolves no entities, loads no DTD, reaches no network."""

from __future__ import annotations

import re
from typing import Any

from lxml import etree

from processes.errors import Problem

DOCTYPE = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


def safe_parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           dtd_validation=False, huge_tree=False, remove_pis=True)


def parse_safely(name: str, data: bytes, max_bytes: int, kind: str
                 ) -> tuple[Any, list[Problem]]:
    """The parsed root of one ``kind`` (BPMN, DMN) file, or None and why not."""
    if len(data) > max_bytes:
        return None, [Problem(f"file is {len(data)} bytes, over the limit of {max_bytes}",
                              file=name)]
    match = DOCTYPE.search(data)
    if match:
        line = data[:match.start()].count(b"\n") + 1
        return None, [Problem(f"DTDs and entity declarations are not allowed in {kind} files",
                              line=line, file=name)]
    try:
        return etree.fromstring(data, safe_parser()), []
    except etree.XMLSyntaxError as exc:
        return None, [Problem(f"not well-formed XML: {exc.msg}", line=exc.lineno, file=name)]
