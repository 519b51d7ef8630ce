"""Tables of the admin console (#22): one-time password links, rule overrides, admin changes, client use.

Imported at the bottom of governance.models so every table lives on the one declarative Base.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import AreaPath, Base


class PasswordReset(Base):
    """A one-time link that lets a person set a new password: the token is stored as SHA-256 only."""

    __tablename__ = "password_reset"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    used_at: Mapped[datetime | None] = mapped_column(DateTime)


class RuleOverride(Base):
    """A warning-rule setting changed in the admin console: its dotted path in warning_rules.yaml and value.

    `value` None means "back to the file's value"; `revision` grows with every change (the data
    version includes its maximum, so caches and open walls pick a change up without a restart).
    """

    __tablename__ = "rule_override"
    path: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[object | None] = mapped_column(JSON)
    revision: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    updated_by: Mapped[str] = mapped_column(String(80))


class AdminChange(Base):
    """One change made in the admin console (or its CLI twin): who, what, where, before and after."""

    __tablename__ = "admin_change"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(30), index=True)
    target: Mapped[str] = mapped_column(String(120))
    # Area path of what was changed ("/" for city-wide things), so scoped admins see their subtree's.
    area_path: Mapped[str] = mapped_column(AreaPath, index=True)
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)


class ApiClientUse(Base):
    """When an API client's token was last used (written at most once a minute per client)."""

    __tablename__ = "api_client_use"
    client_id: Mapped[int] = mapped_column(ForeignKey("api_client.id", ondelete="CASCADE"), primary_key=True)
    last_used_at: Mapped[datetime] = mapped_column(DateTime)
