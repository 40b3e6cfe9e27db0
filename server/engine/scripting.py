"""The sandbox every condition, script, timer expression and DMN cell runs in.

SpiffWorkflow's ``PythonScriptEngine`` is plain ``eval``/``exec``; here code is compiled with
RestrictedPython (no imports, no dunder attributes, guarded writes and iteration) and compiled
code is cached by its text, so the sandbox costs little on the hot path.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta
from types import CodeType
from typing import Any, Protocol

from RestrictedPython import (
    compile_restricted_eval,
    compile_restricted_exec,
    limited_builtins,
    safe_builtins,
    utility_builtins,
)
from RestrictedPython.Eval import default_guarded_getitem, default_guarded_getiter
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safer_getattr,
)
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment

from server.engine import clock
from server.engine.errors import DiagramError

_INPLACE = {
    "+=": lambda a, b: a + b, "-=": lambda a, b: a - b, "*=": lambda a, b: a * b,
    "/=": lambda a, b: a / b, "//=": lambda a, b: a // b, "%=": lambda a, b: a % b,
    "|=": lambda a, b: a | b, "&=": lambda a, b: a & b,
}


def _inplacevar(op: str, a: Any, b: Any) -> Any:
    if op not in _INPLACE:
        raise SyntaxError(f"operator {op} is not allowed")
    return _INPLACE[op](a, b)


def _builtins() -> dict[str, Any]:
    allowed = dict(safe_builtins)
    allowed.update(limited_builtins)
    allowed.update({k: utility_builtins[k] for k in ("set", "frozenset", "math")})
    allowed.update(dict=dict, list=list, sum=sum, min=min, max=max, any=any, all=all,
                   enumerate=enumerate, map=map, filter=filter, reversed=reversed)
    return allowed


_GUARDS: dict[str, Any] = {
    "__builtins__": _builtins(),
    "_getattr_": safer_getattr,
    "_getitem_": default_guarded_getitem,
    "_getiter_": default_guarded_getiter,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_write_": full_write_guard,
    "_inplacevar_": _inplacevar,
}


@functools.lru_cache(maxsize=4096)
def compile_expression(expression: str) -> CodeType:
    """Compile an expression in the sandbox; raises ``DiagramError`` when it is not allowed."""
    result = compile_restricted_eval(expression.strip())
    if result.errors or result.code is None:
        raise DiagramError(f"expression {expression!r}: {'; '.join(result.errors)}")
    return result.code


@functools.lru_cache(maxsize=1024)
def compile_script(script: str) -> CodeType:
    """Compile a script in the sandbox; raises ``DiagramError`` when it is not allowed."""
    result = compile_restricted_exec(script)
    if result.errors or result.code is None:
        raise DiagramError(f"script: {'; '.join(result.errors)}")
    return result.code


# ---- functions every expression may call (docs/CONVENTIONS.md) -------------------------
class WorkingDayCalendar(Protocol):
    def due_at(self, start: datetime, n: int) -> datetime: ...

    def working_days_between(self, a: datetime, b: datetime) -> int: ...


class LawfulClock(WorkingDayCalendar, Protocol):
    """The installed calendar when it also knows office hours and the item clock's law."""

    def office_minutes_due(self, start: datetime, minutes: int) -> datetime: ...

    def item_schedule(self, item: dict[str, Any], item_clock: dict[str, Any],
                      now: datetime) -> tuple[datetime, datetime]: ...


_calendar: WorkingDayCalendar | None = None
# The county whose case is stepping: set by the service that runs the step, read by the
# installed calendar, so a diagram counts with its case's local days and office hours.
_county: ContextVar[str | None] = ContextVar("guanjia_county", default=None)


def use_calendar(calendar: WorkingDayCalendar) -> None:
    """Install the working-day calendar that deadlines in diagrams count with."""
    global _calendar
    _calendar = calendar


@contextmanager
def counting_for(county: str | None) -> Iterator[None]:
    """Run the enclosed engine steps with ``county``'s calendar."""
    token = _county.set(county)
    try:
        yield
    finally:
        _county.reset(token)


def current_county() -> str | None:
    """The county set by :func:`counting_for` (None: the national calendar)."""
    return _county.get()


def _installed() -> WorkingDayCalendar:
    if _calendar is None:
        raise RuntimeError("no working-day calendar installed (server.setup installs it)")
    return _calendar


def due_in_working_days(n: int | float | str) -> str:
    return _installed().due_at(clock.now(), int(n)).isoformat()


def due_in_minutes(n: int | float | str) -> str:
    """``n`` office minutes from now (the 30-minute call: nights and holidays do not count).

    Without a calendar that knows office hours, wall-clock minutes.
    """
    calendar = _calendar
    if calendar is not None and hasattr(calendar, "office_minutes_due"):
        return calendar.office_minutes_due(clock.now(), int(float(n))).isoformat()
    return (clock.now() + timedelta(minutes=float(n))).isoformat()


def now_iso() -> str:
    return clock.now().isoformat()


def working_days_between(a: str, b: str) -> int:
    """Working days from ``a`` to ``b``, counted on the calendar's local dates."""
    return _installed().working_days_between(datetime.fromisoformat(a),
                                             datetime.fromisoformat(b))


def _item_schedule(item: dict[str, Any], item_clock: dict[str, Any]) -> tuple[datetime, datetime]:
    calendar = _installed()
    if not hasattr(calendar, "item_schedule"):
        raise RuntimeError("the installed calendar does not know the item clock")
    return calendar.item_schedule(dict(item), dict(item_clock), clock.now())  # type: ignore[no-any-return]


def item_due(item: dict[str, Any], item_clock: dict[str, Any]) -> str:
    """When an approval item is due: its promised days in its limit kind (工作日/自然日) from
    受理 (行政许可法 Art. 32 and Art. 42, or the county's "pause" setting), moved by the
    pauses that count (Art. 45, 公示, referral), on its county's calendar."""
    return _item_schedule(item, item_clock)[0].isoformat()


def item_warning(item: dict[str, Any], item_clock: dict[str, Any]) -> str:
    """When the yellow-light reminder (到期预警) of an approval item fires, by the county's
    light threshold."""
    return _item_schedule(item, item_clock)[1].isoformat()


#: Working days an enterprise has for its own steps when its county set none.
ENTERPRISE_REPLY_DAYS = 5


def enterprise_reply_due() -> str:
    """When an enterprise's step (plan agreement, signatures, evaluation) is due: the
    county's setting in working days from now; after it the window may record the silence
    (企业未签字 / 未评价) and the case goes on."""
    calendar = _installed()
    if hasattr(calendar, "enterprise_reply_due"):
        return calendar.enterprise_reply_due(clock.now()).isoformat()  # type: ignore[no-any-return]
    return calendar.due_at(clock.now(), ENTERPRISE_REPLY_DAYS).isoformat()


FUNCTIONS: dict[str, Any] = {
    "due_in_working_days": due_in_working_days,
    "enterprise_reply_due": enterprise_reply_due,
    "due_in_minutes": due_in_minutes,
    "now_iso": now_iso,
    "working_days_between": working_days_between,
    "item_due": item_due,
    "item_warning": item_warning,
}


class SandboxEnvironment(TaskDataEnvironment):  # type: ignore[misc]
    """A ``TaskDataEnvironment`` whose code runs under RestrictedPython."""

    def __init__(self) -> None:
        super().__init__({**_GUARDS, **FUNCTIONS})

    def evaluate(self, expression: str, context: dict[str, Any],
                 external_context: dict[str, Any] | None = None) -> Any:
        scope = dict(self.globals)
        scope.update(external_context or {})
        scope.update(context)
        return eval(compile_expression(expression), scope)  # noqa: S307 - restricted code

    def execute(self, script: str, context: dict[str, Any],
                external_context: dict[str, Any] | None = None) -> bool:
        self.check_for_overwrite(context, external_context or {})
        scope = dict(self.globals)
        scope.update(external_context or {})
        scope.update(context)
        exec(compile_script(script), scope)  # noqa: S102 - restricted code
        hidden = set(self.globals) | set(external_context or {})
        for key, value in scope.items():
            if key in hidden or key.startswith("_") or callable(value):
                continue
            context[key] = value
        return True


def make_script_engine() -> PythonScriptEngine:
    return PythonScriptEngine(environment=SandboxEnvironment())
