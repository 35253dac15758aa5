"""Reading designers' XML (BPMN and DMN) safely: each file is decoded as XML says it is encoded,
DTDs and entity declarations are refused in the decoded text, and that same text (as UTF-8) is
what the parser reads, with entities unresolved, no DTD loaded and no network reached."""

from __future__ import annotations

import codecs
import re
from typing import Any

from lxml import etree

from processes.errors import Problem, msg

DOCTYPE = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_DECLARED = re.compile(rb"""<\?xml[^>]*?\sencoding\s*=\s*["']([A-Za-z][A-Za-z0-9._-]*)["']""")
_DECLARATION = re.compile(r"""^(<\?xml[^>]*?\sencoding\s*=\s*)(["'])[^"']*\2""")
# Byte-order marks first (UTF-32 before UTF-16: FF FE 00 00 starts with FF FE), then UTF-16
# without a mark, recognised by its "<?" (XML 1.0 appendix F).
_SNIFFED = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
            (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
            (codecs.BOM_UTF16_BE, "utf-16"), (b"<\0?\0", "utf-16-le"), (b"\0<\0?", "utf-16-be"))
# Python codecs that are not character encodings a file is written in.
_NOT_FILE_ENCODINGS = {"unicode-escape", "raw-unicode-escape", "idna", "punycode", "utf-7"}


def xml_text(data: bytes) -> str:
    """The text of an XML file, decoded by its byte-order mark, else by the encoding its XML
    declaration names, else as UTF-8; the declaration (if any) then names UTF-8, so the text
    encoded as UTF-8 is the same document. ValueError when it cannot be decoded."""
    encoding = next((enc for mark, enc in _SNIFFED if data.startswith(mark)), None)
    if encoding is None:
        declared = _DECLARED.match(data)
        encoding = declared.group(1).decode("ascii") if declared else "utf-8"
        try:
            known = codecs.lookup(encoding).name
        except LookupError:
            raise ValueError(msg("the XML declaration names an unknown encoding %(encoding)s",
                                 encoding=repr(encoding))) from None
        if known in _NOT_FILE_ENCODINGS:
            raise ValueError(msg("the encoding %(encoding)s is not supported",
                                 encoding=repr(encoding)))
    try:
        text = data.decode(encoding)
        text.encode("utf-8")  # what a codec may decode to, UTF-8 must hold (no lone surrogate)
    except LookupError:
        raise ValueError(msg("the encoding %(encoding)s is not supported",
                             encoding=repr(encoding))) from None
    except UnicodeError as exc:
        raise ValueError(msg("the file is not valid %(encoding)s at byte %(byte)s",
                             encoding=encoding, byte=exc.start)
                         if isinstance(exc, UnicodeDecodeError) else
                         msg("the file is not valid %(encoding)s", encoding=encoding)) from None
    text = text.removeprefix("\ufeff")
    return _DECLARATION.sub(r'\g<1>\g<2>UTF-8\g<2>', text, count=1)


def safe_parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           dtd_validation=False, huge_tree=False, remove_pis=True)


def parse_safely(name: str, data: bytes, max_bytes: int, kind: str
                 ) -> tuple[Any, list[Problem]]:
    """The parsed root of one ``kind`` (BPMN, DMN) file, or None and why not."""
    if len(data) > max_bytes:
        return None, [Problem(msg("file is %(size)s bytes, over the limit of %(limit)s",
                                  size=len(data), limit=max_bytes), file=name)]
    try:
        text = xml_text(data)
    except ValueError as exc:  # xml_text's reason (a message), or a codec's own words
        return None, [Problem(msg("the %(kind)s file cannot be read: %(detail)s", kind=kind,
                                  detail=exc.args[0] if exc.args else str(exc)), file=name)]
    match = DOCTYPE.search(text)
    if match:
        line = text[:match.start()].count("\n") + 1
        return None, [Problem(msg("DTDs and entity declarations are not allowed in %(kind)s "
                                  "files", kind=kind), line=line, file=name)]
    try:
        return etree.fromstring(text.encode("utf-8"), safe_parser()), []
    except etree.XMLSyntaxError as exc:
        return None, [Problem(msg("not well-formed XML: %(detail)s", detail=exc.msg),
                              line=exc.lineno, file=name)]
