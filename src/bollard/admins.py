"""Named admins: people with a name, a role and a token (shown once, stored hashed).

A **viewer** reads; an **approver** reads and decides held calls; an **admin** does
everything. The admin token of the settings (`BOLLARD_ADMIN_TOKEN`, or the one
generated into the state directory) is the first admin, named `admin`, with the
role admin: it is not a row, so it cannot be revoked by mistake and it still
works on a database with no admins. Tokens are made like agents' keys
(`bollard.agent_keys`, prefix `bat_`) and, like them, only their SHA-256 is kept.

Changes go through `bollard.changes.AdminChanges` (on the record, in the same
transaction); this module is the repository it and the console's sign-in share.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Engine, Row, insert, select, update
from sqlalchemy.exc import IntegrityError

from bollard.agent_keys import ADMIN_PREFIX, display_prefix, generate_key, is_well_formed, key_hash
from bollard.agents import NAME, utcnow
from bollard.errors import ConfigError
from bollard.store.tables import admin_sessions, admins

FIRST_ADMIN = "admin"  # the name the settings' admin token signs in as


class Role(StrEnum):
    """What an admin may do; each role may do all that the ones before it may."""

    VIEWER = "viewer"
    APPROVER = "approver"
    ADMIN = "admin"

    def allows(self, needed: Role) -> bool:
        """Whether this role may do what `needed` may."""
        order = list(Role)
        return order.index(self) >= order.index(needed)


ROLES = tuple(r.value for r in Role)


class UnknownAdminName(ConfigError):
    """No admin has this name; the message offers the nearest names there are."""

    def __init__(self, name: str, known: list[str]) -> None:
        nearest = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
        hint = f"did you mean {' or '.join(nearest)}?" if nearest else "see `bollard admins list`"
        super().__init__(f"no admin named {name!r}; {hint}")


class AdminNameTaken(ConfigError):
    """An admin with this name exists, or existed (names are never reused)."""


@dataclass(frozen=True, slots=True)
class Admin:
    """A person who may use the console, its API or (by name) the CLI."""

    name: str
    role: Role
    prefix: str = ""  # the token's first characters; "" for the first admin
    created_at: datetime | None = None
    revoked_at: datetime | None = None

    def as_dict(self) -> dict[str, str | None]:
        """As `admins list --json`, the API and the audit record show it (never the token)."""
        return {
            "name": self.name,
            "role": self.role.value,
            "token_prefix": self.prefix or None,
            "created_at": _iso(self.created_at),
            "revoked_at": _iso(self.revoked_at),
        }


FIRST = Admin(FIRST_ADMIN, Role.ADMIN)


def parse_role(text: str) -> Role:
    """A role by its name, or a ConfigError naming the roles there are."""
    try:
        return Role(text.strip().lower())
    except ValueError:
        raise ConfigError(f"role {text!r} is not one of: {', '.join(ROLES)}") from None


class Admins:
    """Named admins in the store (blocking: call from a thread)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create(self, name: str, role: Role, conn: Connection) -> tuple[Admin, str]:
        """A new admin and their token (returned once, never stored)."""
        _check_name(name)
        if name == FIRST_ADMIN or self._row(name, conn) is not None:
            raise AdminNameTaken(f"an admin named {name!r} already exists; choose another name")
        token = generate_key(ADMIN_PREFIX)
        now = utcnow()
        row = {"name": name, "role": role.value, "prefix": display_prefix(token), "created_at": now}
        try:
            conn.execute(insert(admins).values(token_hash=key_hash(token), **row))
        except IntegrityError as exc:  # another made it since our check
            raise AdminNameTaken(f"an admin named {name!r} already exists") from exc
        return Admin(name, role, display_prefix(token), now), token

    def revoke(self, name: str, conn: Connection) -> tuple[Admin, bool]:
        """Revoke an admin's token and end their sessions; (the admin, whether it already was)."""
        before = self.require(name, conn)
        if before.revoked_at is not None:
            return before, True
        now = utcnow()
        conn.execute(update(admins).where(admins.c.name == name).values(revoked_at=now))
        conn.execute(
            update(admin_sessions)
            .where(admin_sessions.c.admin == name, admin_sessions.c.ended_at.is_(None))
            .values(ended_at=now)
        )
        return self.require(name, conn), False

    def require(self, name: str, conn: Connection) -> Admin:
        """The named admin (the first admin too), or UnknownAdminName."""
        if name == FIRST_ADMIN:
            return FIRST
        row = self._row(name, conn)
        if row is None:
            known = [a.name for a in self.list(conn)]
            raise UnknownAdminName(name, known)
        return _admin(row)

    def list(self, conn: Connection | None = None) -> list[Admin]:
        """Every admin, the first admin first, then by name."""
        if conn is None:
            with self._engine.connect() as own:
                return self.list(own)
        rows = conn.execute(select(admins).order_by(admins.c.name)).all()
        return [FIRST, *(_admin(r) for r in rows)]

    def by_token(self, token: str) -> Admin | None:
        """The live admin this token belongs to, if any."""
        if not is_well_formed(token, ADMIN_PREFIX):
            return None
        query = select(admins).where(
            admins.c.token_hash == key_hash(token), admins.c.revoked_at.is_(None)
        )
        with self._engine.connect() as conn:
            row = conn.execute(query).first()
        return None if row is None else _admin(row)

    def holding(self, name: str) -> Admin | None:
        """The admin a session names, while they may still sign in ("" is the first admin)."""
        if name in ("", FIRST_ADMIN):
            return FIRST
        with self._engine.connect() as conn:
            row = self._row(name, conn)
        return None if row is None or row.revoked_at is not None else _admin(row)

    def _row(self, name: str, conn: Connection) -> Row[Any] | None:
        return conn.execute(select(admins).where(admins.c.name == name)).first()


def _check_name(name: str) -> None:
    if not NAME.fullmatch(name):
        raise ConfigError(
            f"admin name {name!r} is not allowed: use 1 to 64 lowercase letters, digits, "
            "'_', '.' or '-', starting with a letter or digit (e.g. alice)"
        )


def _admin(row: Row[Any]) -> Admin:
    return Admin(row.name, Role(row.role), row.prefix, row.created_at, row.revoked_at)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment else None
