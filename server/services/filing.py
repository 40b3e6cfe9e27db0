"""代企业申报: the bureau or the window files an application on an enterprise's behalf.

The case belongs to the enterprise exactly as if it had applied itself (``Case.enterprise_id``;
it sees the case and its own tasks in the portal); the filing is audited on the case as done
by staff for the enterprise (``application_filed_for_enterprise``), in the start's
transaction. The enterprise is chosen from the existing accounts or registered here (name,
统一社会信用代码 of GB 32100-2015 shape, contact): a new enterprise gets an account named after
its credit code and no password, which an administrator sets when the enterprise asks for one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from server.extensions import db
from server.models import Case, Enterprise, Group, User
from server.services.audit import record_event
from server.services.cases import start_case
from server.services.errors import PermissionDeniedError, ValidationFailedError
from server.services.forms import form_registry
from server.services.notifications import forget_directory

#: 统一社会信用代码 (GB 32100-2015): 18 characters of the code's alphabet (no I, O, S, V, Z),
#: the same pattern the application form checks.
CREDIT_CODE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$")
PHONE = re.compile(r"^[0-9+\-() ]{7,20}$")
FILERS = ("bureau", "window")
PROCESS = "concierge_service"


@dataclass(frozen=True)
class NewEnterprise:
    """An enterprise registered while filing: its name, credit code and contact."""

    name: str
    credit_code: str
    contact_name: str
    contact_phone: str


def may_file(user: User) -> bool:
    return user.in_group(*FILERS)


def require_filer(user: User) -> None:
    if not may_file(user):
        raise PermissionDeniedError("only the bureau or the window files for an enterprise")


def enterprises() -> list[Enterprise]:
    """The enterprises that have an account, by name (the filing page's choice)."""
    return list(db.session.execute(
        select(Enterprise).join(User, User.enterprise_id == Enterprise.id)
        .distinct().order_by(Enterprise.name)).scalars())


def check_new_enterprise(new: NewEnterprise) -> dict[str, list[str]]:
    """Field → problems of a new enterprise's registration (empty when it may be created)."""
    errors: dict[str, list[str]] = {}
    if not new.name.strip():
        errors["new_name"] = ["请填写企业名称 / the enterprise's name is required"]
    elif db.session.execute(select(Enterprise.id).where(
            Enterprise.name == new.name.strip())).first():
        errors["new_name"] = ["该企业已有账号，请从已有企业中选择 / this enterprise already has "
                              "an account; choose it from the list"]
    code = new.credit_code.strip().upper()
    if not CREDIT_CODE.match(code):
        errors["new_credit_code"] = ["统一社会信用代码应为18位（数字及除I、O、S、V、Z外的大写"
                                     "字母） / the credit code has 18 characters of the GB "
                                     "32100 alphabet"]
    elif db.session.execute(select(User.id).where(User.username == code.lower())).first():
        errors["new_credit_code"] = ["该信用代码已注册账号 / an account with this credit code "
                                     "exists"]
    if not new.contact_name.strip():
        errors["new_contact_name"] = ["请填写联系人 / the contact is required"]
    if not PHONE.match(new.contact_phone.strip()):
        errors["new_contact_phone"] = ["联系电话格式不正确 / the phone number is not valid"]
    return errors


def _register(new: NewEnterprise) -> Enterprise:
    enterprise = Enterprise(name=new.name.strip(), area="")
    db.session.add(enterprise)
    db.session.flush()
    account = User(username=new.credit_code.strip().lower(),
                   display_name=f"{new.name.strip()}（{new.contact_name.strip()}）",
                   password_hash="", enterprise_id=enterprise.id)
    group = db.session.get(Group, "enterprise")
    account.groups = [group] if group is not None else []
    db.session.add(account)
    db.session.flush()
    forget_directory()
    return enterprise


def file_for_enterprise(user: User, data: dict[str, Any], *, enterprise_id: int | None = None,
                        new: NewEnterprise | None = None,
                        also: Callable[[Case], None] | None = None) -> Case:
    """Start a case for an existing enterprise (``enterprise_id``) or a new one (``new``).

    Raises ``PermissionDeniedError`` (not bureau/window), ``ValidationFailedError`` (neither
    or both enterprise choices, a bad registration or application; nothing is written) and
    what ``start_case`` raises.
    """
    require_filer(user)

    errors: dict[str, list[str]] = {}
    enterprise: Enterprise | None = None
    if (enterprise_id is None) == (new is None):
        errors["enterprise_id"] = ["请选择已有企业或登记新企业（二选一） / choose an existing "
                                   "enterprise or register a new one"]
    elif enterprise_id is not None:
        enterprise = db.session.get(Enterprise, enterprise_id)
        if enterprise is None:
            errors["enterprise_id"] = ["没有这个企业 / no such enterprise"]
    elif new is not None:
        errors.update(check_new_enterprise(new))
    data = dict(data)
    if enterprise is not None:
        data["enterprise_name"] = enterprise.name
    elif new is not None:
        data["enterprise_name"] = new.name.strip()
        # A malformed code is reported once, on the registration's field.
        data.pop("credit_code", None)
        if CREDIT_CODE.match(new.credit_code.strip().upper()):
            data["credit_code"] = new.credit_code.strip().upper()
        data.setdefault("contact_name", new.contact_name.strip())
        data.setdefault("contact_phone", new.contact_phone.strip())
    # The application is checked before the enterprise is registered, so a refusal on either
    # side writes nothing.
    try:
        form_registry().get("application").validate(data)
    except ValidationFailedError as exc:
        errors.update({k: list(v) if isinstance(v, list) else [str(v)]
                       for k, v in exc.errors.items()})
    if errors:
        raise ValidationFailedError("the filing is not complete", errors)
    created = new is not None
    if new is not None:
        enterprise = _register(new)
    assert enterprise is not None
    owner = enterprise

    def record(case: Case) -> None:
        record_event(case, "application_filed_for_enterprise", actor=user.username,
                     role=next(iter(sorted(set(user.group_codes) & set(FILERS))), None),
                     payload={"enterprise_id": owner.id, "enterprise_name": owner.name,
                              "enterprise_registered": created})
        if also is not None:
            also(case)

    try:
        return start_case(user, PROCESS, data, for_enterprise=owner, also=record)
    except Exception:
        db.session.rollback()
        raise
