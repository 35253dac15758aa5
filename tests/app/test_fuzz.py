"""Item 15 of issue 8: no input answers 5xx. Every rule of ``app.url_map`` (so routes added later
are covered without touching this file) with every method, as anonymous, with a bad token, as
plain users, a custodian and an admin (bearer tokens) and as browser sessions, gets random and
mutated ids, query strings and bodies: JSON of random shapes and depths, multipart with random
fields and files (PDFs, BPMN, DMN, junk), form posts and raw bytes. Most query strings, forms and
JSON bodies are nearly valid: every name some route reads, with a value it accepts, a few of
them mutated (so each request tries many names at once, and reaches the code behind the first
check). Seeded, so a run is repeatable; it sends requests for ``SEALFLOW_FUZZ_SECONDS``
(default 60), each rule with each method and identity first.

CSRF is off (TestConfig) so that fuzzed page posts reach the code behind the check instead of
all stopping at it; tests/app/test_csrf.py checks the protection itself.
"""

from __future__ import annotations

import codecs
import io
import json
import os
import random
import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import pytest

from app.jobs import runner
from tests.conftest import CONTRACT_BPMN, make_pdf, seal_one, submit

pytestmark = pytest.mark.once

SEED = int(os.environ.get("SEALFLOW_FUZZ_SEED", "20260815"))
BUDGET = float(os.environ.get("SEALFLOW_FUZZ_SECONDS", "60"))
REPLENISH_EVERY = 400
"""Requests between two top-ups of the world: tasks to work, a running request, an active seal
(the fuzzer approves, withdraws and revokes as it goes)."""

BPMN = CONTRACT_BPMN.read_bytes()
DMN = (CONTRACT_BPMN.parent / "contract_routing.dmn").read_bytes()
PDF = make_pdf(2)

TEXTS = ["", " ", "0", "1", "-1", "2", "50", "501", str(2**31), str(2**63 - 1), str(2**63),
         str(2**64), str(10**30), "9" * 5000, "1e3", "1_0", " 7", "²", "١٢", "１", "abc",
         "\x00", "a\x00b", "\ud800", "true", "false", "null", "approve", "reject", "return",
         "running", "sealed", "revoked", "suspended", "active", "admin", "alice", "bob", "carol",
         "root", "nobody", "contract_seal", "contract", "${requester}", "../../etc/passwd",
         "合同专用章", "😀", "x" * 3000, "<script>", "'; drop table request; --", "%", "%00",
         "2026-02-30", "2026-01-01T00:00:00+08:00", "PT1H", "zh_CN", "en", "/inbox",
         "//evil.example", "http://127.0.0.1/", "[]", "{}", '{"page": 1}', "NaN"]
NASTY = ["\x00", "a\x00b", "\ud800", "9" * 5000, str(2**64), "-1", "١٢", "x" * 3000, "",
         "[" * 3000, "1e999", "NaN", "\t", "%00", "0"]
"""What a mutation puts in place of a valid value, most of the time."""
# Names some route reads (query strings, form fields, JSON keys), each with values it accepts.
QUERY = {"limit": ["10", "50"], "offset": ["0", "1"], "seal": ["1"], "status": ["running"],
         "requester": ["alice"], "q": ["contract"], "unread": ["1"], "lang": ["en", "zh_CN"],
         "next": ["/inbox"], "scope": ["all"], "business_type": ["contract"],
         "process": ["contract_seal"], "page": ["1"], "from": ["1"], "to": ["2"]}
FORM = {"process": ["contract_seal"], "seal": ["1"], "business_type": ["", "contract"],
        "data": ['{"amount": 50000, "purpose": "采购"}', "{}"], "decision": ["approve", "reject"],
        "comment": ["同意"], "reason": ["因故"], "to": ["suspended", "active", "revoked"],
        "data.amount": ["50000"], "data.purpose": ["采购"], "name": ["alice"],
        "password": ["correct-horse-1"], "placement": ['{"page": 1, "x": 72, "y": 72}'],
        "placement_page": ["1"], "placement_x": ["72"], "placement_y": ["72"],
        "placement_size": ["100"], "from_request": ["1"], "on_behalf_of": ["bob"],
        "authorized_end": ["end_authorized"], "idempotency_key": ["k1"]}
JSON = {"decision": ["approve", "reject", "return"], "comment": ["同意"], "data": [{}],
        "from": [1, 2], "to": [1, 2, "bob", "suspended"], "dry_run": [True, False],
        "reason": ["因故"], "user": ["bob"], "users": [["bob", "lily"]], "position": ["before"],
        "note": ["n"], "expires_at": ["2030-01-01T00:00:00+00:00"], "password": ["pw-123456"],
        "url": ["https://example.com/hook"], "events": [["request.sealed"]], "secret": ["s" * 20],
        "deputy": ["bob"], "process": ["contract_seal"], "seal": [1], "name": ["n"],
        "business_type": ["contract"], "decisions": [{"dept_head_approve": "approve"}],
        "scopes": [[]], "change": ["renew"], "custodians": ["carol"]}
FILES = ["file", "document", "certificate"]
IMPOSSIBLE_IDS = ["0", "-1", str(2**63), str(2**64), str(10**30), "abc", "\x00", "1\x00",
                  "١٢", "9" * 5000, " 1", "1.0"]
CONTENT_TYPES = ["application/json", "application/timestamp-query", "application/ocsp-request",
                 "text/plain", "application/pdf", "application/x-pem-file",
                 "application/octet-stream", "multipart/form-data"]
PLACEHOLDER = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?\w+>")
"""``<int:request_id>``, ``<name>``: the converter's name (None for the default) is group 1."""


def as_field(text: str) -> str:
    """The test client sends form fields and headers as UTF-8: no lone surrogate there."""
    return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


@dataclass
class Sent:
    """One request, as printed when it failed."""

    who: str
    method: str
    url: str
    body: str
    status: int | str

    def __str__(self) -> str:
        return f"{self.status} {self.who}: {self.method} {self.url[:300]}\n    body: {self.body}"


class Fuzzer:
    def __init__(self, rng: random.Random, known: dict[str, list]) -> None:
        self.rng = rng
        self.known = known
        self.focused = False
        """Focused: a valid request with one nasty value, sent by the most able identity (so
        that no other check answers before the one that value reaches)."""

    def pick(self, seq):
        return seq[self.rng.randrange(len(seq))]

    def ids(self) -> list[int]:
        return self.known["request"] + self.known["seal"] + self.known["notice"]

    # -- values ---------------------------------------------------------------------------------

    def scalar(self) -> Any:
        return self.pick([None, True, False, 0, -1, 1, 2, 2**31, 2**63 - 1, 2**63, 2**64,
                          -(2**63) - 1, 10**30, 1.5, -0.0, 1e308, self.rng.random(),
                          *TEXTS[:40], *self.ids(), *self.known["task"]])

    def value(self, depth: int = 0) -> Any:
        roll = self.rng.random()
        if depth > 4 or roll < 0.5:
            return self.scalar()
        if roll < 0.75:
            return [self.value(depth + 1) for _ in range(self.rng.randrange(4))]
        return {self.pick(sorted(JSON)): self.value(depth + 1)
                for _ in range(self.rng.randrange(5))}

    def text(self) -> str:
        roll = self.rng.random()
        if roll < 0.1:
            return self.json_text(self.random_object())
        if roll < 0.25:
            return str(self.pick(self.ids() + self.known["task"]))
        return self.pick(TEXTS)

    def mutated(self, valid: dict[str, list], rate: float) -> dict[str, Any]:
        """Every name of ``valid`` with a valid value; in focused mode exactly one of them
        nasty, else each, at ``rate``, dropped or replaced by something nasty or random."""
        if self.focused:
            out = {name: self.pick(values) for name, values in valid.items()}
            out[self.pick(sorted(valid))] = self.pick(NASTY)
            return out
        out = {}
        for name, values in valid.items():
            roll = self.rng.random()
            if roll >= rate:
                out[name] = self.pick(values)
            elif roll >= rate * 0.2:  # else: dropped
                out[name] = self.pick(NASTY) if roll < rate * 0.7 else (
                    self.text() if isinstance(values[0], str) else self.value())
        return out

    def random_object(self) -> dict:
        return {self.pick(sorted(JSON)): self.value() for _ in range(self.rng.randrange(6))}

    def json_text(self, obj: dict) -> str:
        """JSON (or nearly): ``obj``, then perhaps a mutation no encoder makes."""
        body = json.dumps(obj)
        roll = self.rng.random()
        if roll < 0.05:
            levels = self.pick([25, 70, 900, 5000, 200_000])
            return '{"data": {"x": ' + "[" * levels + "]" * levels + "}}"
        if roll < 0.15:
            special = self.pick(["NaN", "Infinity", "-Infinity", "1" + "0" * 5000, "1e999",
                                 '"\\u0000"', '"\\ud800"', "[" * 3000])
            member = f'"{self.pick(sorted(JSON))}": {special}'
            return f"{{{member}, {body[1:]}" if body.startswith("{") and len(body) > 2 \
                else f"{{{member}}}"
        if roll < 0.25 and body:
            cut = self.rng.randrange(len(body))
            return body[:cut] + self.pick(["", "}", '"', "\x00", "\\", ","]) + body[cut + 1:]
        return body

    # -- files ----------------------------------------------------------------------------------

    def flip(self, data: bytes) -> bytes:
        out = bytearray(data)
        for _ in range(self.rng.randrange(1, 8)):
            out[self.rng.randrange(len(out))] = self.rng.randrange(256)
        return bytes(out)

    def file(self) -> tuple[bytes, str]:
        name = self.pick(["a.pdf", "x.bpmn", "t.dmn", "c.pem", "", "名字.pdf", "a\x00.bpmn",
                          "../../x.bpmn", "y" * 300 + ".bpmn", "contract_seal.bpmn",
                          "contract_routing.dmn"])
        kind = self.rng.randrange(12)
        if kind == 0:
            return PDF, name
        if kind == 1:
            return PDF[: self.rng.randrange(len(PDF))], name
        if kind == 2:
            return self.flip(PDF), name
        if kind == 3:
            return self.flip(BPMN), "contract_seal.bpmn"
        if kind == 4:
            return DMN.replace(b"1000000", self.pick([b"9" * 5000, b"1e999", b"[1..", b"\x00",
                                                      b"not(", b'"x"' * 2000])), name
        if kind == 5:
            text = BPMN.decode().replace('encoding="UTF-8"', 'encoding="UTF-16"')
            return codecs.BOM_UTF16_LE + text.encode("utf-16-le"), "contract_seal.bpmn"
        if kind == 6:
            levels = self.pick([100, 3000, 50_000])
            return (b'<?xml version="1.0"?>' + b"<a>" * levels + b"</a>" * levels), name
        if kind == 7:
            return BPMN.replace(b"${requester_heads}", self.pick(
                [b"${" + b"(" * 500 + b"1" + b")" * 500 + b"}", b"${9**9**9}", b"${x.__class__}",
                 b"${" + b"9" * 5000 + b"}"])), "contract_seal.bpmn"
        if kind == 8:
            return b"-----BEGIN CERTIFICATE-----\n" + self.rng.randbytes(300) + \
                b"\n-----END CERTIFICATE-----\n", name
        if kind in (9, 10):
            return self.pick([(BPMN, "contract_seal.bpmn"), (DMN, "contract_routing.dmn"),
                              (PDF, "contract.pdf")])
        return self.rng.randbytes(self.rng.randrange(2000)), name

    # -- one request ----------------------------------------------------------------------------

    def path_value(self, converter: str | None) -> str:
        if converter == "int":
            pool = [str(i) for i in self.ids()] + ["1", "2", "3"]
            return self.pick(pool) if self.rng.random() < 0.6 else self.pick(IMPOSSIBLE_IDS)
        if converter == "path":
            return self.pick(["a/b", "../..", "MEUwQzBBMD8wPTAJBgUrDgMCGgUABBQ=",
                              "sealflow.css", "%2e%2e/x", "\x00"]) + self.pick(["", "x" * 500])
        return self.pick(self.known["task"] + self.known["key"] + ["signed", "x", "\x00", "..",
                         "a" * 300, "合同", "a b", ";", "'", "%"])

    def url(self, rule) -> str:
        # surrogatepass: a lone surrogate goes out as bytes that are not UTF-8
        path = PLACEHOLDER.sub(lambda m: quote(self.path_value(m.group(1)), safe="/",
                                               errors="surrogatepass"), rule.rule)
        if self.focused or self.rng.random() < 0.7:
            query = self.mutated(QUERY, 0.15)
            query = {k: v for k, v in query.items() if v in NASTY or self.rng.random() < 0.5}
            path += "?" + urlencode(query, quote_via=quote, errors="surrogatepass")
        return path

    def form(self) -> dict[str, Any]:
        form = {k: as_field(str(v)) for k, v in self.mutated(FORM, 0.15).items()}
        if not self.focused and self.rng.random() < 0.2:
            form = {k: v for k, v in form.items() if self.rng.random() < 0.3}
        for field in FILES:
            roll = self.rng.random()
            if roll < 0.6:
                form[field] = [(io.BytesIO(PDF if field == "document" else BPMN),
                                "contract.pdf" if field == "document" else "contract_seal.bpmn")]
                if field == "file":
                    form[field].append((io.BytesIO(DMN), "contract_routing.dmn"))
            elif roll < 0.9:
                form[field] = [(io.BytesIO(data), name) for data, name in
                               (self.file() for _ in range(self.rng.randrange(1, 3)))]
        return form

    def body(self, method: str) -> tuple[dict, str]:
        """Keyword arguments for the test client's request, and a summary."""
        if method in ("GET", "HEAD", "OPTIONS") and self.rng.random() < 0.8:
            return {}, "-"
        roll = self.rng.random()
        if roll < 0.35:
            if self.focused:
                return {"data": json.dumps(self.mutated(JSON, 0)),
                        "content_type": "application/json"}, "json, one value nasty"
            obj = self.mutated(JSON, 0.15) if self.rng.random() < 0.7 else self.random_object()
            text = self.json_text(obj)
            return {"data": text, "content_type": "application/json"}, text[:300]
        if roll < 0.85:
            form = self.form()
            summary = {k: (f"<{len(v)} file(s)>" if isinstance(v, list) else v[:100])
                       for k, v in form.items()}
            if self.rng.random() < 0.8:
                return {"data": form, "content_type": "multipart/form-data"}, \
                    f"multipart {summary}"
            plain = {k: v for k, v in form.items() if not isinstance(v, list)}
            return {"data": plain}, f"form {str(plain)[:300]}"
        raw = self.rng.randbytes(self.rng.randrange(600)) if self.rng.random() < 0.5 else \
            self.flip(self.pick([PDF, BPMN, b"0\x82\x01\x00" + bytes(300)]))
        ctype = self.pick(CONTENT_TYPES)
        return {"data": raw, "content_type": ctype}, f"{ctype} {raw[:60]!r}..."


def open_tasks(tokens: dict) -> list[str]:
    found = []
    for who in ("bob", "carol"):
        resp = tokens[who].get("/api/v1/tasks")
        if resp.status_code == 200:
            found += [t["id"] for t in resp.get_json()]
    return found


@pytest.fixture
def world(app, org, pdf, api):
    """Something of everything: a sealed request, requests waiting, an admin."""
    seal_one(org, pdf)
    runner(app).mode = "external"  # sealing is not driven by input; keep the fuzzer fast
    tokens = {"alice": org.alice, "bob": org.bob, "carol": org.carol,
              "root": api("root", roles=["admin", "seal_admin", "designer", "auditor"])}
    return org, tokens


def test_no_route_answers_5xx_to_random_and_mutated_input(app, world, login, make_seal, pdf):
    org, tokens = world
    rng = random.Random(SEED)
    sessions: dict[str, Any] = {}
    anonymous = app.test_client(use_cookies=False)  # a login posted by the fuzzer stays out
    known: dict[str, list] = {"request": [1], "seal": [org.seal_id], "notice": [1, 2],
                              "task": [], "key": ["contract_seal"]}
    fuzz = Fuzzer(rng, known)
    who_all = ["anonymous", "bad-token", *tokens, "alice-session", "root-session"]

    def replenish() -> None:
        """A running request with a task for Bob, on an active seal (a new one if need be), and
        browser sessions (the fuzzer may have posted to /logout)."""
        sessions.update({"alice-session": login("alice"), "root-session": login("root")})
        resp = submit(org.alice, known["seal"][-1], pdf)
        if resp.status_code == 422:  # the fuzzer suspended or revoked the seal
            known["seal"].append(make_seal(["carol"]))
            resp = submit(org.alice, known["seal"][-1], pdf)
        if resp.status_code == 201:
            known["request"].append(resp.get_json()["id"])
        known["task"] = open_tasks(tokens) or known["task"]

    def send(who: str, method: str, url: str, kwargs: dict, summary: str) -> Sent | None:
        headers = {}
        client = sessions.get(who, anonymous)
        if who in tokens:
            headers["Authorization"] = f"Bearer {tokens[who].token}"
        elif who == "bad-token":
            headers["Authorization"] = fuzz.pick(["Bearer nope", "Basic eA==", "Bearer ",
                                                  "Bearer \x00", "bearer " + "x" * 500])
        if rng.random() < 0.2:
            headers[fuzz.pick(["Idempotency-Key", "Accept-Language", "Accept"])] = \
                as_field(fuzz.text())
        try:
            resp = client.open(url, method=method, headers=headers, **kwargs)
            status = resp.status_code
            resp.close()
            resp.request.environ["wsgi.input"].close()  # the client's, for a large body a file
        except Exception as exc:  # noqa: BLE001 - an exception out of the app fails too
            status = f"raised {type(exc).__name__}: {exc}"[:300]
        if isinstance(status, str) or status >= 500:
            return Sent(who, method, url, summary, status)
        return None

    rules = sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint))
    # Each rule with each of its methods and each identity first; then at random.
    plan = [(rule, method, who) for rule in rules for method in sorted(rule.methods)
            for who in who_all]
    failures: list[Sent] = []
    sent = 0
    deadline = time.monotonic() + BUDGET
    while plan or time.monotonic() < deadline:
        if sent % REPLENISH_EVERY == 0:
            replenish()
        elif sent % 50 == 0:  # tasks come and go as the fuzzer works them
            known["task"] = open_tasks(tokens) or known["task"]
        fuzz.focused = not plan and rng.random() < 0.5
        if plan:
            rule, method, who = plan.pop(0)
        else:
            rule = fuzz.pick(rules)
            # mostly the identities the route is for: tokens for the API, sessions for pages
            api_route = rule.rule.startswith("/api/")
            who = fuzz.pick(who_all) if rng.random() < 0.3 else fuzz.pick(
                [*tokens] if api_route else ["alice-session", "root-session"])
            if fuzz.focused:
                who = "root" if api_route else "root-session"
            method = fuzz.pick(sorted(rule.methods) if rng.random() < 0.9 else ["PUT", "DELETE"])
        kwargs, summary = fuzz.body(method)
        failed = send(who, method, fuzz.url(rule), kwargs, summary)
        sent += 1
        if failed is not None:
            failures.append(failed)
    print(f"fuzz: {sent} requests to {len(rules)} rules in {BUDGET:.0f} s, seed {SEED}")
    assert not failures, f"{len(failures)} request(s) answered 5xx:\n" + "\n".join(
        str(f) for f in failures[:40])
