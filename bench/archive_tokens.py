"""Why the archive indexes character bigrams rather than jieba's words: the bigrams of
processes/archive/terms.py against jieba (search mode) on the Chinese texts of
bench/archive_search.py and on contract sentences: time and terms per document, and which
queries are found. jieba is not a dependency of Sealflow: run this from a scratch venv that
has it, with the repository on the path (SQLAlchemy is needed too):

    python3 -m venv /tmp/jieba-venv && /tmp/jieba-venv/bin/pip install jieba==0.42.1 SQLAlchemy
    PYTHONPATH=$PWD /tmp/jieba-venv/bin/python bench/archive_tokens.py
"""
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
try:
    import jieba
except ImportError:
    sys.exit("jieba is not installed here: see this file's docstring")

from bench.archive_search import _zh_text  # noqa: E402
from processes.archive import terms  # noqa: E402

jieba.setLogLevel(60)

started = time.perf_counter()
jieba.initialize()
load = time.perf_counter() - started
rnd = random.Random(1)
docs = [_zh_text(rnd, 1500) for _ in range(300)]
started = time.perf_counter()
bigrams = [terms.tokens(d) for d in docs]
per_bigram_doc = (time.perf_counter() - started) / len(docs)
started = time.perf_counter()
words = [list(jieba.cut_for_search(d)) for d in docs]
per_jieba_doc = (time.perf_counter() - started) / len(docs)
print(f"jieba dictionary load: {load * 1000:.0f} ms")
print(f"bigrams: {per_bigram_doc * 1000:.2f} ms/doc, "
      f"{sum(map(len, bigrams)) / len(bigrams):.0f} terms/doc")
print(f"jieba  : {per_jieba_doc * 1000:.2f} ms/doc, "
      f"{sum(map(len, words)) / len(words):.0f} terms/doc "
      f"({per_jieba_doc / per_bigram_doc:.1f}x the time)")

CASES = [("本合同由甲方签署，乙方盖章。", q)
         for q in ("合同", "甲方签署", "签署", "同由", "乙方盖章", "盖章")]
CASES += [("双方约定的违约金为合同总价款的百分之五。", q)
          for q in ("违约金", "违约", "总价款", "价款", "百分之五")]
CASES += [("经甲乙双方协商一致，签订本采购合同。", q)
          for q in ("采购合同", "采购", "协商一致", "乙双方", "双方")]


def in_order(doc_terms: list[str], query_terms: list[str]) -> bool:
    n = len(query_terms)
    return any(doc_terms[i:i + n] == query_terms for i in range(len(doc_terms) - n + 1))


for name, split in (("bigrams", terms.tokens),
                    ("jieba", lambda s: list(jieba.cut_for_search(s)))):
    missed = []
    for doc, query in CASES:
        d, q = split(doc), split(query)
        # bigrams: a phrase, its terms side by side; jieba: every word of the query there
        if not (in_order(d, q) if name == "bigrams" else all(w in d for w in q)):
            missed.append(query)
    print(f"{name}: {len(CASES) - len(missed)}/{len(CASES)} queries found; missed: {missed}")
