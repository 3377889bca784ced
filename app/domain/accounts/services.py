"""Accounts: organizations, workspaces, users, memberships and API tokens."""

from __future__ import annotations

import datetime as dt
import uuid as uuid_lib
from collections.abc import Iterable
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.engine import Database
from app.db.models import ApiToken, Membership, Organization, Role, User, Workspace
from app.db.models.base import utcnow
from app.domain.accounts.recent import RecentSessions
from app.lib.errors import ConflictError, FieldValidationError, NotFoundError
from app.lib.identity import CurrentUser, WorkspaceAccess
from app.lib.security import PasswordCheck, generate_token, hash_password, hash_token
from app.lib.sql import affected_rows

_ACCESS_COLUMNS = (
    Membership.role,
    Workspace.id.label("workspace_id"),
    Workspace.uuid.label("workspace_uuid"),
    Workspace.name.label("workspace_name"),
    Organization.id.label("org_id"),
    Organization.multiplai_id.label("org_multiplai_id"),
)


def _access(rows: Iterable[Any]) -> dict[int, WorkspaceAccess]:
    return {
        r.workspace_id: WorkspaceAccess(
            r.workspace_id, r.workspace_uuid, r.workspace_name, r.org_id, r.org_multiplai_id, Role(r.role)
        )
        for r in rows
    }


# Writing last_used_at on every request would turn reads into writes; a minute's precision is plenty.
LAST_USED_PRECISION = dt.timedelta(seconds=60)
SIGN_IN_TOKEN = "sign-in"  # the name of tokens minted by API sign-in: their lifetime slides on use


class AccountService:
    def __init__(
        self,
        db: Database,
        session_cache_seconds: float = 0.0,
        passwords: PasswordCheck | None = None,
        token_lifetime: dt.timedelta = dt.timedelta(days=30),
    ) -> None:
        self.db = db
        self.recent_sessions = RecentSessions(session_cache_seconds)
        self.passwords = passwords or PasswordCheck()
        self.token_lifetime = token_lifetime

    async def authenticate_session(self, token: str) -> CurrentUser | None:
        """A browser session's user: ``authenticate_token``, reused for ``session_cache_seconds``
        (see ``RecentSessions``: the same bound as open WebSockets' re-check)."""
        user = self.recent_sessions.get(token)
        if user is None:
            user = await self.authenticate_token(token)
            if user is not None:
                self.recent_sessions.put(token, user)
        return user

    async def authenticate_token(self, token: str) -> CurrentUser | None:
        """Resolve a bearer token to its user and memberships, or None if unknown, revoked or expired.
        One statement (token, user and memberships joined): it runs on every request."""
        now = utcnow()
        async with self.db.quick_read() as session:
            rows = (
                await session.execute(
                    select(
                        ApiToken.id.label("token_id"),
                        ApiToken.name.label("token_name"),
                        ApiToken.last_used_at,
                        ApiToken.expires_at,
                        User.id,
                        User.uuid,
                        User.email,
                        User.name,
                        User.multiplai_id,
                        User.is_active,
                        *_ACCESS_COLUMNS,
                    )
                    .join(User, User.id == ApiToken.user_id)
                    .outerjoin(Membership, Membership.user_id == User.id)
                    .outerjoin(Workspace, and_(Workspace.id == Membership.workspace_id, Workspace.deleted_at.is_(None)))
                    .outerjoin(Organization, Organization.id == Workspace.organization_id)
                    .where(ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None))
                )
            ).all()
        if not rows:
            return None
        row = rows[0]
        if not row.is_active or (row.expires_at and row.expires_at <= now):
            return None
        user = CurrentUser(
            id=row.id,
            uuid=row.uuid,
            email=row.email,
            name=row.name,
            multiplai_id=row.multiplai_id,
            token_id=row.token_id,
            access=_access(r for r in rows if r.workspace_id is not None),
        )
        if row.last_used_at is None or now - row.last_used_at > LAST_USED_PRECISION:
            values: dict[str, Any] = {"last_used_at": now}
            if row.token_name == SIGN_IN_TOKEN and row.expires_at is not None:
                values["expires_at"] = now + self.token_lifetime  # sliding: in use, it stays alive
            async with self.db.write() as session:
                await session.execute(update(ApiToken).where(ApiToken.id == row.token_id).values(**values))
        return user

    async def load_user(self, user_id: int) -> CurrentUser | None:
        async with self.db.read() as session:
            user = await session.get(User, user_id)
            if user is None or not user.is_active:
                return None
            return await self._load_current_user(session, user)

    async def _load_current_user(self, session: AsyncSession, user: User, token_id: int | None = None) -> CurrentUser:
        rows = await session.execute(
            select(*_ACCESS_COLUMNS)
            .join(Workspace, Workspace.id == Membership.workspace_id)
            .join(Organization, Organization.id == Workspace.organization_id)
            .where(Membership.user_id == user.id, Workspace.deleted_at.is_(None))
        )
        access = _access(rows)
        return CurrentUser(
            id=user.id,
            uuid=user.uuid,
            email=user.email,
            name=user.name,
            multiplai_id=user.multiplai_id,
            token_id=token_id,
            access=access,
        )

    async def check_password(self, email: str, password: str) -> int:
        """The user id for these credentials, or a 422 that does not say which part was wrong.

        Exactly one argon2 verification in every case (against a dummy hash for an unknown or
        inactive user), in a worker thread; a hash with outdated parameters is upgraded on success."""
        async with self.db.read() as session:
            row = (
                await session.execute(
                    select(User.id, User.password_hash, User.is_active).where(User.email == email.strip().lower())
                )
            ).one_or_none()
        usable = row if row is not None and row.is_active else None
        verified = await self.passwords.verify(usable.password_hash if usable is not None else None, password)
        if usable is None or not verified.ok:
            raise FieldValidationError("email", "These credentials do not match our records.")
        if verified.rehashed is not None:
            async with self.db.write() as session:
                await session.execute(
                    update(User)
                    .where(User.id == usable.id, User.password_hash == usable.password_hash)
                    .values(password_hash=verified.rehashed)
                )
        return int(usable.id)

    async def sign_in(self, email: str, password: str) -> tuple[str, CurrentUser]:
        token, _, current = await self.sign_in_token(email, password)
        return token, current

    async def sign_in_token(self, email: str, password: str) -> tuple[str, dt.datetime, CurrentUser]:
        """A new API token for these credentials, with its end: ``token_lifetime`` from now, pushed
        back on each use (at most once a minute)."""
        user_id = await self.check_password(email, password)
        expires_at = utcnow() + self.token_lifetime
        token = await self.create_token(user_id, name=SIGN_IN_TOKEN, expires_at=expires_at)
        current = await self.load_user(user_id)
        assert current is not None
        return token, expires_at, current

    async def create_token(self, user_id: int, name: str = "cli", expires_at: dt.datetime | None = None) -> str:
        token = generate_token()
        async with self.db.write() as session:
            session.add(ApiToken(user_id=user_id, token_hash=hash_token(token), name=name, expires_at=expires_at))
        return token

    async def revoke_token(self, token_id: int) -> None:
        async with self.db.write() as session:
            await session.execute(
                update(ApiToken)
                .where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            )
        self.recent_sessions.forget_all()

    async def list_tokens(self, user_id: int, *, live: bool = False) -> list[dict[str, Any]]:
        """The user's tokens (never their secrets), newest first; ``live``: only those that still
        authenticate (neither revoked nor expired)."""
        conditions = [ApiToken.user_id == user_id]
        if live:
            now = utcnow()
            conditions += [ApiToken.revoked_at.is_(None), or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > now)]
        async with self.db.read() as session:
            rows = await session.execute(
                select(
                    ApiToken.id,
                    ApiToken.uuid,
                    ApiToken.name,
                    ApiToken.created_at,
                    ApiToken.last_used_at,
                    ApiToken.expires_at,
                    ApiToken.revoked_at,
                )
                .where(*conditions)
                .order_by(ApiToken.id.desc())
            )
            return [dict(r._mapping) for r in rows]

    async def revoke_tokens(self, user_id: int, token_uuid: uuid_lib.UUID | None = None) -> int:
        """Revoke one token of the user (by uuid), or all of them (API tokens and dashboard sessions).
        Open WebSockets using them are closed within WS_AUTH_RECHECK_SECONDS. Returns the count."""
        conditions = [ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None)]
        if token_uuid is not None:
            conditions.append(ApiToken.uuid == token_uuid)
        async with self.db.write() as session:
            result = await session.execute(update(ApiToken).where(*conditions).values(revoked_at=utcnow()))
        self.recent_sessions.forget_all()
        revoked = affected_rows(result)
        if token_uuid is not None and revoked == 0:
            raise NotFoundError("Active token")
        return revoked

    async def set_active(self, email: str, active: bool) -> int:
        """Deactivate a user (someone who left) or let them back in. Deactivating revokes every
        token and dashboard session of theirs (API at once; pages and open WebSockets within
        WS_AUTH_RECHECK_SECONDS) and refuses their sign-ins with the wrong-password answer; what
        they did stays (decisions, audit). Returns the number of tokens revoked."""
        user_id = await self.user_id_by_email(email)
        async with self.db.write() as session:
            await session.execute(update(User).where(User.id == user_id).values(is_active=active))
        if active:
            self.recent_sessions.forget_all()
            return 0
        return await self.revoke_tokens(user_id)

    async def remove_membership_of(self, email: str, workspace: str) -> None:
        """Take a user out of a workspace (uuid or unique name): at once for this process's requests,
        and within WS_AUTH_RECHECK_SECONDS for open WebSockets and other processes' pages."""
        user_id = await self.user_id_by_email(email)
        async with self.db.read() as session:
            ws = await self._find_workspace(session, workspace)
        await self.remove_membership(user_id, ws.id)

    async def create_workspace(self, name: str, organization_multiplai_id: str) -> Workspace:
        """Create a workspace, creating its organization on first use."""
        async with self.db.write() as session:
            org = (
                await session.execute(
                    select(Organization).where(Organization.multiplai_id == organization_multiplai_id)
                )
            ).scalar_one_or_none()
            if org is None:
                org = Organization(multiplai_id=organization_multiplai_id, name=organization_multiplai_id)
                session.add(org)
                await session.flush()
            workspace = Workspace(name=name, organization_id=org.id)
            session.add(workspace)
        return workspace

    async def create_user(
        self,
        email: str,
        password: str,
        *,
        name: str = "",
        multiplai_id: str | None = None,
        workspace: str | None = None,
        role: Role = Role.VIEWER,
    ) -> User:
        """Create a user (or add a membership to an existing one) in a workspace given by uuid or name."""
        email = email.strip().lower()
        async with self.db.write() as session:
            user = (await session.execute(select(User).where(User.email == email))).scalar_one_or_none()
            if user is None:
                user = User(
                    email=email,
                    name=name or email.split("@")[0],
                    multiplai_id=multiplai_id or f"user-{uuid_lib.uuid4().hex[:12]}",
                    password_hash=hash_password(password),
                )
                session.add(user)
                await session.flush()
            elif password:
                user.password_hash = hash_password(password)  # the CLI's way to reset a password
            if workspace:
                ws = await self._find_workspace(session, workspace)
                exists = (
                    await session.execute(
                        select(Membership).where(Membership.user_id == user.id, Membership.workspace_id == ws.id)
                    )
                ).scalar_one_or_none()
                if exists is not None:
                    exists.role = role.value
                else:
                    session.add(Membership(user_id=user.id, workspace_id=ws.id, role=role.value))
        self.recent_sessions.forget_all()  # a role changed or a membership added
        return user

    async def user_id_by_email(self, email: str) -> int:
        async with self.db.read() as session:
            user_id = (
                await session.execute(select(User.id).where(User.email == email.strip().lower()))
            ).scalar_one_or_none()
        if user_id is None:
            raise NotFoundError("User")
        return user_id

    async def remove_membership(self, user_id: int, workspace_id: int) -> None:
        async with self.db.write() as session:
            m = (
                await session.execute(
                    select(Membership).where(Membership.user_id == user_id, Membership.workspace_id == workspace_id)
                )
            ).scalar_one_or_none()
            if m is None:
                raise ConflictError("The user is not a member of that workspace.")
            await session.delete(m)
        self.recent_sessions.forget_all()

    @staticmethod
    async def _find_workspace(session: AsyncSession, ref: str) -> Workspace:
        try:
            cond = Workspace.uuid == uuid_lib.UUID(ref)
        except ValueError:
            cond = Workspace.name == ref
        found = (await session.execute(select(Workspace).where(cond, Workspace.deleted_at.is_(None)))).scalars().all()
        if not found:
            raise NotFoundError(f"Workspace '{ref}'")
        if len(found) > 1:
            raise ConflictError(f"Several workspaces are named '{ref}'; use its uuid.")
        return found[0]
