"""SQLAlchemy models of the metadata store; the schema itself is made by Alembic."""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class Role(enum.StrEnum):
    """Plausible's roles on a site, from most to least: see `ROLE_RANK`."""

    owner = "owner"
    admin = "admin"
    editor = "editor"
    viewer = "viewer"


# Higher is more: an owner may do all an admin may, an admin all an editor may, and so on.
ROLE_RANK = {Role.viewer: 1, Role.editor: 2, Role.admin: 3, Role.owner: 4}


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    totp_secret: Mapped[str | None] = mapped_column(String(64), default=None)
    is_superuser: Mapped[bool] = mapped_column(Boolean, default=False)
    # The instance's administrator (the first user to register): sees operator notices.
    # Unlike a superuser it sees no other owner's sites.
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    # The last TOTP time step accepted, so that one code cannot be used twice.
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger, default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    memberships: Mapped[list[Membership]] = relationship(back_populates="user")


class Site(Base):
    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    domain: Mapped[str] = mapped_column(String(253), unique=True)
    timezone: Mapped[str] = mapped_column(String(64), default="Etc/UTC")
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    ingest_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # Custom property keys the dashboard offers; None: every key. Events keep all their props.
    allowed_props: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    # Days this site's events are kept; None: the instance's DATA_RETENTION_DAYS (footfall.ops.retention).
    retention_days: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    memberships: Mapped[list[Membership]] = relationship(back_populates="site", cascade="all, delete-orphan")
    goals: Mapped[list[Goal]] = relationship(back_populates="site", cascade="all, delete-orphan")


class Membership(Base):
    __tablename__ = "site_memberships"
    __table_args__ = (UniqueConstraint("site_id", "user_id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[Role] = mapped_column(Enum(Role, name="site_role", native_enum=False, length=16))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    site: Mapped[Site] = relationship(back_populates="memberships")
    user: Mapped[User] = relationship(back_populates="memberships")


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    key_prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hourly_request_limit: Mapped[int] = mapped_column(Integer, default=600)
    # Plausible's scope names: "stats:read:*" (Stats API only) or "sites:provision:*" (Sites
    # API as well). Keys made before scopes existed could use both APIs, hence the default.
    scope: Mapped[str] = mapped_column(
        String(32), default="sites:provision:*", server_default="sites:provision:*"
    )
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)

    user: Mapped[User] = relationship()


class Goal(Base):
    __tablename__ = "goals"
    __table_args__ = (
        CheckConstraint("(event_name IS NULL) <> (page_path IS NULL)", name="goal_event_xor_page"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    event_name: Mapped[str | None] = mapped_column(String(120), default=None)
    page_path: Mapped[str | None] = mapped_column(String(2000), default=None)
    display_name: Mapped[str] = mapped_column(String(200))
    currency: Mapped[str | None] = mapped_column(String(3), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    site: Mapped[Site] = relationship(back_populates="goals")


class Funnel(Base):
    __tablename__ = "funnels"
    __table_args__ = (UniqueConstraint("site_id", "name"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    steps: Mapped[list[FunnelStep]] = relationship(
        order_by="FunnelStep.step_order", cascade="all, delete-orphan"
    )


class FunnelStep(Base):
    __tablename__ = "funnel_steps"
    __table_args__ = (UniqueConstraint("funnel_id", "step_order"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    funnel_id: Mapped[int] = mapped_column(ForeignKey("funnels.id", ondelete="CASCADE"), index=True)
    goal_id: Mapped[int] = mapped_column(ForeignKey("goals.id", ondelete="CASCADE"))
    step_order: Mapped[int] = mapped_column(Integer)

    goal: Mapped[Goal] = relationship()


class SharedLink(Base):
    __tablename__ = "shared_links"
    __table_args__ = (UniqueConstraint("site_id", "name"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(200), default=None)
    # A saved segment the link's visitors see the dashboard through; None: the whole site.
    segment_id: Mapped[int | None] = mapped_column(
        ForeignKey("segments.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class LoginSession(Base):
    """One browser's login: the cookie holds a random token, this row its SHA-256 hash.

    `verified` is False between a correct password and the second factor. `device` is a
    label such as "Chrome on Linux" (never the raw user agent, never an address)."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_secret: Mapped[str] = mapped_column(String(64))
    verified: Mapped[bool] = mapped_column(Boolean, default=True)
    device: Mapped[str] = mapped_column(String(120), default="")
    data: Mapped[dict | None] = mapped_column(JSON, default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)

    user: Mapped[User] = relationship()


class Invitation(Base):
    """An invitation to join a site with a role: a single-use link holding a random token."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[Role] = mapped_column(Enum(Role, name="site_role", native_enum=False, length=16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)

    site: Mapped[Site] = relationship()


class PasswordReset(Base):
    """A single-use, expiring password-reset link's token (its SHA-256 hash)."""

    __tablename__ = "password_resets"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    used_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)


class EmailChange(Base):
    """A new email address waiting for its single-use confirmation link (the token's SHA-256 hash)."""

    __tablename__ = "email_changes"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    new_email: Mapped[str] = mapped_column(String(320))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    used_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)


class RecoveryCode(Base):
    """One of a user's single-use two-factor recovery codes (argon2 hash)."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(200))
    used_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)


class SiteImport(Base):
    """One import of another tool's statistics into a site (`footfall.moving`): its rows live in
    the event store's `imported_*` tables under this id, and count only once `state` is
    `completed`."""

    __tablename__ = "site_imports"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(32))  # plausible_csv | ga4_csv
    label: Mapped[str] = mapped_column(String(255), default="")  # the file or folder name
    start_date: Mapped[date | None] = mapped_column(Date, default=None)
    end_date: Mapped[date | None] = mapped_column(Date, default=None)
    # importing | interrupted | completed | failed | deleting (footfall.moving.imports)
    state: Mapped[str] = mapped_column(String(16), default="importing")
    rows: Mapped[int] = mapped_column(BigInteger, default=0)
    progress_done: Mapped[int] = mapped_column(BigInteger, default=0)  # bytes read of progress_total
    progress_total: Mapped[int] = mapped_column(BigInteger, default=0)
    error: Mapped[str | None] = mapped_column(String(2000), default=None)
    # JSON: the source's path and files, and each table already in (what a resume skips)
    checkpoint: Mapped[dict | None] = mapped_column(JSON, default=None)
    imported_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Salt(Base):
    """One secret per UTC day; visitor ids hash with it; deleted after two days."""

    __tablename__ = "salts"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    salt: Mapped[bytes] = mapped_column(LargeBinary(32))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


__all__ = [
    "ROLE_RANK",
    "ApiKey",
    "Base",
    "Funnel",
    "FunnelStep",
    "Goal",
    "Invitation",
    "LoginSession",
    "Membership",
    "PasswordReset",
    "RecoveryCode",
    "Role",
    "Salt",
    "SharedLink",
    "Site",
    "SiteImport",
    "User",
]
