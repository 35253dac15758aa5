"""Notices stored as message keys and arguments; users.language

A notice kept its finished text, Chinese and English side by side. It now keeps a message key
(an English template, which the catalogues translate) and its arguments (JSON): the pages and
the API put it into the reader's language, the mail into the recipient's (users.language, the
language they last logged in with; none: Chinese). notices.message becomes notices.key;
existing rows are converted by parsing the English half of the texts Sealflow wrote (one whose
text does not parse keeps it as its key, shown as it was).

Revision ID: 0022
Revises: 0021
"""
import json
import re

import sqlalchemy as sa
from alembic import op

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None

_QUOTED = r"(?P<q>['\"])(?P<task>.*)(?P=q)"
# kind -> (the English half of the old text, the key it becomes): the keys are those of
# processes/notices.py and its callers when this was written.
PATTERNS = {
    "task.assigned": (rf"Request #(?P<id>\d+) waits for you at {_QUOTED}\.$",
                      "Request #%(id)s waits for you at “%(task)s”."),
    "task.reminder": (rf"Request #(?P<id>\d+) still waits for you at {_QUOTED}\.$",
                      "Request #%(id)s still waits for you at “%(task)s”."),
    "task.delegated": (rf"Request #(?P<id>\d+)'s task {_QUOTED} was delegated to you\.$",
                       "Request #%(id)s's task “%(task)s” was delegated to you."),
    "task.added": (rf"You were added as an approver of request #(?P<id>\d+) at {_QUOTED}\.$",
                   "You were added as an approver of request #%(id)s at “%(task)s”."),
    "request.sealed": (r"Request #(?P<id>\d+) is sealed\.$", "Request #%(id)s is sealed."),
    "request.rejected": (r"Request #(?P<id>\d+) was rejected\.$",
                         "Request #%(id)s was rejected."),
    "request.failed": (r"Request #(?P<id>\d+) failed: (?P<reason>.*)$",
                       "Request #%(id)s failed: %(reason)s"),
    "request.copied": (r"(?P<by>\S+) copied you on request #(?P<id>\d+) \((?P<task>.*?)\)\."
                       r"(?: (?P<note>.*))?$",
                       "%(by)s copied you on request #%(id)s (%(task)s). %(note)s"),
    "seal.expiring": (r"The certificate of seal (['\"])(?P<seal>.*)\1 expires on "
                      r"(?P<date>\d{4}-\d\d-\d\d): ask for its renewal \(seal_change\)\.$",
                      "The certificate of seal “%(seal)s” expires on %(date)s: ask for its "
                      "renewal (seal_change)."),
}


def convert(kind: str, text: str) -> tuple[str, dict | None]:
    """An old notice's text as (key, args); (text, None) when it does not parse."""
    found = PATTERNS.get(kind)
    if found is None:
        return text, None
    pattern, key = found
    for start in range(len(text)):  # the English half follows the Chinese one
        match = re.match(pattern, text[start:], re.S)
        if match and (start == 0 or text[start - 1] == " "):
            args = {name: value for name, value in match.groupdict().items()
                    if f"%({name})s" in key}
            args = {name: int(value) if name == "id" else (value or "")
                    for name, value in args.items()}
            return key, args
    return text, None


def upgrade():
    with op.batch_alter_table('notices') as batch:
        batch.alter_column('message', new_column_name='key', existing_type=sa.Text(),
                           existing_nullable=False)
        batch.add_column(sa.Column('args', sa.JSON(), nullable=True))
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('language', sa.String(length=10), nullable=True))
    connection = op.get_bind()
    notices = sa.table('notices', sa.column('id', sa.Integer), sa.column('kind', sa.String),
                       sa.column('key', sa.Text), sa.column('args', sa.JSON))
    rows = connection.execute(sa.select(notices.c.id, notices.c.kind, notices.c.key)).all()
    for notice_id, kind, text in rows:
        key, args = convert(kind, text)
        if args is not None:
            connection.execute(notices.update().where(notices.c.id == notice_id)
                               .values(key=key, args=args))


def downgrade():
    connection = op.get_bind()
    notices = sa.table('notices', sa.column('id', sa.Integer), sa.column('key', sa.Text),
                       sa.column('args', sa.JSON))
    for notice_id, key, args in connection.execute(
            sa.select(notices.c.id, notices.c.key, notices.c.args)).all():
        if args:
            if isinstance(args, str):
                args = json.loads(args)
            try:
                text = key % args
            except (KeyError, ValueError, TypeError):
                continue
            connection.execute(notices.update().where(notices.c.id == notice_id)
                               .values(key=text))
    with op.batch_alter_table('users') as batch:
        batch.drop_column('language')
    with op.batch_alter_table('notices') as batch:
        batch.drop_column('args')
        batch.alter_column('key', new_column_name='message', existing_type=sa.Text(),
                           existing_nullable=False)
