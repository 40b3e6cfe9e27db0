"""Counties as tenants: the one rule that says whose cases a user may see.

A user belongs to one county (``User.county``) or, with none, to the prefecture (州/市), whose
leaders and departments see every county. A case belongs to its own county, or with none to
the installation's default county (``Case.county`` NULL, as before tenancy). Every service
that lists, counts, searches or addresses cases (and their tasks, items and notices) by id
applies :func:`county_scope`; an id of another county is reported as not found, so ids leak
nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, false, or_, select, true

from server.models import Case, User
from server.services.calendar import default_county
from server.services.errors import NotFoundError, ValidationFailedError


@dataclass(frozen=True)
class CountyScope:
    """The counties whose data a user may see; ``counties`` None: every county."""

    counties: frozenset[str] | None
    #: The installation's default county when the scope was taken: it owns the cases whose
    #: ``county`` is NULL.
    default: str | None

    @property
    def everywhere(self) -> bool:
        return self.counties is None

    def covers(self, county: str | None) -> bool:
        """True when a case of ``county`` (None: the default county) lies in the scope."""
        if self.counties is None:
            return True
        return (county or self.default) in self.counties

    def case_condition(self) -> ColumnElement[bool]:
        """A condition on ``Case`` that keeps only the cases in the scope."""
        return self.condition(Case.county)

    def condition(self, county: Any) -> ColumnElement[bool]:
        """A condition on a row's ``county`` column (NULL: the default county) that keeps
        only the rows in the scope (cases, complaints …)."""
        if self.counties is None:
            return true()
        if not self.counties:
            return false()
        codes = sorted(self.counties)
        if self.default in self.counties:
            return or_(county.in_(codes), county.is_(None))
        return county.in_(codes)  # type: ignore[no-any-return]

    def case_ids(self) -> Select[Any]:
        """The ids of the cases in the scope (a subquery for ``WorkItem.case_id.in_``)."""
        return select(Case.id).where(self.case_condition())

    def user_condition(self, case_county: str | None) -> ColumnElement[bool]:
        """A condition on ``User``: the people who may see a case of ``case_county`` (its own
        county's and the prefecture's)."""
        county = case_county or self.default
        if county is None:
            return true()
        return or_(User.county == county, User.county.is_(None))



def county_scope(user: User) -> CountyScope:
    """The counties whose cases ``user`` may see: the own county, or every county for a user
    of the prefecture (``county`` None)."""
    county = user.county
    return CountyScope(None if county is None else frozenset({county}), default_county())


def everywhere() -> CountyScope:
    """The scope of the system itself (timers, beat, the audit and the CLI): every county."""
    return CountyScope(None, default_county())


def in_scope(user: User, case: Case) -> bool:
    """True when ``case`` belongs to a county ``user`` may see."""
    return county_scope(user).covers(case.county)


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
