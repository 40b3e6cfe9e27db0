"""marshmallow field types and shared parameter schemas of the HTML pages.

A page's query string and posted form are loaded with a schema (``server/web/params.py``),
like the JSON API's bodies. Most page parameters are *tolerant*: a wrong ``?page=`` or an
unreadable date falls back to what the page showed before (page 1, no date filter), because
that is what the pages have always done with a hand-edited link. Free text is carried as
posted and validated by the service that owns the rule, so the service's field messages (in
Chinese and English) stay the page's messages. Task-form submissions are not loaded here: the
``.form`` definitions validate them (``server/services/forms.py``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, missing

#: No list has this many pages; a larger number in ``?page=`` would overflow the database's
#: integer in OFFSET (a 500 before).
MAX_PAGE = 100_000


class Params(Schema):
    """Base of every page schema: parameters a page does not know are ignored (the CSRF token,
    a tracking parameter, a filter of another page kept in a link)."""

    class Meta:
        unknown = EXCLUDE


class Text(fields.String):
    """Text as posted, "" when absent; the service behind the page validates it."""

    def __init__(self, *, strip: bool = False, max_length: int | None = None,
                 **kwargs: Any) -> None:
        kwargs.setdefault("load_default", "")
        super().__init__(**kwargs)
        self.strip = strip
        self.max_length = max_length

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        text: str = super()._deserialize(value, attr, data, **kwargs)
        if self.strip:
            text = text.strip()
        if self.max_length is not None:
            text = text[: self.max_length]
        return text


class Given(Text):
    """Text when posted and absent when not, for a service that tells the two apart (a
    field left out of the form keeps its stored value)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("load_default", missing)
        super().__init__(**kwargs)


class OptionalText(Text):
    """Text, or None when absent or empty (a filter that is not set)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("load_default", None)
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        return text or None


class Many(fields.List[str]):
    """Every value of a repeated parameter (ticked boxes, a multi-select), [] when absent."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("load_default", list)
        super().__init__(fields.String(), **kwargs)


class Ticked(fields.Boolean):
    """An HTML checkbox: ``on`` (or any true word) when ticked, False when absent."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("load_default", False)
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        try:
            return super()._deserialize(value, attr, data, **kwargs)
        except ValidationError:
            return False


class Choice(fields.String):
    """One of ``choices``; anything else (or nothing) is ``fallback`` — a hand-edited link
    shows the page's default view rather than an error."""

    def __init__(self, choices: list[str] | tuple[str, ...] | frozenset[str], *,
                 fallback: str | None, **kwargs: Any) -> None:
        kwargs.setdefault("load_default", fallback)
        super().__init__(**kwargs)
        self.choices = frozenset(choices)
        self.fallback = fallback

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        try:
            text = super()._deserialize(value, attr, data, **kwargs)
        except ValidationError:
            return self.fallback
        return text if text in self.choices else self.fallback


class TolerantInteger(fields.Integer):
    """A whole number; ``fallback`` when unreadable. Outside ``[minimum, maximum]`` it is
    clamped to the bound, or with ``clamp=False`` it is ``fallback`` too."""

    def __init__(self, *, fallback: int | None, minimum: int | None = None,
                 maximum: int | None = None, clamp: bool = True, **kwargs: Any) -> None:
        kwargs.setdefault("load_default", fallback)
        super().__init__(**kwargs)
        self.fallback = fallback
        self.minimum = minimum
        self.maximum = maximum
        self.clamp = clamp

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
        try:
            number: int = super()._deserialize(value, attr, data, **kwargs)
        except ValidationError:
            return self.fallback
        low = self.minimum if self.minimum is not None else number
        high = self.maximum if self.maximum is not None else number
        if not low <= number <= high and not self.clamp:
            return self.fallback
        return min(max(number, low), high)


class RecordId(fields.Integer):
    """The id of a chosen row (``<select>``): None when empty; anything but a whole number is
    refused (the page shows its form again, 422, the message in the reader's language by
    ``server.web.i18n.field_errors``)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("load_default", None)
        kwargs.setdefault("allow_none", True)
        super().__init__(strict=False, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        return super()._deserialize(value, attr, data, **kwargs)


class PageNumber(TolerantInteger):
    """``?page=``: 1 when absent or unreadable, never past ``MAX_PAGE``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(fallback=1, minimum=1, maximum=MAX_PAGE, **kwargs)


class TolerantDate(fields.Date):
    """An ISO date (``2026-11-30``, a datetime's date part too); None when empty or unreadable
    — the filter is then not applied, as the pages always did."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("load_default", None)
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        raw = value.strip() if isinstance(value, str) else ""
        if not raw:
            return None
        try:
            return date.fromisoformat(raw)
        except ValueError:
            pass
        try:
            return datetime.fromisoformat(raw).date()
        except ValueError:
            return None


class LocalPath(fields.String):
    """A path on this site to go back to (``/tasks?scope=mine``); None for anything else —
    another host, ``//host``, ``javascript:`` — so a posted ``back`` is never an open
    redirect."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("load_default", None)
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        text = str(value).strip() if isinstance(value, str) else ""
        if text.startswith("/") and not text.startswith("//") and "\\" not in text:
            return text
        return None


class Pagination(Params):
    """A list's page; one definition for every paged HTML list."""

    page = PageNumber()


class OutputFormat(Params):
    """``?format=``: ``pdf`` (printable records, scorecards, reports) or ``json`` (audit
    exports); anything else is the HTML page."""

    format = Choice(("html", "pdf", "json"), fallback="html")


class BackLink(Params):
    """``back``: where a small action (claim, release) returns to."""

    back = LocalPath()
