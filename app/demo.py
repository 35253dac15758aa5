"""``sealflow demo``: a demo organisation with users, a seal and the shipped flows."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from app.context import env
from app.extensions import db
from processes.db import unit_of_work
from processes.design import deploy
from processes.flows import definitions
from processes.models import BusinessType, Role, Seal
from processes.people import directory
from processes.seals import registry

BPMN_DIR = Path(__file__).resolve().parent.parent / "bpmn"
PASSWORD = "sealflow-demo"

# The groups the shipped flows' lanes name (by display name), and the requester's department.
GROUPS = [("sales", "销售部"), ("legal", "法务部"), ("admin_office", "办公室"),
          ("leaders", "分管领导"), ("finance", "财务部"), ("finance_director", "财务总监"),
          ("hr", "人力资源部")]
USERS = [
    # name, display name, groups, roles
    ("alice", "王丽 (申请人)", ["sales"], []),
    ("bob", "张伟 (销售部负责人)", ["sales"], []),
    ("lily", "李娜 (法务)", ["legal"], []),
    ("olivia", "林晓 (办公室)", ["admin_office"], []),
    ("leo", "郑刚 (分管领导)", ["leaders"], []),
    ("frank", "周强 (财务)", ["finance"], []),
    ("grace", "吴芳 (财务总监)", ["finance_director"], []),
    ("helen", "孙悦 (人事)", ["hr"], []),
    ("carol", "陈静 (印章管理员)", [], [Role.seal_admin]),
    ("dave", "刘洋 (流程设计)", [], [Role.designer, Role.manager]),
    ("audrey", "赵敏 (审计)", [], [Role.auditor]),
    ("admin", "系统管理员", [], [Role.admin]),
]
# flow key -> (business type key, business type name)
BUSINESS_TYPES = {
    "contract_seal": ("contract", "合同用印"),
    "official_document": ("official", "公文用印"),
    "finance_seal": ("finance", "财务用印"),
    "hr_certificate": ("hr", "人事证明用印"),
    "seal_lending": ("lending", "印章外借"),
    "seal_make": ("seal_make", "制章申请"),
    "seal_change": ("seal_change", "印章变更"),
    "seal_resume": ("seal_resume", "印章启用"),
    "seal_void": ("seal_void", "印章作废"),
    "seal_revoke": ("seal_revoke", "证书吊销"),
}
WHO = [
    "合同用印 contract: bob (department head); above 1,000,000 lily (法务部); carol (custodian)",
    "公文用印 official: olivia (办公室), leo (分管领导), carol",
    "财务用印 finance: frank (财务部); grace (财务总监) where the table says so; carol",
    "人事证明用印 hr: helen (人力资源部); bob too for 收入证明; carol",
    "印章外借 lending: bob, carol; carol hands the seal out and takes it back",
]


def deployments() -> list[dict[str, bytes]]:
    """One deployment per folder under bpmn/: the flow (the .bpmn named after the folder, or
    the first one) first, then the other .bpmn files (processes it calls) and the .dmn
    decision tables beside it."""
    found = []
    for folder in sorted(p for p in BPMN_DIR.iterdir() if p.is_dir()):
        flows = sorted(folder.glob("*.bpmn"))
        if not flows:
            continue
        main = folder / f"{folder.name}.bpmn"
        main = main if main.exists() else flows[0]
        others = [p for p in flows if p != main] + sorted(folder.glob("*.dmn"))
        found.append({p.name: p.read_bytes() for p in [main, *others]})
    return found


def _map_business_type(key: str, process_key: str, name: str) -> None:
    """Map a business type unless it already points at the flow (a rerun changes nothing)."""
    existing = db.session.execute(
        select(BusinessType).where(BusinessType.key == key)).scalar_one_or_none()
    if existing is None or existing.process_key != process_key or existing.name != name:
        definitions.add_business_type(db.session, key, process_key, name)


@click.command("demo")
@with_appcontext
def demo_command() -> None:
    """Create the demo organisation (idempotent) and print the log-ins."""
    from app.cli import init_database
    init_database()
    with unit_of_work(db.session):
        for key, name in GROUPS:
            directory.add_group(db.session, key, name=name)
        for name, display, groups, roles in USERS:
            directory.add_user(db.session, name, password=PASSWORD, display_name=display,
                            groups=groups, roles=roles)
        directory.add_group(db.session, "sales", head="bob")
        for files in deployments():
            deployed = deploy.deploy(db.session, env(), files, actor=None)
            key = deployed.definition.key
            if key in BUSINESS_TYPES:
                _map_business_type(key=BUSINESS_TYPES[key][0], process_key=key,
                                   name=BUSINESS_TYPES[key][1])
        seal = db.session.execute(select(Seal).where(Seal.system.is_(False))
                                  .order_by(Seal.id).limit(1)).scalar_one_or_none()
        if seal is None:
            seal = registry.create_seal(db.session, env(), f"{env().org_name}合同专用章",
                                     seal_type="合同专用章",
                                     custodians=[directory.get_user(db.session, "carol")])
    click.echo(f"Demo organisation ready. Log in at {env().base_url}/login with:")
    for name, display, _groups, _roles in USERS:
        click.echo(f"  {name:<7} / {PASSWORD}   {display}")
    click.echo(f"Seal {seal.id}: {seal.name} (custodian carol). Who approves what:")
    for line in WHO:
        click.echo(f"  {line}")
