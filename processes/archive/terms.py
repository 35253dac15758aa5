"""The terms of the full-text index, made here rather than by the database: neither SQLite
FTS5's tokenizers (unicode61 keeps a whole run of Chinese as one token; trigram needs three
characters) nor PostgreSQL's parser finds 合同 in 本合同由甲方签署.

A run of Chinese (or Japanese, Korean) characters becomes its character bigrams, a run of
one character that character; a run of letters or digits becomes one word, lower-cased. Each
term keeps its position, so a phrase (甲方签署: 甲方 方签 签署) is found only where its
bigrams stand next to each other. Any two characters of a run are found, whatever the words;
a single Chinese character is looked for as the first of a bigram (a prefix). Text is NFKC
normalized first (full-width Latin and digits become ASCII), and the line breaks a PDF puts
inside a Chinese sentence are dropped.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from processes.errors import BadInput, msg

_CJK = ("\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
        "\U00020000-\U0003134f")
_RUNS = re.compile(rf"([{_CJK}]+)|((?:(?![{_CJK}])[^\W_])+)")
_WRAPPED = re.compile(rf"(?<=[{_CJK}])\s+(?=[{_CJK}])")
_SPACES = re.compile(r"\s+")
MAX_WORD = 64
"""Longer words are cut (a hash or a serial stays findable by its first 64 characters)."""
MAX_QUERY = 200
MAX_TERMS = 20


def clean(text: str) -> str:
    """The text as kept for snippets: line breaks inside Chinese dropped, whitespace single."""
    return _SPACES.sub(" ", _WRAPPED.sub("", text)).strip()


def tokens(text: str) -> list[str]:
    """The index's terms of ``text``, in order (a term's place is its position)."""
    out: list[str] = []
    for cjk, word in _RUNS.findall(clean(unicodedata.normalize("NFKC", text)).casefold()):
        if cjk:
            out.extend([cjk] if len(cjk) == 1 else
                       [cjk[i:i + 2] for i in range(len(cjk) - 1)])
        else:
            out.append(word[:MAX_WORD])
    return out


@dataclass(frozen=True)
class Term:
    """One term of a query: its tokens, to be found next to each other (a phrase), or a
    single Chinese character looked for as a prefix."""

    text: str
    tokens: tuple[str, ...]
    prefix: bool = False


_QUOTED = re.compile(r'"([^"]*)"|(\S+)')


def query_terms(query: str) -> list[Term]:
    """The terms of a search box's text: each word, or each "quoted phrase", is a phrase of
    its tokens; all terms must be found. Bad input (too long, too many terms) is a 400."""
    if len(query) > MAX_QUERY:
        raise BadInput(msg("the search is %(size)s characters long; at most %(limit)s",
                           size=len(query), limit=MAX_QUERY))
    terms: list[Term] = []
    for quoted, bare in _QUOTED.findall(query):
        text = (quoted or bare).strip()
        found = tuple(tokens(text))
        if not found:
            continue
        single = len(found) == 1 and len(found[0]) == 1 and re.match(f"[{_CJK}]", found[0])
        terms.append(Term(text, found, prefix=bool(single)))
    if len(terms) > MAX_TERMS:
        raise BadInput(msg("the search has %(count)s words; at most %(limit)s",
                           count=len(terms), limit=MAX_TERMS))
    return terms
