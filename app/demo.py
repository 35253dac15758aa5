"""``sealflow demo``: a demo organisation with users, a seal and the shipped flows."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from app.context import env
from app.extensions import db
from processes import definitions, people, seals
from processes.db import unit_of_work
from processes.models import Role, Seal

BPMN_DIR = Path(__file__).resolve().parent.parent / "bpmn"
PASSWORD = "sealflow-demo"

GROUPS = [("sales", "销售部"), ("legal", "法务部"), ("admin_office", "办公室")]
USERS = [
    # name, display name, groups, roles
    ("alice", "王丽 (申请人)", ["sales"], []),
    ("bob", "张伟 (销售部负责人)", ["sales"], []),
    ("lily", "李娜 (法务)", ["legal"], []),
    ("carol", "陈静 (印章管理员)", ["admin_office"], [Role.seal_admin]),
    ("dave", "刘洋 (流程设计)", ["admin_office"], [Role.designer, Role.manager]),
    ("audrey", "赵敏 (审计)", ["admin_office"], [Role.auditor]),
    ("admin", "系统管理员", [], [Role.admin]),
]
BUSINESS_TYPES = {"contract_seal": ("contract", "合同用印")}


def flow_files() -> list[Path]:
    """One flow per folder under bpmn/: the .bpmn named after the folder, or the first one."""
    found = []
    for folder in sorted(p for p in BPMN_DIR.iterdir() if p.is_dir()):
        main = folder / f"{folder.name}.bpmn"
        found.append(main if main.exists() else sorted(folder.glob("*.bpmn"))[0])
    return found


@click.command("demo")
@with_appcontext
def demo_command() -> None:
    """Create the demo organisation (idempotent) and print the log-ins."""
    from app.cli import init_database
    init_database()
    with unit_of_work(db.session):
        for key, name in GROUPS:
            people.add_group(db.session, key, name=name)
        for name, display, groups, roles in USERS:
            people.add_user(db.session, name, password=PASSWORD, display_name=display,
                            groups=groups, roles=roles)
        people.add_group(db.session, "sales", head="bob")
        for path in flow_files():
            deployed = definitions.deploy(db.session, env(), {path.name: path.read_bytes()},
                                          actor=None)
            key = deployed.definition.key
            if key in BUSINESS_TYPES:
                bt_key, bt_name = BUSINESS_TYPES[key]
                definitions.add_business_type(db.session, bt_key, key, bt_name)
        seal = db.session.execute(select(Seal).where(Seal.system.is_(False))
                                  .order_by(Seal.id).limit(1)).scalar_one_or_none()
        if seal is None:
            seal = seals.create_seal(db.session, env(), f"{env().org_name}合同专用章",
                                     seal_type="合同专用章",
                                     custodians=[people.get_user(db.session, "carol")])
    click.echo("Demo organisation ready. Log in at http://127.0.0.1:5000/login with:")
    for name, display, _groups, _roles in USERS:
        click.echo(f"  {name:<7} / {PASSWORD}   {display}")
    click.echo(f"Seal {seal.id}: {seal.name} (custodian carol). Contracts above 1,000,000 go "
               "to legal review (lily).")
