"""The contract flow bench/engine.py runs: its files, its cast, its set-up through the
sealflow CLI, and the checks that each step went where it should."""

from __future__ import annotations

import json
import time

import common
from common import ROOT, BenchError, Setup, cli, log

BPMN = ROOT / "bpmn" / "contract_seal" / "contract_seal.bpmn"
FILES = [BPMN, *sorted(BPMN.parent.glob("*.dmn"))]  # the flow, then its decision table
PROCESS_KEY = "contract_seal"
FIRST_TASK = "dept_head_approve"
NEXT_TASK = "custodian_approve"
SEAL_TYPE = "合同专用章"  # `sealflow seal create`'s default type
REQUEST_DATA = {"amount": 5000, "purpose": "bench"}
COMPLETE_BODY = json.dumps({"decision": "approve"}).encode()

# The cast (as in tests/conftest.py): alice requests in sales, bob heads sales and approves
# first, lily is in Legal (法务部), carol keeps the seal.
REQUESTER, HEAD, LEGAL, CUSTODIAN = "alice", "bob", "lily", "carol"


# -- setup through the sealflow CLI ----------------------------------------------------------

def setup_with_cli(env: dict[str, str]) -> Setup:
    """init, departments and people, tokens, the seal, the contract flow."""
    t0 = time.perf_counter()
    cli(env, "init")
    cli(env, "group", "add", "sales", "--name", "销售部")
    cli(env, "group", "add", "legal", "--name", "法务部")
    cli(env, "user", "add", HEAD, "--display-name", "Bob (head of sales)")
    cli(env, "user", "add", REQUESTER, "--groups", "sales")
    cli(env, "user", "add", LEGAL, "--groups", "legal")
    cli(env, "user", "add", CUSTODIAN)
    cli(env, "group", "add", "sales", "--head", HEAD)
    tokens = {name: common.cli_token(env, name) for name in (REQUESTER, HEAD)}
    seal_id = common.cli_seal(env, "测试合同专用章", CUSTODIAN)
    common.cli_deploy(env, FILES, PROCESS_KEY)
    log(f"set up with the CLI in {time.perf_counter() - t0:.1f} s (seal {seal_id})")
    return Setup(tokens, seal_id)


def request_form(seal_id: int) -> dict[str, str]:
    return {"process": PROCESS_KEY, "seal": str(seal_id), "data": json.dumps(REQUEST_DATA)}


def first_task_id(created: dict) -> str:
    ids = [t["id"] for t in created.get("tasks", []) if t.get("element_id") == FIRST_TASK]
    if created.get("status") != "running" or len(ids) != 1:
        raise BenchError(f"request {created.get('id')} did not wait at {FIRST_TASK}: "
                         f"{json.dumps(created, ensure_ascii=False)[:2000]}")
    return ids[0]


def check_after_approval(body: dict, task_id: str) -> None:
    req = body.get("request") or {}
    open_tasks = [t.get("element_id") for t in req.get("tasks", [])]
    if req.get("status") != "running" or open_tasks != [NEXT_TASK]:
        raise BenchError(f"after approving task {task_id} the request should wait at "
                         f"{NEXT_TASK}: {json.dumps(body, ensure_ascii=False)[:2000]}")
