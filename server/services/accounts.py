"""Administering who works in guanjia: users, their groups, groups and departments."""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import ColumnElement, func, select, true

from server.extensions import db
from server.models import County, Enterprise, Group, User
from server.models.users import user_groups
from server.services.audit import record_event
from server.services.calendar import default_county
from server.services.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ValidationFailedError,
)
from server.services.notifications import forget_directory
from server.services.users import end_sessions, password_errors, set_password

USERNAME = re.compile(r"^[a-z0-9_.-]{2,80}$")
GROUP_CODE = re.compile(r"^[a-z][a-z0-9_]{1,63}$")
#: The choice on the user page for a prefecture-wide user (``User.county`` NULL); no county
#: code can be it (codes start with a letter).
PREFECTURE = "*"


def require_admin(user: User) -> None:
    if not user.in_group("admin"):
        raise PermissionDeniedError("only administrators manage users and groups")


def _admins_users(admin: User | None) -> ColumnElement[bool]:
    """The users ``admin`` administers: a county administrator their county's, a prefecture
    administrator (or a command, ``admin`` None) everyone (issue 21)."""
    if admin is None or admin.county is None:
        return true()
    return User.county == admin.county


def list_users(admin: User | None = None) -> list[User]:
    """The users ``admin`` administers (everyone without one), by name."""
    return list(db.session.execute(select(User).where(_admins_users(admin))
                                   .order_by(User.username)).scalars())


def list_groups() -> list[Group]:
    return list(db.session.execute(select(Group).order_by(Group.kind, Group.code)).scalars())


def list_counties(admin: User | None = None) -> list[County]:
    """The counties a user may belong to, the default first; those ``admin`` may put a user
    in (a county administrator: their own)."""
    query = select(County).order_by(County.is_default.desc(), County.code)
    if admin is not None and admin.county is not None:
        query = query.where(County.code == admin.county)
    return list(db.session.execute(query).scalars())


def _county_choice(county: str | None, existing: User | None,
                   errors: dict[str, list[str]], admin: User | None = None) -> str | None:
    """The county a saved user belongs to: ``PREFECTURE`` → None (every county); a county's
    code → it; None or blank → unchanged, or for a new user the administrator's county, else
    the default county (a new user is never prefecture-wide by omission). A county
    administrator may choose only their own county."""
    own = admin.county if admin is not None else None
    if county is None or not county.strip():
        return existing.county if existing is not None else own or default_county()
    county = county.strip()
    if own is not None and county != own:
        errors["county"] = [f"只能选择本县 / only your own county ({own})"]
        return own
    if county == PREFECTURE:
        return None
    if db.session.get(County, county) is None:
        errors["county"] = [f"未知的县 / unknown county: {county}"]
    return county


def list_enterprises() -> list[Enterprise]:
    return list(db.session.execute(select(Enterprise).order_by(Enterprise.name)).scalars())


def member_counts(admin: User | None = None) -> dict[str, int]:
    """Members per group, of the users ``admin`` administers."""
    rows = db.session.execute(select(user_groups.c.group_code, func.count())
                              .join(User, User.id == user_groups.c.user_id)
                              .where(_admins_users(admin))
                              .group_by(user_groups.c.group_code)).all()
    return {code: int(n) for code, n in rows}


def get_user(user_id: int, admin: User | None = None) -> User:
    """A user by id; one ``admin`` does not administer (another county's) is not found."""
    user = db.session.get(User, user_id)
    if user is None or (admin is not None and admin.county is not None
                        and user.county != admin.county):
        raise NotFoundError(f"user {user_id} does not exist")
    return user


def _groups(codes: Iterable[str]) -> list[Group]:
    groups = []
    for code in codes:
        group = db.session.get(Group, code)
        if group is None:
            raise ValidationFailedError(f"unknown group {code}", {"groups": [f"未知的组 {code}"]})
        groups.append(group)
    return groups


def save_user(admin: User, *, user_id: int | None, username: str, display_name: str,
              password: str, groups: Iterable[str], area: str = "",
              enterprise_id: int | None = None, active: bool = True,
              county: str | None = None) -> User:
    """Create (``user_id`` None) or update a user; ``county`` as ``_county_choice`` reads it
    (a changed county is audited ``user_county_changed``). Raises ``PermissionDeniedError``,
    ``ValidationFailedError``, ``ConflictError`` (username taken)."""
    require_admin(admin)
    errors: dict[str, list[str]] = {}
    username = username.strip()
    if user_id is None and not USERNAME.match(username):
        errors["username"] = ["用户名须为2–80位小写字母、数字、下划线、点或连字符"]
    if not display_name.strip():
        errors["display_name"] = ["此项为必填"]
    existing = get_user(user_id, admin) if user_id is not None else None
    if user_id is None or password:
        problems = password_errors(password, existing.username if existing else username,
                                   existing)
        if problems:
            errors["password"] = problems
    group_list = _groups(groups)
    if "enterprise" in {g.code for g in group_list} and enterprise_id is None:
        errors["enterprise_id"] = ["企业用户须选择所属企业"]
    if enterprise_id is not None and db.session.get(Enterprise, enterprise_id) is None:
        errors["enterprise_id"] = ["未知的企业"]
    chosen_county = _county_choice(county, existing, errors, admin)
    if errors:
        raise ValidationFailedError("the user is not valid", errors)
    if user_id is None:
        taken = db.session.execute(select(User.id).where(User.username == username)).first()
        if taken is not None:
            raise ConflictError(f"username {username} is taken")
        user = User(username=username, display_name=display_name.strip())
        db.session.add(user)
    else:
        user = get_user(user_id, admin)
        if user.id == admin.id and (not active or "admin" not in {g.code for g in group_list}):
            raise ValidationFailedError("you cannot lock yourself out",
                                        {"groups": ["不能取消自己的管理员权限或停用自己"]})
    user.display_name = display_name.strip()
    if user.id is not None and (password or (user.active and not active)):
        # A new password or a deactivation ends the user's sessions on every device.
        end_sessions(user)
    if password:
        set_password(user, password, by=admin.username, checked=True)
    user.groups = group_list
    user.area = area.strip()
    user.enterprise_id = enterprise_id
    user.active = active
    if existing is None or existing.county != chosen_county:
        _move(user, chosen_county, actor=admin.username, created=existing is None)
    db.session.commit()
    forget_directory()
    return user


def _move(user: User, county: str | None, *, actor: str, created: bool = False) -> None:
    """Put ``user`` in ``county`` (None: the prefecture) with its audit event
    ``user_county_changed``, in the caller's transaction."""
    before = None if created else user.county
    if not created:
        # Another county's cases are someone else's now: the old sessions end.
        end_sessions(user)
    user.county = county
    db.session.flush()
    record_event(None, "user_county_changed", actor=actor,
                 payload={"user": user.username, "old": before, "new": county,
                          "created": created})


def set_user_county(username: str, county: str, *, actor: str) -> User:
    """Put an existing user in ``county``, or ``PREFECTURE`` for every county (the command
    line's way, for an operator moving an installation's users); commits with
    ``user_county_changed`` when it changes anything. Raises ``NotFoundError`` (no such
    user), ``ValidationFailedError`` (unknown county)."""
    user = db.session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        raise NotFoundError(f"no user {username}")
    errors: dict[str, list[str]] = {}
    chosen = _county_choice(county, user, errors)
    if errors or not county.strip():
        raise ValidationFailedError(f"unknown county {county!r}",
                                    errors or {"county": ["a county code or *"]})
    if chosen != user.county:
        _move(user, chosen, actor=actor)
    db.session.commit()
    forget_directory()
    return user


def save_group(admin: User, *, code: str, name: str, name_en: str, kind: str) -> Group:
    """Create or rename a group or department; raises ``ValidationFailedError``."""
    require_admin(admin)
    errors: dict[str, list[str]] = {}
    if not GROUP_CODE.match(code):
        errors["code"] = ["代码须以小写字母开头，只含小写字母、数字、下划线"]
    if not name.strip():
        errors["name"] = ["此项为必填"]
    # "prefecture": a department of the prefecture, deciding 州-level items (issue 21).
    if kind not in {"role", "department", "prefecture"}:
        errors["kind"] = ["类型须为角色、部门或州级部门"]
    if errors:
        raise ValidationFailedError("the group is not valid", errors)
    group = db.session.get(Group, code)
    if group is None:
        group = Group(code=code, name=name.strip(), name_en=name_en.strip() or code, kind=kind)
        db.session.add(group)
    else:
        group.name, group.name_en, group.kind = name.strip(), name_en.strip() or code, kind
    db.session.commit()
    return group


def save_enterprise(admin: User, *, name: str, area: str) -> Enterprise:
    require_admin(admin)
    if not name.strip():
        raise ValidationFailedError("the enterprise needs a name", {"name": ["此项为必填"]})
    if db.session.execute(select(Enterprise.id).where(Enterprise.name == name.strip())).first():
        raise ConflictError(f"enterprise {name} exists")
    enterprise = Enterprise(name=name.strip(), area=area.strip())
    db.session.add(enterprise)
    db.session.commit()
    return enterprise
