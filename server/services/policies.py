"""Policy push (政策信息定向推送, seed 000 §二(五)): policies as data, pushed to whom they concern.

Publishing a policy finds the cases it concerns — the case's industry (the application form's
code), its area (the case's own, else its enterprise's) and its investment inside the policy's
range — and writes one delivery per enterprise of those cases and one per lead steward of those
still open, with an inbox notice each, in the same transaction as the ``policy_published``
audit event. A delivery is the read receipt: the bureau sees who has not read it.

The seeds name the duty, not the vocabulary. The towns a policy may name are a county setting
(``counties.towns``, kept on the counties page, plus any area already recorded on an
enterprise or a case of the county); the industries are the application form's
(forms/application.form).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import ColumnElement, or_, select, true

from server.engine import clock
from server.extensions import db
from server.models import Case, County, Enterprise, Group, User
from server.models.policies import Policy, PolicyDelivery
from server.models.teams import CaseTeam
from server.services.audit import record_event
from server.services.calendar import default_county
from server.services.counties import town_list
from server.services.errors import NotFoundError, PermissionDeniedError, ValidationFailedError
from server.services.notifications import ENTERPRISE, notify
from server.services.tenancy import CountyScope, county_scope

# forms/application.form's industry codes (行业分类) with their labels.
INDUSTRIES: dict[str, str] = {
    "manufacturing": "工业制造", "energy": "能源（含新能源、绿色能源）",
    "agriculture": "现代农业", "culture_tourism": "文化旅游", "logistics": "商贸物流",
    "health": "康养医疗", "infrastructure": "基础设施", "other": "其他",
}
# Words a clerk types for a code: 新能源 is filed under the form's 能源（含绿色能源）.
INDUSTRY_WORDS: dict[str, str] = {"新能源": "energy", "绿色能源": "energy", "能源": "energy",
                                  **{label: code for code, label in INDUSTRIES.items()}}
EDITORS = ("bureau", "bureau_head", "admin")


@dataclass(frozen=True)
class Receipt:
    delivery: PolicyDelivery
    who: str  # the enterprise's name or the steward's display name
    case_title: str


def may_edit(user: User) -> bool:
    return user.in_group(*EDITORS)


def _require_editor(user: User) -> None:
    if not may_edit(user):
        raise PermissionDeniedError("only the investment promotion bureau publishes policies")


def county_towns(user: User) -> list[str]:
    """The towns of ``user``'s county's setting (乡镇, ``counties.towns``; the default county's
    for a user with none of the default's); every county's, in county order, for the
    prefecture."""
    stmt = select(County.towns).order_by(County.is_default.desc(), County.code)
    if user.county is not None:
        stmt = stmt.where(County.code == user.county)
    elif not county_scope(user).everywhere:
        stmt = stmt.where(County.code == default_county())
    towns: list[str] = []
    for text in db.session.execute(stmt).scalars():
        towns.extend(t for t in town_list(text) if t not in towns)
    return towns


def known_areas(user: User) -> list[str]:
    """The towns a policy of ``user``'s county may name: the county's setting
    (:func:`county_towns`) and every area already recorded on a case of the county or on its
    enterprise (every county's for the prefecture; never another county's)."""
    scope = county_scope(user)
    listed = county_towns(user)
    found = set(listed)
    found.update(a for a in db.session.execute(
        select(Enterprise.area).join(Case, Case.enterprise_id == Enterprise.id)
        .where(scope.case_condition()).distinct()).scalars() if a)
    found.update(a for a in db.session.execute(
        select(Case.area).where(scope.case_condition()).distinct()).scalars() if a)
    return [*listed, *sorted(found - set(listed))]


def split_words(value: Any) -> list[str]:
    if isinstance(value, str):
        value = value.replace("，", ",").replace("、", ",").split(",")
    return [str(v).strip() for v in (value or []) if str(v).strip()]


def _money(value: Any, key: str, errors: dict[str, list[str]]) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        errors[key] = ["请输入数字（万元） / a number (10,000 yuan)"]
        return None
    if amount < 0:
        errors[key] = ["不能为负数 / must not be negative"]
    return amount


def _day(value: Any, key: str, errors: dict[str, list[str]]) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        errors[key] = ["日期格式 YYYY-MM-DD / a date YYYY-MM-DD"]
        return None


def validate(data: dict[str, Any], user: User) -> dict[str, Any]:
    """The policy's fields, checked (its towns against ``user``'s county's); raises
    ValidationFailedError naming every bad field."""
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    for key, limit in (("title", 300), ("issuer", 200), ("document_no", 100),
                       ("file_url", 500)):
        out[key] = str(data.get(key) or "").strip()
        if len(out[key]) > limit:
            errors[key] = [f"最多 {limit} 字 / at most {limit} characters"]
    for key in ("title", "issuer"):
        if not out[key]:
            errors[key] = ["此项为必填 / required"]
    out["summary"] = str(data.get("summary") or "").strip()
    out["body"] = str(data.get("body") or "").strip()
    if not out["body"] and not out["file_url"]:
        errors["body"] = ["请填写全文或文件地址 / give the full text or the file"]
    industries: list[str] = []
    unknown: list[str] = []
    for word in split_words(data.get("industries")):
        code = word if word in INDUSTRIES else INDUSTRY_WORDS.get(word)
        (industries if code else unknown).append(code or word)
    if unknown:
        errors["industries"] = [f"未知行业：{'、'.join(unknown)} / unknown industry"]
    elif not industries:
        errors["industries"] = ["至少选择一个行业 / choose at least one industry"]
    out["industries"] = sorted(set(industries))
    areas = split_words(data.get("areas"))
    offered = known_areas(user)
    valid = set(offered)
    bad = [a for a in areas if a not in valid]
    if bad:
        errors["areas"] = [f"未知乡镇：{'、'.join(bad)} / unknown area"]
    elif not areas:
        errors["areas"] = ["至少选择一个乡镇 / choose at least one area"]
    order = {town: n for n, town in enumerate(offered)}
    out["areas"] = sorted(set(areas), key=lambda a: (order.get(a, len(order)), a))
    out["min_investment_wan"] = _money(data.get("min_investment_wan"), "min_investment_wan",
                                       errors)
    out["max_investment_wan"] = _money(data.get("max_investment_wan"), "max_investment_wan",
                                       errors)
    low, high = out["min_investment_wan"], out["max_investment_wan"]
    if low is not None and high is not None and low > high and "max_investment_wan" not in errors:
        errors["max_investment_wan"] = ["上限不能低于下限 / the top is below the bottom"]
    out["valid_from"] = _day(data.get("valid_from"), "valid_from", errors)
    out["valid_until"] = _day(data.get("valid_until"), "valid_until", errors)
    if (out["valid_from"] and out["valid_until"] and out["valid_until"] < out["valid_from"]
            and "valid_until" not in errors):
        errors["valid_until"] = ["有效期止早于起 / ends before it starts"]
    if errors:
        raise ValidationFailedError("the policy is not valid", errors)
    return out


def create_policy(user: User, data: dict[str, Any]) -> Policy:
    """Record a draft policy (not yet pushed); 403 for non-bureau, 422 for bad fields."""
    _require_editor(user)
    fields = validate(data, user)
    policy = Policy(**fields, state="draft", county=user.county, created_by=user.username,
                    created_at=clock.now())
    db.session.add(policy)
    db.session.flush()
    record_event(None, "policy_created", actor=user.username,
                 payload={"policy_id": policy.id, "title": policy.title,
                          "county": policy.county, "industries": policy.industries,
                          "areas": policy.areas})
    db.session.commit()
    return policy


def _visible(user: User) -> ColumnElement[bool]:
    """The policies ``user`` may come across: every one for a user of the prefecture; the own
    county's and the prefecture's for a county's user (issue 21)."""
    if user.county is None:
        return true()
    return or_(Policy.county == user.county, Policy.county.is_(None))


def get_policy(user: User, policy_id: int) -> Policy:
    """The policy, or ``NotFoundError`` (also for another county's: its id says nothing)."""
    policy = db.session.execute(
        select(Policy).where(Policy.id == policy_id, _visible(user))).scalar_one_or_none()
    if policy is None:
        raise NotFoundError(f"no policy {policy_id}")
    return policy


def list_policies(user: User) -> list[Policy]:
    """The policies ``user``'s county (or the prefecture) wrote, newest first."""
    return list(db.session.execute(
        select(Policy).where(_visible(user)).order_by(Policy.id.desc())).scalars())


def _investment(summary: dict[str, Any]) -> Decimal | None:
    try:
        return Decimal(str(summary.get("investment_wan")))
    except (InvalidOperation, ValueError):
        return None


def matching_cases(policy: Policy) -> list[Case]:
    """Cases of the policy's county (every county's for the prefecture's) whose industry, area
    and investment the policy names (any state but terminated)."""
    scope = CountyScope(None if policy.county is None else frozenset({policy.county}),
                        default_county())
    rows = db.session.execute(
        select(Case, Enterprise.area).outerjoin(Enterprise, Enterprise.id == Case.enterprise_id)
        .where(Case.status != "terminated", scope.case_condition())
        .order_by(Case.started_at, Case.id)).all()
    found = []
    industries, areas = set(policy.industries), set(policy.areas)
    for case, enterprise_area in rows:
        try:
            summary = json.loads(case.summary or "{}")
        except ValueError:
            continue
        if str(summary.get("industry") or "") not in industries:
            continue
        if (case.area or enterprise_area or "") not in areas:
            continue
        money = _investment(summary)
        if policy.min_investment_wan is not None and (money is None
                                                      or money < policy.min_investment_wan):
            continue
        if policy.max_investment_wan is not None and (money is None
                                                      or money > policy.max_investment_wan):
            continue
        found.append(case)
    return found


def publish(user: User, policy_id: int) -> list[PolicyDelivery]:
    """Push the policy to the enterprises and open cases' lead stewards it concerns.

    One transaction: the deliveries, the inbox notices and the audit event. Raises
    PermissionDeniedError, NotFoundError, ValidationFailedError (published already, expired).
    """
    _require_editor(user)
    policy = get_policy(user, policy_id)
    if policy.state == "published":
        raise ValidationFailedError("the policy is published already",
                                    {"state": ["已发布 / published already"]})
    today = clock.now().date()
    if policy.valid_until is not None and policy.valid_until < today:
        raise ValidationFailedError("the policy has expired",
                                    {"valid_until": ["已过有效期 / expired"]})
    now = clock.now()
    cases = matching_cases(policy)
    deliveries: list[PolicyDelivery] = []
    seen_enterprises: set[int] = set()
    seen_stewards: set[str] = set()
    for case in cases:
        if case.enterprise_id is not None and case.enterprise_id not in seen_enterprises:
            seen_enterprises.add(case.enterprise_id)
            deliveries.append(PolicyDelivery(policy_id=policy.id, audience="enterprise",
                                              enterprise_id=case.enterprise_id, case_id=case.id,
                                              delivered_at=now))
    open_ids = [c.id for c in cases if c.status == "running"]
    teams: list[CaseTeam] = list(db.session.execute(
        select(CaseTeam).where(CaseTeam.case_id.in_(open_ids))
        .order_by(CaseTeam.case_id)).scalars()) if open_ids else []
    for team in teams:
        if team.steward and team.steward not in seen_stewards:
            seen_stewards.add(team.steward)
            deliveries.append(PolicyDelivery(policy_id=policy.id, audience="steward",
                                             username=team.steward, case_id=team.case_id,
                                             delivered_at=now))
    db.session.add_all(deliveries)
    policy.state, policy.published_by, policy.published_at = "published", user.username, now
    title = f"政策推送：{policy.title}"
    body = (policy.summary or policy.title) + "（请在「为您推荐的政策」中阅读并确认已阅）"
    people = [d.username for d in deliveries if d.username]
    if people:
        notify(kind="policy", title=title, body=body, users=people,
               dedupe_key=f"policy:{policy.id}")
    if seen_enterprises:
        members = list(db.session.execute(
            select(User.username).join(User.groups)
            .where(Group.code == ENTERPRISE, User.enterprise_id.in_(sorted(seen_enterprises))))
            .scalars())
        if members:
            notify(kind="policy", title=title, body=body, users=members,
                   dedupe_key=f"policy:{policy.id}")
    record_event(None, "policy_published", actor=user.username,
                 payload={"policy_id": policy.id, "enterprises": sorted(seen_enterprises),
                          "stewards": sorted(seen_stewards)})
    db.session.commit()
    return deliveries


def deliveries_for(user: User) -> list[PolicyDelivery]:
    """What was pushed to this person: to their enterprise, or to them as a lead steward."""
    conditions = [PolicyDelivery.username == user.username]
    if user.enterprise_id is not None and user.in_group(ENTERPRISE):
        conditions.append(PolicyDelivery.enterprise_id == user.enterprise_id)

    return list(db.session.execute(
        select(PolicyDelivery).where(or_(*conditions))
        .order_by(PolicyDelivery.delivered_at.desc(), PolicyDelivery.id.desc())).scalars())


def delivery_of(user: User, policy: Policy) -> PolicyDelivery | None:
    for delivery in policy.deliveries:
        if delivery.username == user.username or (
                delivery.enterprise_id is not None and delivery.enterprise_id == user.enterprise_id
                and user.in_group(ENTERPRISE)):
            return delivery
    return None


def may_read(user: User, policy: Policy) -> bool:
    return may_edit(user) or user.in_group("leader", "auditor") or (
        policy.state == "published" and delivery_of(user, policy) is not None)


def view_policy(user: User, policy_id: int) -> Policy:
    """The policy if this person may see it (bureau, leaders, or one it was pushed to)."""
    policy = get_policy(user, policy_id)
    if not may_read(user, policy):
        raise PermissionDeniedError("this policy was not pushed to you")
    return policy


def mark_read(user: User, policy_id: int) -> PolicyDelivery:
    """Record that the recipient read the policy (the first reading counts); 403 otherwise."""
    policy = get_policy(user, policy_id)
    delivery = delivery_of(user, policy) if policy.state == "published" else None
    if delivery is None:
        raise PermissionDeniedError("this policy was not pushed to you")
    if delivery.read_at is None:
        delivery.read_at, delivery.read_by = clock.now(), user.username
        record_event(None, "policy_read", actor=user.username,
                     payload={"policy_id": policy.id, "delivery_id": delivery.id,
                              "audience": delivery.audience,
                              "enterprise_id": delivery.enterprise_id})
        db.session.commit()
    return delivery


def receipts(user: User, policy_id: int) -> list[Receipt]:
    """Every delivery of the policy with whom it reached; the bureau's and leaders' view."""
    if not (may_edit(user) or user.in_group("leader", "auditor")):
        raise PermissionDeniedError("only the bureau sees who has read a policy")
    policy = get_policy(user, policy_id)
    names = dict(db.session.execute(select(Enterprise.id, Enterprise.name)).all())
    people = dict(db.session.execute(select(User.username, User.display_name)).all())
    titles = dict(db.session.execute(
        select(Case.id, Case.title).where(
            Case.id.in_([d.case_id for d in policy.deliveries if d.case_id]))).all())
    out = []
    for d in policy.deliveries:
        who = (names.get(d.enterprise_id or 0, str(d.enterprise_id))
               if d.audience == "enterprise" else people.get(d.username or "", d.username or ""))
        out.append(Receipt(d, who, titles.get(d.case_id, "") if d.case_id else ""))
    return out
