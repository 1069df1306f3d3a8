"""Signed-in console sessions, held in the database so that they can be ended.

A session cookie is signed (`bollard.admin.auth`), and that alone used to make it
good until it expired: signing out only asked the browser to forget it. Now a
session is also a row here, and a cookie counts only while its row is live, so
signing out ends it on every replica; changing the admin token ends every session
(their signatures no longer verify); and `end_all` ends one admin's sessions, for
when an admin is removed.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, Engine, delete, insert, or_, select, update

from bollard.store.tables import admin_sessions

# Rows of sessions expired longer ago than this are deleted as new ones begin.
_KEEP_EXPIRED = timedelta(days=1)


def _hashed(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class Sessions:
    """Begins, checks and ends console sessions (blocking: call from a thread)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def begin(self, session_id: str, admin: str, expires_at: datetime, now: datetime) -> None:
        """Record a new session (and forget long-expired ones)."""
        with self._engine.begin() as conn:
            conn.execute(
                delete(admin_sessions).where(admin_sessions.c.expires_at < now - _KEEP_EXPIRED)
            )
            conn.execute(
                insert(admin_sessions).values(
                    id_hash=_hashed(session_id),
                    admin=admin,
                    created_at=now,
                    expires_at=expires_at,
                )
            )

    def live(self, session_id: str, now: datetime) -> bool:
        """Whether the session was begun here, has not expired and was not ended."""
        return self.holder(session_id, now) is not None

    def holder(self, session_id: str, now: datetime) -> str | None:
        """The admin a live session names ("" for one begun before named admins), else None."""
        table = admin_sessions
        query = select(table.c.admin).where(
            table.c.id_hash == _hashed(session_id),
            table.c.ended_at.is_(None),
            table.c.expires_at > now,
        )
        with self._engine.connect() as conn:
            found = conn.execute(query).scalar()
        return None if found is None else str(found)

    def show_flash(self, session_id: str, sealed_us: int) -> bool:
        """Mark a flash sealed at `sealed_us` shown, if this live session has shown none
        sealed as late: True once per flash, so a replayed copy shows nothing."""
        table = admin_sessions
        shown = table.c.flash_shown_us
        with self._engine.begin() as conn:
            result = conn.execute(
                update(table)
                .where(
                    table.c.id_hash == _hashed(session_id),
                    table.c.ended_at.is_(None),
                    or_(shown.is_(None), shown < sealed_us),
                )
                .values(flash_shown_us=sealed_us)
            )
            return result.rowcount == 1

    def end(self, session_id: str, now: datetime) -> None:
        """End one session (signing out)."""
        self._end(admin_sessions.c.id_hash == _hashed(session_id), now)

    def end_all(self, admin: str, now: datetime) -> int:
        """End every live session of one admin; how many were ended."""
        return self._end(admin_sessions.c.admin == admin, now)

    def _end(self, which: ColumnElement[bool], now: datetime) -> int:
        table = admin_sessions
        with self._engine.begin() as conn:
            result = conn.execute(
                update(table).where(which, table.c.ended_at.is_(None)).values(ended_at=now)
            )
            return result.rowcount


def utc(timestamp: float) -> datetime:
    """An epoch timestamp as an aware UTC datetime."""
    return datetime.fromtimestamp(timestamp, UTC)
