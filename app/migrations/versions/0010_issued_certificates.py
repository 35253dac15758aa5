"""issued_certificates: every certificate the issuing CA signed (CRL entries, OCSP answers)

Revision ID: 0010
Revises: 0009
"""
import datetime

import sqlalchemy as sa
from alembic import op
from cryptography import x509

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    table = op.create_table(
        'issued_certificates',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('serial', sa.String(length=64), nullable=False),
        sa.Column('seal_id', sa.Integer(), nullable=True),
        sa.Column('purpose', sa.String(length=10), nullable=False),
        sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('not_after', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['seal_id'], ['seals.id'],
                                name=op.f('fk_issued_certificates_seal_id_seals'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_issued_certificates')),
        sa.UniqueConstraint('serial', name=op.f('uq_issued_certificates_serial')),
    )
    op.create_index(op.f('ix_issued_certificates_seal_id'), 'issued_certificates', ['seal_id'],
                    unique=False)
    # The certificates issued before: each seal's present one (not an external CA's), the TSA's.
    conn = op.get_bind()
    now = datetime.datetime.now(datetime.UTC)
    found = [(seal_id, pem, 'seal') for seal_id, pem in conn.execute(sa.text(
        "SELECT id, cert_pem FROM seals WHERE chain_pem IS NULL"))]
    found += [(None, pem, 'tsa') for (pem,) in conn.execute(sa.text(
        "SELECT cert_pem FROM pki_authorities WHERE kind = 'tsa'"))]
    rows = []
    for seal_id, pem, purpose in found:
        if not pem:
            continue
        cert = x509.load_pem_x509_certificate(bytes(pem))
        rows.append({'serial': format(cert.serial_number, 'x'), 'seal_id': seal_id,
                     'purpose': purpose, 'issued_at': now,
                     'not_after': cert.not_valid_after_utc})
    if rows:
        op.bulk_insert(table, rows)


def downgrade():
    op.drop_index(op.f('ix_issued_certificates_seal_id'), table_name='issued_certificates')
    op.drop_table('issued_certificates')
