"""Users, groups, passwords and API tokens."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import mmap
import os
import secrets
import struct
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from sqlalchemy import bindparam, delete, event, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import (
    InstanceState,
    Session,
    joinedload,
    lazyload,
    make_transient_to_detached,
)

from server.engine import clock
from server.extensions import db
from server.models import ApiToken, Enterprise, Group, PasswordHistory, User
from server.rules.passwords import password_problems
from server.services.audit import record_event
from server.services.errors import AuthenticationError, ValidationFailedError
from server.services.notifications import forget_directory
from server.services.store import release_read_transaction

log = logging.getLogger(__name__)

_HASHERS = {
    # argon2-cffi's default argon2id parameters (RFC 9106, low-memory profile).
    "standard": PasswordHasher(),
    # The test suite's (GUANJIA_PASSWORD_HASH=light, test mode only): same code, one cheap pass.
    "light": PasswordHasher(time_cost=1, memory_cost=8, parallelism=1),
}


def _hasher() -> PasswordHasher:

    return _HASHERS[current_app.config["GUANJIA"].password_hash]


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def _settings() -> tuple[int, int]:

    settings = current_app.config["GUANJIA"]
    return settings.password_min_length, settings.password_history


def _recent_hashes(user: User, count: int) -> list[str]:
    """The user's password now and before it, newest first, ``count`` in all."""

    if count <= 0 or user.id is None:
        return []
    hashes = [user.password_hash] if user.password_hash else []
    hashes += db.session.execute(
        select(PasswordHistory.password_hash).where(PasswordHistory.user_id == user.id)
        .order_by(PasswordHistory.id.desc()).limit(count)).scalars().all()
    return hashes[:count]


def password_errors(password: str, username: str, user: User | None = None) -> list[str]:
    """Every password rule ``password`` breaks for this user (empty: it may be used).

    The rules of ``server/rules/passwords.py`` and, for an existing user, not one of the last
    ``GUANJIA_PASSWORD_HISTORY`` passwords (the one in use included).
    """

    min_length, history = _settings()
    problems = password_problems(password, username, min_length=min_length)
    if not problems and user is not None:
        for old in _recent_hashes(user, history):
            with contextlib.suppress(VerificationError, InvalidHashError):
                if _hasher().verify(old, password):
                    problems.append(f"不能与最近 {history} 次使用过的密码相同 / must not "
                                    f"repeat one of the last {history} passwords")
                    break
    return problems


def set_password(user: User, password: str, *, by: str, checked: bool = False) -> None:
    """Give ``user`` a new password in the caller's transaction, audited with it.

    Every path that sets a password comes here (an administrator's create or reset, the
    user's own change, ``guanjia set-password``). The old hash joins the history. Ending
    the user's sessions is the caller's (it knows whether the user exists yet).
    Raises ``ValidationFailedError`` naming each broken rule under ``password``.
    """

    if not checked:
        problems = password_errors(password, user.username,
                                   user if user.id is not None else None)
        if problems:
            raise ValidationFailedError("密码不符合要求 / the password breaks the rules",
                                        {"password": problems})
    _min_length, history = _settings()
    if user.id is not None and user.password_hash:
        db.session.add(PasswordHistory(user_id=user.id, password_hash=user.password_hash))
        db.session.flush()
        keep = select(PasswordHistory.id).where(PasswordHistory.user_id == user.id).order_by(
            PasswordHistory.id.desc()).limit(max(history, 1))
        db.session.execute(delete(PasswordHistory).where(
            PasswordHistory.user_id == user.id, PasswordHistory.id.not_in(keep.scalar_subquery())
        ), execution_options={"synchronize_session": False})
    user.password_hash = hash_password(password)
    record_event(None, "password_changed", actor=by, payload={
        "username": user.username, "by": "self" if by == user.username else by})


def change_own_password(user: User, current: str, new: str) -> None:
    """A signed-in user's own change: the current password first; ends every session of the
    user (this one too) and commits. Raises ``ValidationFailedError``."""
    if not check_password(user, current):
        raise ValidationFailedError("当前密码不正确 / the current password is wrong",
                                    {"current_password": ["当前密码不正确 / the current "
                                                          "password is wrong"]})
    set_password(user, new, by=user.username)
    end_sessions(user)
    db.session.commit()


def check_password(user: User, password: str) -> bool:
    if not user.password_hash:
        return False
    try:
        return _hasher().verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


_dummy_hash: dict[int, str] = {}


def _verify_dummy(password: str) -> None:
    """Spend what checking a real password costs, so an unknown name answers as slowly."""
    hasher = _hasher()
    if id(hasher) not in _dummy_hash:
        _dummy_hash[id(hasher)] = hasher.hash(secrets.token_hex(16))
    with contextlib.suppress(VerificationError, InvalidHashError):
        hasher.verify(_dummy_hash[id(hasher)], password)


def authenticate(username: str, password: str) -> User:
    """The active user with this password; raises ``AuthenticationError``.

    Known, unknown and deactivated names take the same time (one argon2 verification each),
    and no transaction is held while the hash is checked.
    """

    user = db.session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    release_read_transaction()  # on SQLite a transaction holds the write lock
    if user is None or not user.active:
        _verify_dummy(password)
        raise AuthenticationError("wrong username or password")
    if not check_password(user, password):
        raise AuthenticationError("wrong username or password")
    return user


def sign_in(username: str, password: str, *, channel: str, address: str | None) -> User:
    """``authenticate``, with each failure audited (等保 2.0: login failures are recorded).

    ``channel`` is ``web`` or ``api``. Raises ``AuthenticationError``.
    """

    try:
        return authenticate(username, password)
    except AuthenticationError:
        db.session.rollback()
        record_event(None, "login_failed", actor=None, payload={
            "username": username[:80], "channel": channel, "address": address})
        db.session.commit()
        raise


def sign_out_everywhere(user: User) -> None:
    """End the user's web sessions on every device (API tokens stay); commits."""
    user.session_version = (user.session_version or 0) + 1
    db.session.commit()


def end_sessions(user: User) -> None:
    """End every web session and API token of ``user`` (in the caller's transaction)."""
    user.session_version = (user.session_version or 0) + 1
    db.session.execute(delete(ApiToken).where(ApiToken.user_id == user.id))


def issue_token(user: User, *, ttl_hours: int) -> str:
    """Create a bearer token; only its hash is stored."""
    token = secrets.token_urlsafe(32)
    db.session.add(ApiToken(user_id=user.id, token_sha256=hashlib.sha256(token.encode())
                            .hexdigest(), expires_at=clock.now() + timedelta(hours=ttl_hours)))
    db.session.commit()
    return token


# Every API call starts here: the user, their groups and the token's expiry in one query,
# built once.
_TOKEN_QUERY = (select(User, ApiToken.expires_at).join(ApiToken, ApiToken.user_id == User.id)
                .where(ApiToken.token_sha256 == bindparam("digest"))
                .options(joinedload(User.groups), lazyload(User.enterprise)))


def user_for_token(token: str) -> User:
    """The user a bearer token belongs to; raises ``AuthenticationError``.

    A token checked in this process within ``PRINCIPAL_SECONDS`` costs no query: the user
    (with groups) is copied into the request's session from a snapshot (issue 18: the lookup
    was 12 % of an API call). A snapshot counts only while the installation's principal
    revision (``PrincipalRevision``, shared by every process through the instance folder) is
    the one read before it was loaded: every committed change to a user, their groups or
    tokens (sign-out, deactivation, a new password, a county move) moves the revision, so
    every process asks the database again on its next call.
    """
    digest = hashlib.sha256(token.encode()).hexdigest()
    revision = principal_revision().current()
    cached = _principals.get(digest, revision) if revision is not None else None
    if cached is not None:
        snapshot, expires_at = cached
        if expires_at <= clock.now():
            _principals.forget(digest)
            raise AuthenticationError("the token has expired; sign in again")
        return db.session.merge(snapshot, load=False)
    row = db.session.execute(_TOKEN_QUERY, {"digest": digest}).unique().one_or_none()
    if row is None:
        raise AuthenticationError("unknown token")
    user, expires_at = row
    if expires_at <= clock.now():
        raise AuthenticationError("the token has expired; sign in again")
    if not user.active:
        raise AuthenticationError("the account is disabled")
    if revision is not None:
        _principals.keep(digest, user, expires_at, revision)
    return user


#: How long (seconds) a process trusts a bearer token it has checked without asking the
#: database again, while the principal revision stands still.
PRINCIPAL_SECONDS = 5.0
PRINCIPAL_LIMIT = 4096
REVISION_FILE = "principals.rev"


class PrincipalRevision:
    """A counter of changes to users, groups and tokens, shared by the processes of one
    installation: eight bytes of a file in the instance folder, mapped into memory.

    Reading it costs no system call (the page is shared by every process that maps the
    file, in containers too when they share the instance volume). ``bump`` adds one under
    an exclusive ``flock``, after the change has committed; a reader that saw the old value
    before loading a user sees the new one on its next call.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._pid = -1
        self._fd = -1
        self._map: mmap.mmap | None = None
        self._lock = threading.Lock()

    def _mapped(self) -> mmap.mmap | None:
        if self._map is None or self._pid != os.getpid():  # forked: a file of its own
            with self._lock:
                if self._map is None or self._pid != os.getpid():
                    try:
                        self.path.parent.mkdir(parents=True, exist_ok=True)
                        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
                        if os.fstat(fd).st_size < _COUNTER.size:
                            os.ftruncate(fd, _COUNTER.size)  # zeros: revision 0
                        self._map = mmap.mmap(fd, _COUNTER.size)
                    except OSError:
                        log.exception("no principal revision in %s: every API call looks "
                                      "its token up", self.path)
                        return None
                    self._fd, self._pid = fd, os.getpid()
        return self._map

    def current(self) -> int | None:
        """The revision now; None when the file cannot be used (then nothing is cached)."""
        counter = self._mapped()
        if counter is None:
            return None
        value: int = _COUNTER.unpack_from(counter)[0]
        return value

    def bump(self) -> None:
        counter = self._mapped()
        if counter is None:
            return
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            _COUNTER.pack_into(counter, 0, (_COUNTER.unpack_from(counter)[0] + 1) % 2**63)
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)


_COUNTER = struct.Struct("<Q")


def principal_revision() -> PrincipalRevision:
    """This installation's principal revision (see ``PrincipalRevision``)."""
    revision: PrincipalRevision | None = current_app.extensions.get("guanjia.principals")
    if revision is None:
        path = Path(current_app.config["GUANJIA"].instance_dir) / REVISION_FILE
        revision = current_app.extensions.setdefault("guanjia.principals",
                                                     PrincipalRevision(path))
    return revision


class _Principals:
    """Snapshots of users behind recently checked tokens: token digest -> detached user."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[float, int, User, datetime, int]] = OrderedDict()

    def get(self, digest: str, revision: int) -> tuple[User, datetime] | None:
        with self._lock:
            entry = self._entries.get(digest)
            if entry is None:
                return None
            if entry[0] <= time.monotonic() or entry[4] != revision:
                del self._entries[digest]
                return None
            return entry[2], entry[3]

    def keep(self, digest: str, user: User, expires_at: datetime, revision: int) -> None:
        # A detached copy of what was just loaded (with its groups): the request's own
        # object stays in its session, and no two sessions ever share one instance.
        snapshot = _detached_copy(user)
        if snapshot is None:
            return
        with self._lock:
            self._entries[digest] = (time.monotonic() + PRINCIPAL_SECONDS, user.id, snapshot,
                                     expires_at, revision)
            while len(self._entries) > PRINCIPAL_LIMIT:
                self._entries.popitem(last=False)

    def forget(self, digest: str) -> None:
        with self._lock:
            self._entries.pop(digest, None)

    def forget_users(self, user_ids: set[int] | None) -> None:
        """Drop the snapshots of these users (None: of everyone)."""
        with self._lock:
            if user_ids is None:
                self._entries.clear()
                return
            for digest in [d for d, e in self._entries.items() if e[1] in user_ids]:
                del self._entries[digest]


def _detached_copy(user: User) -> User | None:
    state: InstanceState[User] = sa_inspect(user)
    if state.modified or "groups" not in state.dict:
        return None  # only a clean, fully loaded row is a snapshot
    copy = User(**{a.key: state.dict[a.key] for a in sa_inspect(User).column_attrs
                   if a.key in state.dict})
    copy.groups = [Group(**{a.key: getattr(g, a.key) for a in sa_inspect(Group).column_attrs})
                   for g in user.groups]
    for obj in (copy, *copy.groups):
        make_transient_to_detached(obj)
    return copy


_principals = _Principals()
_CHANGED = "guanjia.principals_changed"


@event.listens_for(Session, "after_flush")
def _principal_changed(session: Session, _context: Any) -> None:
    """A user or group written or a token deleted through the ORM ends that user's snapshots
    in this process at once, and in every process when the transaction commits."""
    changed = {o.id for o in (*session.dirty, *session.deleted)
               if isinstance(o, User) and session.is_modified(o)}
    changed |= {o.user_id for o in session.deleted if isinstance(o, ApiToken)}
    changed |= {o.id for o in session.deleted if isinstance(o, User)}
    if changed:
        _principals.forget_users(changed)
        session.info[_CHANGED] = True
    elif any(isinstance(o, Group) for o in (*session.dirty, *session.deleted)):
        _principals.forget_users(None)
        session.info[_CHANGED] = True


@event.listens_for(Session, "do_orm_execute")
def _principals_bulk_changed(state: Any) -> None:
    """A bulk UPDATE/DELETE of users, groups or tokens ends every snapshot."""
    if state.is_update or state.is_delete:
        table = getattr(state.statement, "table", None)
        if getattr(table, "name", None) in {"users", "user_groups", "groups", "api_tokens"}:
            _principals.forget_users(None)
            state.session.info[_CHANGED] = True


@event.listens_for(Session, "after_commit")
def _principals_committed(session: Session) -> None:
    if session.info.pop(_CHANGED, False):
        principal_revision().bump()


@event.listens_for(Session, "after_rollback")
def _principals_rolled_back(session: Session) -> None:
    session.info.pop(_CHANGED, None)


def ensure_group(code: str, name: str, name_en: str = "", kind: str = "role") -> Group:
    group = db.session.get(Group, code)
    if group is None:
        group = Group(code=code, name=name, name_en=name_en or code, kind=kind)
        db.session.add(group)
    return group


def ensure_enterprise(name: str, area: str = "") -> Enterprise:
    enterprise = db.session.execute(
        select(Enterprise).where(Enterprise.name == name)).scalar_one_or_none()
    if enterprise is None:
        enterprise = Enterprise(name=name, area=area)
        db.session.add(enterprise)
        db.session.flush()
    return enterprise


def ensure_user(username: str, display_name: str, password: str, groups: Iterable[str], *,
                enterprise: Enterprise | None = None, area: str = "",
                county: str | None = None) -> User:
    """Create or update a user (used by the demo seed and tests); ``county`` None: the
    prefecture (every county)."""
    user = db.session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        user = User(username=username, display_name=display_name,
                    password_hash=hash_password(password))
        db.session.add(user)
    user.display_name = display_name
    user.area = area
    user.county = county
    user.enterprise_id = enterprise.id if enterprise is not None else None
    user.groups = [db.session.get(Group, code) or ensure_group(code, code) for code in groups]
    db.session.flush()
    forget_directory()
    return user


