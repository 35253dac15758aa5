"""The Alembic migrations, each applied to a database that holds data written for the revision
before it, on SQLite and on PostgreSQL (``bare_app``: a fresh file or schema).

At every revision a row goes into every table (several where a migration reads the data:
seals and their certificates, the TSA's, seal transitions), shaped by the schema as it stands
then (reflected) and filled in every column. After each upgrade, every row is still there with
every value it had, each new column holds the value the migration promises (``NEW_COLUMNS``;
NULL unless listed) and each new table is empty unless the migration fills it
(``NEW_TABLES``). At the head, the schema is compared with the models (alembic's
``compare_metadata``: tables, columns, types, nullability, server defaults, indexes, unique
constraints, foreign keys; nothing is ignored). Then the latest revision goes down and up again
with data in it.

A later revision that adds a table, a column with a default or a data step adds its
expectation to ``NEW_COLUMNS`` or ``NEW_TABLES`` (a non-null column without one fails here),
and a table whose rows must be shaped (a check constraint, a trigger, a full-text index over a
column) gets its rows in ``ROWS``.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from flask_migrate import downgrade, upgrade

from app.extensions import db
from processes.archive import fts
from processes.models import Base

Db = dict[str, dict[tuple, dict[str, Any]]]  # table -> primary key -> row
T0 = datetime.datetime(2026, 3, 1, 9, 30, tzinfo=datetime.UTC)


def _certificate(name: str) -> bytes:
    """A self-signed certificate of its own serial (0010 registers each seal's)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(T0).not_valid_after(T0 + datetime.timedelta(days=365))
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(Encoding.PEM)


def _not_after(pem: bytes) -> datetime.datetime:
    return x509.load_pem_x509_certificate(bytes(pem)).not_valid_after_utc


# -- the rows ------------------------------------------------------------------------------

def _pki_rows(conn: sa.Connection, tables: dict[str, sa.Table]) -> list[dict]:
    """The organisation's authorities exist once (their kind is unique)."""
    if conn.execute(sa.select(sa.func.count()).select_from(tables["pki_authorities"])).scalar():
        return []
    return [{"kind": "root", "cert_pem": _certificate("root")},
            {"kind": "tsa", "cert_pem": _certificate("tsa")}]


def _seal_rows(conn: sa.Connection, tables: dict[str, sa.Table]) -> list[dict]:
    """A seal certified by the organisation CA, and one by an external CA (once there are
    such: its chain is kept)."""
    return [{"cert_pem": _certificate("ours"), "chain_pem": None},
            {"cert_pem": _certificate("external")}]


def _transition_rows(conn: sa.Connection, tables: dict[str, sa.Table]) -> list[dict]:
    """One transition of each kind 0012 tells apart: a flow's, the expiry job's, an admin's
    (or the command line's) and anyone else's."""
    roles = tables["user_roles"]
    admins = sa.select(roles.c.user_id).where(roles.c.role == "admin")
    admin = conn.execute(admins.limit(1)).scalar()
    other = conn.execute(sa.select(tables["users"].c.id).where(
        tables["users"].c.id.not_in(admins)).limit(1)).scalar()
    return [{"request_id": 7},
            {"request_id": None, "actor_id": None, "to_status": "expired"},
            {"request_id": None, "actor_id": admin},
            {"request_id": None, "actor_id": other}]


def _archive_rows(conn: sa.Connection, tables: dict[str, sa.Table]) -> list[dict]:
    """0026: an entry whose retention ended (the trigger refuses to delete one that has not,
    which no step here does); its tsvector (PostgreSQL) left empty, its date a date."""
    return [{"search": None, "retention_until": datetime.date(2020, 1, 1)}]


ROWS: dict[str, Callable[[sa.Connection, dict[str, sa.Table]], list[dict]]] = {
    "archive_entries": _archive_rows,
    "pki_authorities": _pki_rows,
    "seals": _seal_rows,
    "seal_transitions": _transition_rows,
    "published_crls": lambda conn, tables: [{"issuer": "issuing"}, {"issuer": "root"}],
}


class Filler:
    """Writes rows into every table of the schema as it stands, every column filled: the
    given values, else a reference to the newest row of the referenced table, else a value of
    the column's type (an enum's member per the models), distinct from row to row."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.n = 0

    def fill(self) -> None:
        tables = _reflect(self.engine)
        with self.engine.begin() as conn:
            for table in tables.values():
                for given in ROWS.get(table.name, lambda conn, tables: [{}])(conn, tables):
                    self.n += 1
                    row = {c.name: given[c.name] if c.name in given else self._value(conn, c)
                           for c in table.columns if not _generated(c)}
                    conn.execute(table.insert().values(row))

    def _value(self, conn: sa.Connection, column: sa.Column) -> Any:
        n, kind = self.n, column.type
        if column.foreign_keys:
            (fk,) = column.foreign_keys
            return conn.execute(sa.select(sa.func.max(fk.column))).scalar()
        model = Base.metadata.tables.get(column.table.name)
        model_type = model.c[column.name].type \
            if model is not None and column.name in model.c else None
        if isinstance(model_type, sa.Enum):
            return model_type.enums[n % len(model_type.enums)]
        if isinstance(kind, sa.Boolean):
            return n % 2 == 0
        if isinstance(kind, sa.Integer):
            return n
        if isinstance(kind, sa.DateTime):
            return T0 + datetime.timedelta(minutes=n)
        if isinstance(kind, sa.JSON):
            return {"n": n, "印章": ["合同专用章", n, None, True]}
        if isinstance(kind, sa.LargeBinary):
            return b"\x00\xff" + n.to_bytes(4, "big") + "印".encode()
        if isinstance(kind, sa.Text):
            return f"{n} {column.name}: 同意用印 ✓"
        if isinstance(kind, sa.String):
            return f"{n}-{column.name}"[:kind.length]
        raise AssertionError(f"no test value for {column.table.name}.{column.name} ({kind})")


def _generated(column: sa.Column) -> bool:
    """An integer primary key the database numbers."""
    pk = list(column.table.primary_key.columns)
    return pk == [column] and isinstance(column.type, sa.Integer) and not column.foreign_keys


def _reflect(engine: sa.Engine) -> dict[str, sa.Table]:
    """The tables, without alembic's and the full-text index's own (SQLite's FTS5 table and
    its shadow tables: written only through FTS5, and no models)."""
    meta = sa.MetaData()
    meta.reflect(bind=engine, only=lambda name, _meta: not fts.foreign_to_models(name))
    return {t.name: t for t in meta.sorted_tables if t.name != "alembic_version"}


def _snapshot(engine: sa.Engine) -> Db:
    out: Db = {}
    with engine.connect() as conn:
        for name, table in _reflect(engine).items():
            key = [c.name for c in table.primary_key.columns]
            out[name] = {tuple(r[k] for k in key): dict(r)
                         for r in conn.execute(sa.select(table)).mappings()}
    return out


# -- what each migration promises ----------------------------------------------------------

def _authority(row: dict, after: Db) -> str:
    """0012: who had the authority for a transition recorded before it."""
    admins = {r["user_id"] for r in after["user_roles"].values() if r["role"] == "admin"}
    if row["request_id"] is not None:
        return "flow"
    if row["actor_id"] is None and row["to_status"] == "expired":
        return "system"
    return "admin" if row["actor_id"] is None or row["actor_id"] in admins else "manager"


def _task_open(row: dict, after: Db) -> bool:
    """0020: a candidate row's task is open."""
    return after["tasks"][(row["task_id"],)]["status"] == "open"


NEW_COLUMNS: dict[tuple[str, str], Any] = {
    ("seals", "key_storage"): "software",  # 0003: the keys so far were in the database
    ("published_crls", "issuer"): "issuing",  # 0007: the CRLs so far were the issuing CA's
    ("seal_policies", "distinct_demands"): True,  # 0011: one person meets one demand
    ("seal_transitions", "authority"): _authority,  # 0012
    ("notices", "mail_tries"): 0,  # 0019: no notice was mailed, nor tried
    ("task_candidates", "task_open"): _task_open,  # 0020
    ("notices", "args"): None,  # 0022: the filler's texts are none Sealflow wrote: kept as keys
    ("users", "language"): None,  # 0022: nobody has logged in since
}
# Columns a revision renames: (table, old name) -> new name (going down, the other way).
RENAMED: dict[tuple[str, str], str] = {
    ("notices", "message"): "key",  # 0022: a notice keeps a message key and its arguments
}


def _registered(after: Db) -> list[str]:
    """0010: the register of issued certificates starts with each seal's present certificate
    (not an external CA's) and the TSA's."""
    expected = {(format(x509.load_pem_x509_certificate(bytes(s["cert_pem"])).serial_number,
                        "x"), s["id"], "seal", _not_after(s["cert_pem"]))
                for s in after["seals"].values() if s["chain_pem"] is None}
    expected |= {(format(x509.load_pem_x509_certificate(bytes(a["cert_pem"])).serial_number,
                         "x"), None, "tsa", _not_after(a["cert_pem"]))
                 for a in after["pki_authorities"].values() if a["kind"] == "tsa"}
    found = {(r["serial"], r["seal_id"], r["purpose"], _utc(r["not_after"]))
             for r in after["issued_certificates"].values()}
    return [] if found == expected and expected else [
        f"issued_certificates: {sorted(found, key=str)} instead of {sorted(expected, key=str)}"]


NEW_TABLES: dict[str, Callable[[Db], list[str]]] = {"issued_certificates": _registered}


def _utc(value: datetime.datetime) -> datetime.datetime:
    """SQLite gives back naive UTC."""
    return value.replace(tzinfo=datetime.UTC) if value.tzinfo is None else value


def _problems(before: Db, after: Db, step: str, *, down: bool = False) -> list[str]:
    """What ``step`` lost or changed of the rows in ``before``, and what it put in new
    columns and tables other than its promise. Going ``down``, the tables and columns it
    drops are no loss (they are what the revision added)."""
    found: list[str] = []
    for name, rows in before.items():
        if name not in after:
            if not down:
                found.append(f"{step}: table {name} is gone")
            continue
        if set(after[name]) != set(rows):
            found.append(f"{step}: {name} had rows {sorted(rows, key=str)}, "
                         f"has {sorted(after[name], key=str)}")
        renames = {old: new for (table, old), new in RENAMED.items() if table == name}
        if down:
            renames = {new: old for old, new in renames.items()}
        for key, row in rows.items():
            new = after[name].get(key)
            if new is None:
                continue
            row = {renames[col] if col in renames and renames[col] in new else col: value
                   for col, value in row.items()}
            found += [f"{step}: {name} {key} {col}: {value!r} became {new.get(col)!r}"
                      for col, value in row.items()
                      if (col in new or not down) and new.get(col) != value]
            for col in new.keys() - row.keys():
                promise = NEW_COLUMNS.get((name, col))
                expected = promise(new, after) if callable(promise) else promise
                if new[col] != expected:
                    found.append(f"{step}: new column {name}.{col} of {key} is {new[col]!r}, "
                                 f"not {expected!r}")
    for name in after.keys() - before.keys():
        if name in NEW_TABLES:
            found += [f"{step}: {p}" for p in NEW_TABLES[name](after)]
        elif after[name]:
            found.append(f"{step}: new table {name} is not empty: {after[name]}")
    return found


# -- the tests -----------------------------------------------------------------------------

def _revisions(app) -> list[str]:
    script = ScriptDirectory(app.extensions["migrate"].directory)
    return [r.revision for r in reversed(list(script.walk_revisions()))]


def _drift(engine: sa.Engine) -> list:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={
            "compare_type": True, "compare_server_default": True,
            "include_name": _models_only})
        return compare_metadata(context, Base.metadata)


def _models_only(name: str | None, kind: str, _parents: dict) -> bool:
    """The full-text index's own tables (FTS5) are no models; everything else is compared."""
    return not (kind == "table" and name is not None and fts.foreign_to_models(name))


def _full_text_tables(engine: sa.Engine) -> set[str]:
    """The full-text index's tables the migrations made (SQLite: FTS5's; PostgreSQL: none,
    its index is a column of archive_entries)."""
    return {name for name in sa.inspect(engine).get_table_names()
            if fts.foreign_to_models(name)}
TRIGGERS = {  # PostgreSQL: what compare_metadata cannot see (0025)
    (table, f"{table}_{name}") for table in ("audit_events", "audit_anchors")
    for name in ("append_only", "no_truncate")}


def _triggers(engine: sa.Engine) -> set[tuple[str, str]]:
    """The triggers of the schema: (table, trigger)."""
    with engine.connect() as conn:
        if engine.dialect.name != "postgresql":
            return set(conn.execute(sa.text(
                "SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger'")).tuples())
        return set(conn.execute(sa.text(
            "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE NOT t.tgisinternal AND c.relnamespace = current_schema()::regnamespace")
        ).tuples())


def _expected_triggers(engine: sa.Engine) -> set[tuple[str, str]]:
    """The archive keeps its entries on both databases (0026); PostgreSQL's audit tables are
    append-only (0025)."""
    kept = {("archive_entries", "archive_entries_kept")}
    return kept | TRIGGERS if engine.dialect.name == "postgresql" else kept


def _audit_rows_refuse_changes(engine: sa.Engine) -> list[str]:
    """On PostgreSQL no role the application runs as can change or delete an audit row."""
    if engine.dialect.name != "postgresql":
        return []
    found = []
    for sql in ("UPDATE audit_events SET action = 'x'", "DELETE FROM audit_events",
                "UPDATE audit_anchors SET hash = 'x'", "DELETE FROM audit_anchors",
                "TRUNCATE audit_events"):
        with engine.connect() as conn:
            try:
                conn.execute(sa.text(sql))
                found.append(f"{sql}: allowed")
            except sa.exc.DBAPIError as exc:
                if "append-only" not in str(exc):
                    found.append(f"{sql}: {exc}")
            conn.rollback()
    return found


def _foreign_keys_enforced(engine: sa.Engine) -> bool:
    """SQLite checks foreign keys only when told to, per connection: the migrations turn it
    off for their copy-and-rename steps and must turn it on again."""
    if engine.dialect.name != "sqlite":
        return True
    with engine.connect() as conn:
        return conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_every_migration_keeps_the_data_of_the_revision_before_it(bare_app):
    app = bare_app
    with app.app_context():
        directory = app.extensions["migrate"].directory
        revisions = _revisions(app)
        assert revisions[0] == "0001" and len(revisions) >= 13
        filler = Filler(db.engine)
        upgrade(directory=directory, revision=revisions[0])
        problems: list[str] = []
        for previous, revision in zip(revisions, revisions[1:], strict=False):
            filler.fill()
            before = _snapshot(db.engine)
            assert [name for name, rows in before.items() if not rows] == []
            upgrade(directory=directory, revision=revision)
            problems += _problems(before, _snapshot(db.engine), f"{previous} -> {revision}")
        assert problems == []
        assert _foreign_keys_enforced(db.engine)
        assert _drift(db.engine) == []
        sqlite = db.engine.dialect.name == "sqlite"
        assert _full_text_tables(db.engine) >= ({fts.TABLE} if sqlite else set())
        assert _triggers(db.engine) == _expected_triggers(db.engine)
        filler.fill()
        assert _audit_rows_refuse_changes(db.engine) == []


def test_the_latest_migration_goes_down_and_up_again_with_data(bare_app):
    app = bare_app
    with app.app_context():
        directory = app.extensions["migrate"].directory
        *_, previous, head = _revisions(app)
        upgrade(directory=directory)
        filler = Filler(db.engine)
        filler.fill()
        at_head = _snapshot(db.engine)
        downgrade(directory=directory, revision=previous)
        problems = _problems(at_head, _snapshot(db.engine), f"{head} -> {previous}", down=True)
        filler.fill()
        down = _snapshot(db.engine)
        upgrade(directory=directory)
        problems += _problems(down, _snapshot(db.engine), f"{previous} -> {head}")
        assert problems == []
        assert _foreign_keys_enforced(db.engine)
        assert _drift(db.engine) == []
        assert _triggers(db.engine) == _expected_triggers(db.engine)
