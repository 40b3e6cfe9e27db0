"""audit hashes and MACs stored as raw bytes, not hex text (issue 18: bytes per case)

Each audit event carries a leaf hash and a MAC, 32 bytes each, stored until now as 64 hex
characters: 128 bytes of the ~420 a row costs. ``server.models.types.HexDigest`` stores the raw
bytes and still hands the code lowercase hex, so nothing that reads them changes.

SQLite's columns take any type, so its old rows stay exactly as they were (hex text, read back
unchanged) and new rows store bytes: no table rewrite. PostgreSQL needs ``bytea``: canonical
lowercase hex becomes its bytes (the same value, read back as the same hex); any other text
(upper case, wrong length: not written by guanjia) is kept as its UTF-8 bytes, read back as
that text, so a row never changes meaning and a malformed one still fails verification.
No event's content, leaf hash or MAC changes: the chain and every checkpoint verify as before.
The append-only trigger fires on row UPDATE/DELETE, not on a column's type change.

Revision ID: 0027_compact
Revises: 0023_speed
"""
from alembic import op

revision = "0027_compact"
down_revision = "0026_handups"
branch_labels = None
depends_on = "0010_ledger"  # the mac column

COLUMNS = ("leaf_hash", "mac")
#: A stored hex text as bytea (tests/audit/test_compact_storage.py checks it reads back).
TO_BYTES = ("CASE WHEN {0} ~ '^[0-9a-f]{{64}}$' THEN decode({0}, 'hex') "
            "ELSE convert_to({0}, 'UTF8') END")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for column in COLUMNS:
        op.execute(f"ALTER TABLE audit_events ALTER COLUMN {column} TYPE bytea "
                   f"USING {TO_BYTES.format(column)}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for column, length in zip(COLUMNS, (128, 64), strict=True):
        op.execute(
            f"ALTER TABLE audit_events ALTER COLUMN {column} TYPE varchar({length}) USING CASE "
            f"WHEN length({column}) = 32 THEN encode({column}, 'hex') "
            f"ELSE convert_from({column}, 'UTF8') END")
