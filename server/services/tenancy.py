"""Counties as tenants: the one rule that says whose cases a user may see.

A user belongs to one county (``User.county``) or, with none, to the prefecture (州/市), whose
leaders and departments see every county. A case belongs to its own county, or with none to
the installation's default county (``Case.county`` NULL, as before tenancy). Every service
that lists, counts, searches or addresses cases (and their tasks, items and notices) by id
applies :func:`county_scope`; an id of another county is reported as not found, so ids leak
nothing.

An enterprise's own people are the one exception: an enterprise may invest in several
counties, and sees its own cases (and complaints) wherever they were filed; of other
enterprises' cases it sees nothing, as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, false, or_, select, true

from server.extensions import db
from server.models import Case, County, User
from server.services.calendar import default_county
from server.services.errors import NotFoundError, PermissionDeniedError, ValidationFailedError

ENTERPRISE = "enterprise"


@dataclass(frozen=True)
class CountyScope:
    """The counties whose data a user may see; ``counties`` None: every county."""

    counties: frozenset[str] | None
    #: The installation's default county when the scope was taken: it owns the cases whose
    #: ``county`` is NULL.
    default: str | None
    #: For an enterprise's own people: its id, whose cases are in the scope in every county.
    enterprise_id: int | None = None

    @property
    def everywhere(self) -> bool:
        return self.counties is None

    def covers(self, county: str | None) -> bool:
        """True when a case of ``county`` (None: the default county) lies in the scope."""
        if self.counties is None:
            return True
        return (county or self.default) in self.counties

    def covers_case(self, case: Case) -> bool:
        """True when ``case`` lies in the scope (its county, or the user's enterprise's)."""
        return self.covers(case.county) or (
            self.enterprise_id is not None and case.enterprise_id == self.enterprise_id)

    def case_condition(self) -> ColumnElement[bool]:
        """A condition on ``Case`` that keeps only the cases in the scope."""
        return self.condition(Case.county, Case.enterprise_id)

    def condition(self, county: Any, enterprise_id: Any = None) -> ColumnElement[bool]:
        """A condition on a row's ``county`` column (NULL: the default county) and, if
        given, its ``enterprise_id`` column that keeps only the rows in the scope (cases,
        complaints …)."""
        if self.counties is None:
            return true()
        codes = sorted(self.counties)
        found: ColumnElement[bool] = county.in_(codes) if codes else false()
        if self.default in self.counties:
            found = or_(found, county.is_(None))
        if self.enterprise_id is not None and enterprise_id is not None:
            found = or_(found, enterprise_id == self.enterprise_id)
        return found

    def case_ids(self) -> Select[Any]:
        """The ids of the cases in the scope (a subquery for ``WorkItem.case_id.in_``)."""
        return select(Case.id).where(self.case_condition())


def county_scope(user: User) -> CountyScope:
    """The counties whose cases ``user`` may see: the own county, or every county for a user
    of the prefecture (``county`` None)."""
    county = user.county
    groups = user.group_codes
    own = user.enterprise_id if ENTERPRISE in groups and not groups - {ENTERPRISE} else None
    return CountyScope(None if county is None else frozenset({county}), default_county(), own)


def in_scope(user: User, case: Case) -> bool:
    """True when ``case`` belongs to a county ``user`` may see."""
    return county_scope(user).covers_case(case)


def require_in_scope(user: User, case: Case, what: str = "case") -> None:
    """Raise ``NotFoundError`` (never a refusal: another county's ids say nothing) unless
    ``case`` lies in ``user``'s counties."""
    if not in_scope(user, case):
        raise NotFoundError(f"{what} does not exist")


def filing_county(user: User, asked: str | None) -> str | None:
    """The county a case ``user`` files belongs to: the one asked for, else the user's own
    (None: the installation's default, as before tenancy). Raises ``ValidationFailedError``
    when a county's user asks for another county."""
    if asked and user.county is not None and asked != user.county:
        raise ValidationFailedError(
            f"a user of {user.county} cannot file a case for {asked}",
            {"county": [f"只能为本县（{user.county}）立案 / only for your own county"]})
    return asked or user.county


def require_keeper(user: User, county: str | None, what: str) -> None:
    """Raise ``PermissionDeniedError`` unless ``user`` may change ``what`` of ``county``
    (None: the whole installation, e.g. the State Council's holiday notice or a new county):
    an administrator of the prefecture keeps every county and the installation, a county's
    administrator only their own county."""
    if user.county is None or (county is not None and county == user.county):
        return
    raise PermissionDeniedError(
        f"an administrator of {user.county} cannot change {what} of "
        f"{county or 'the prefecture'}")


def county_view(user: User, county: str) -> CountyScope:
    """``user``'s scope narrowed to one county (a prefecture user looking at one county, as
    that county's own users see it); ``county`` "" leaves it as it is. Raises
    ``NotFoundError`` for a county that does not exist or lies outside the user's scope."""
    scope = county_scope(user)
    if not county:
        return scope
    if db.session.get(County, county) is None or not scope.covers(county):
        raise NotFoundError(f"county {county} does not exist")
    return CountyScope(frozenset({county}), scope.default)
