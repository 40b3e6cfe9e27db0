"""The sandbox every condition, script, timer expression and DMN cell runs in.

SpiffWorkflow's ``PythonScriptEngine`` is plain ``eval``/``exec``; here code is compiled with
RestrictedPython (no imports, no dunder attributes, guarded writes and iteration) and compiled
code is cached by its text, so the sandbox costs little on the hot path.

Limits: the scripts of one engine step share a time budget (a trace function that runs only
in sandboxed frames checks it on every line), and operations that could build a huge value in
one C call (``*``, ``**``, ``<<``, ``+``, ``%``, padding and replacing text, ``sum`` of lists)
are checked against a size cap before they run. Either violation raises
``ScriptLimitExceeded``, which a script cannot swallow: after the deadline every line raises.
These guards live in the process (a subprocess per script would cost more than the step);
they bound what a careless designer writes, they are no wall against native code.
"""

from __future__ import annotations

import ast
import dis
import functools
import math
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import CodeType, FrameType, SimpleNamespace
from typing import Any, Protocol

from RestrictedPython import (
    RestrictingNodeTransformer,
    compile_restricted_eval,
    compile_restricted_exec,
    limited_builtins,
    safe_builtins,
)
from RestrictedPython.Eval import default_guarded_getitem, default_guarded_getiter
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safer_getattr,
)
from RestrictedPython.transformer import copy_locations
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment

from server.engine import clock
from server.engine.errors import DiagramError


# ---- limits -------------------------------------------------------------------------
class ScriptLimitExceeded(BaseException):  # noqa: N818 - it is a refusal, not a bug
    """A script ran past its time budget or tried to build a value over the size cap.

    A ``BaseException`` so that ``except Exception`` in a script or in the library does not
    swallow it. ``element_id`` is filled in by the script engine when it knows the task.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        self.element_id: str | None = None


@dataclass
class Limits:
    """Settings of the sandbox (``GUANJIA_SCRIPT_SECONDS``, ``GUANJIA_SCRIPT_MAX_MB``)."""

    seconds: float = 1.0
    max_bytes: int = 32 * 1024 * 1024

    @property
    def max_items(self) -> int:
        return self.max_bytes // 8  # a list or tuple slot is a pointer

    @property
    def max_int_bits(self) -> int:
        # Big-integer arithmetic is one C call: far below the memory cap it is already slow.
        return 1 << 17


_limits = Limits()
_SCRIPT_FILE = "<string>"  # the name SpiffWorkflow looks for to report a script's line
_budget = threading.local()  # the seconds the current step's scripts have left


def configure_limits(*, seconds: float, max_bytes: int) -> None:
    """Set the sandbox's time budget per engine step and its size cap (at start-up)."""
    global _limits
    _limits = Limits(seconds=seconds, max_bytes=max_bytes)


def limits() -> Limits:
    return _limits


#: A step still running scripts after this long lets its host release what it holds.
SLOW_STEP_SECONDS = 0.05


@contextmanager
def step_budget(on_slow: Callable[[], object] | None = None) -> Iterator[None]:
    """Let every script and condition evaluated inside share one time budget (an engine step).

    ``on_slow`` is called once, from the step's own thread, when a script starts or runs on
    after the step has taken ``SLOW_STEP_SECONDS``: the host ends its database transaction
    then instead of on every step (which would cost every completion a round trip).
    """
    outer = (getattr(_budget, "left", None), getattr(_budget, "on_slow", None),
             getattr(_budget, "slow_at", 0.0))
    _budget.left = _limits.seconds if outer[0] is None else outer[0]
    _budget.on_slow = on_slow if outer[0] is None else outer[1]
    _budget.slow_at = time.monotonic() + SLOW_STEP_SECONDS if outer[0] is None else outer[2]
    try:
        yield
    finally:
        _budget.left, _budget.on_slow, _budget.slow_at = outer


def _slow_step() -> None:
    on_slow = getattr(_budget, "on_slow", None)
    if on_slow is not None:
        _budget.on_slow = None
        on_slow()


def _too_slow() -> ScriptLimitExceeded:
    return ScriptLimitExceeded(
        f"脚本运行超过 {_limits.seconds:g} 秒的时间上限 / the scripts of this step ran longer "
        f"than their {_limits.seconds:g} s budget (an endless loop?)")


def _too_big(what: str) -> ScriptLimitExceeded:
    return ScriptLimitExceeded(
        f"脚本试图生成超过 {_limits.max_bytes // (1024 * 1024)} MB 的数据 / the script tried to "
        f"build {what} larger than the {_limits.max_bytes // (1024 * 1024)} MB cap")


def _run(code: CodeType, scope: dict[str, Any], may_loop: bool) -> Any:
    """Run sandboxed code under the step's deadline.

    Code that may loop (a backward jump or a nested function, comprehension or generator) is
    traced line by line in sandboxed frames only; straight-line code cannot outrun its
    budget by more than one bounded operation, so it runs untraced (a condition costs ~0.5 µs,
    tracing would add several).
    """
    left = getattr(_budget, "left", None)
    started = time.monotonic()
    deadline = started + (_limits.seconds if left is None else left)
    if deadline <= started:
        raise _too_slow()
    slow_at: float | None = getattr(_budget, "slow_at", 0.0) \
        if getattr(_budget, "on_slow", None) else None
    if slow_at is not None and started > slow_at:
        _slow_step()
        slow_at = None
    if not may_loop:
        try:
            return eval(code, scope)  # noqa: S307 - restricted code
        finally:
            if left is not None:
                _budget.left = left - (time.monotonic() - started)

    overrun: list[ScriptLimitExceeded] = []

    def in_script(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal slow_at
        now = time.monotonic()
        if slow_at is not None and now > slow_at:
            slow_at = None
            _slow_step()
        if now > deadline:
            # CPython drops a trace function that raises: remember the overrun, so that code
            # that caught it and went on to finish is refused all the same.
            overrun.append(_too_slow())
            raise overrun[-1]
        return in_script

    def on_call(frame: FrameType, event: str, arg: Any) -> Any:
        # Only sandboxed frames (they see the guards as globals): other "<string>" code, such
        # as SQLAlchemy's generated session proxies or dataclass __init__s, runs untraced, so
        # neither a time-out nor the slow-step release can land in the middle of a query.
        if frame.f_code.co_filename != _SCRIPT_FILE or frame.f_globals.get("_binop_") \
                is not _binop:
            return None
        return in_script(frame, event, arg)

    previous = sys.gettrace()
    sys.settrace(on_call)
    try:
        result = eval(code, scope)  # noqa: S307 - restricted code
    finally:
        sys.settrace(previous)
        if left is not None:
            _budget.left = left - (time.monotonic() - started)
    if overrun:
        raise overrun[0]
    return result


_JUMPS = frozenset(dis.hasjrel) | frozenset(dis.hasjabs)


def _may_loop(code: CodeType) -> bool:
    """True when code can run on without end: it jumps backwards (any loop, whatever its
    opcode) or holds nested code (a function, lambda, comprehension or generator)."""
    if any(isinstance(const, CodeType) for const in code.co_consts):
        return True
    return any(op.opcode in _JUMPS and isinstance(op.argval, int) and op.argval <= op.offset
               for op in dis.get_instructions(code))


def _size(value: Any) -> int:
    """What a value costs against the cap, counted cheaply (text by length, lists by slots)."""
    if isinstance(value, str | bytes | bytearray):
        return len(value)
    if isinstance(value, list | tuple):
        return 8 * len(value)
    return 0


def _mul(a: Any, b: Any) -> Any:
    if isinstance(a, int) and isinstance(b, int):
        if a.bit_length() + b.bit_length() > _limits.max_int_bits:
            raise _too_big("a number")
    else:
        text, times = (a, b) if isinstance(b, int) else (b, a)
        if isinstance(times, int) and _size(text) * max(times, 0) > _limits.max_bytes:
            raise _too_big("a text or list")
    return a * b


def _pow(a: Any, b: Any, mod: Any = None) -> Any:
    if mod is None and isinstance(a, int) and isinstance(b, int) and b > 0 and \
            a.bit_length() * b > _limits.max_int_bits:
        raise _too_big("a number")
    return pow(a, b, mod)


def _lshift(a: Any, b: Any) -> Any:
    if isinstance(a, int) and isinstance(b, int) and a.bit_length() + b > _limits.max_int_bits:
        raise _too_big("a number")
    return a << b


def _add(a: Any, b: Any) -> Any:
    if _size(a) + _size(b) > _limits.max_bytes:
        raise _too_big("a text or list")
    return a + b


_WIDTH = re.compile(r"\d{7,}")  # a field width or precision of a million or more


def _mod(a: Any, b: Any) -> Any:
    if isinstance(a, str) and _WIDTH.search(a):
        raise _too_big("a text")
    return a % b


_BINOPS: dict[type[ast.operator], tuple[str, Any]] = {
    ast.Mult: ("*", _mul), ast.Pow: ("**", _pow), ast.LShift: ("<<", _lshift),
    ast.Add: ("+", _add), ast.Mod: ("%", _mod),
}
_BY_SYMBOL = {symbol: check for symbol, check in _BINOPS.values()}


def _binop(symbol: str, a: Any, b: Any) -> Any:
    return _BY_SYMBOL[symbol](a, b)


_INPLACE: dict[str, Callable[[Any, Any], Any]] = {
    "+=": _add, "-=": lambda a, b: a - b, "*=": _mul, "/=": lambda a, b: a / b,
    "//=": lambda a, b: a // b, "%=": _mod, "|=": lambda a, b: a | b, "&=": lambda a, b: a & b,
}


def _inplacevar(op: str, a: Any, b: Any) -> Any:
    if op not in _INPLACE:
        raise SyntaxError(f"operator {op} is not allowed")
    return _INPLACE[op](a, b)


class _GuardedOperators(RestrictingNodeTransformer):
    """RestrictedPython's policy, plus: operators that can build huge values are checked."""

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        node = self.node_contents_visit(node)
        guarded = _BINOPS.get(type(node.op))
        if guarded is None:
            return node
        call = ast.Call(func=ast.Name("_binop_", ast.Load()),
                        args=[ast.Constant(guarded[0]), node.left, node.right], keywords=[])
        copy_locations(call, node)
        return call

    # A time-out must end the script: nothing may catch it or run after it.
    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> Any:
        if node.type is None:
            self.error(node, "a bare 'except:' is not allowed; name the error, e.g. "
                             "'except ValueError:'")
        return super().visit_ExceptHandler(node)

    def visit_Try(self, node: ast.Try) -> Any:
        if node.finalbody:
            self.error(node, "'finally' is not allowed in scripts")
        return super().visit_Try(node)

    def visit_FormattedValue(self, node: ast.FormattedValue) -> Any:
        spec = node.format_spec
        parts = spec.values if isinstance(spec, ast.JoinedStr) else [spec]
        constants = [v for v in parts if isinstance(v, ast.Constant)]
        if spec is not None and len(constants) != len(parts):
            self.error(node, "a computed format width in an f-string is not allowed")
        elif spec is not None and _WIDTH.search("".join(str(v.value) for v in constants)):
            self.error(node, "a format width of a million or more is not allowed")
        return self.node_contents_visit(node)


# Text methods whose result can be far larger than their input, checked before they run.
def _padding(method: str) -> Any:
    def check(text: Any, width: Any, *args: Any) -> Any:
        if isinstance(width, int) and width > _limits.max_bytes:
            raise _too_big("a text")
        return getattr(text, method)(width, *args)
    return check


def _replace(text: Any, old: Any, new: Any, count: Any = -1) -> Any:
    grows = len(new) - len(old)
    if grows > 0:
        found = text.count(old) if old else len(text) + 1
        if count >= 0:
            found = min(found, count)
        if len(text) + found * grows > _limits.max_bytes:
            raise _too_big("a text")
    return text.replace(old, new, count)


def _expandtabs(text: Any, tabsize: Any = 8) -> Any:
    if isinstance(tabsize, int) and len(text) * max(tabsize, 1) > _limits.max_bytes:
        raise _too_big("a text")
    return text.expandtabs(tabsize)


_TEXT_METHODS: dict[str, Any] = {
    "ljust": _padding("ljust"), "rjust": _padding("rjust"), "center": _padding("center"),
    "zfill": _padding("zfill"), "replace": _replace, "expandtabs": _expandtabs,
}


def _getattr(obj: Any, name: str, *default: Any) -> Any:
    if isinstance(obj, str | bytes) and name in _TEXT_METHODS:
        return functools.partial(_TEXT_METHODS[name], obj)
    return safer_getattr(obj, name, *default)  # type: ignore[no-untyped-call]


def _sum(values: Any, start: Any = 0) -> Any:
    if isinstance(start, int | float):
        return sum(values, start)
    # Adding lists one by one copies the growing result each time: check the end size first.
    values = list(values)
    if _size(start) + sum(_size(v) for v in values) > _limits.max_bytes:
        raise _too_big("a list")
    return sum(values, start)


# The math functions a deadline or decision needs; factorial, comb and perm can run for hours.
_MATH = SimpleNamespace(**{name: getattr(math, name) for name in (
    "ceil", "floor", "trunc", "sqrt", "exp", "log", "log10", "log2", "fabs", "fsum", "isclose",
    "isfinite", "isinf", "isnan", "copysign", "fmod", "modf", "hypot", "pi", "e", "inf",
    "nan")})


_UNCATCHABLE = ("BaseException", "KeyboardInterrupt", "SystemExit", "GeneratorExit")


def _builtins() -> dict[str, Any]:
    allowed = {k: v for k, v in safe_builtins.items() if k not in _UNCATCHABLE}
    allowed.update(limited_builtins)
    allowed.update(set=set, frozenset=frozenset, math=_MATH, pow=_pow)
    allowed.update(dict=dict, list=list, sum=_sum, min=min, max=max, any=any, all=all,
                   enumerate=enumerate, map=map, filter=filter, reversed=reversed)
    return allowed


_GUARDS: dict[str, Any] = {
    "__builtins__": _builtins(),
    "_getattr_": _getattr,
    "_binop_": _binop,
    "_getitem_": default_guarded_getitem,
    "_getiter_": default_guarded_getiter,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_write_": full_write_guard,
    "_inplacevar_": _inplacevar,
}


def compile_expression(expression: str) -> CodeType:
    """Compile an expression in the sandbox; raises ``DiagramError`` when it is not allowed."""
    return _expression(expression)[0]


def compile_script(script: str) -> CodeType:
    """Compile a script in the sandbox; raises ``DiagramError`` when it is not allowed."""
    return _script(script)[0]


@functools.lru_cache(maxsize=4096)
def _expression(expression: str) -> tuple[CodeType, bool]:
    result = compile_restricted_eval(expression.strip(), filename=_SCRIPT_FILE,
                                     policy=_GuardedOperators)
    if result.errors or result.code is None:
        raise DiagramError(f"expression {expression!r}: {'; '.join(result.errors)}")
    return result.code, _may_loop(result.code)


@functools.lru_cache(maxsize=1024)
def _script(script: str) -> tuple[CodeType, bool]:
    result = compile_restricted_exec(script, filename=_SCRIPT_FILE, policy=_GuardedOperators)
    if result.errors or result.code is None:
        raise DiagramError(f"script: {'; '.join(result.errors)}")
    return result.code, _may_loop(result.code)


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
        raise RuntimeError("no working-day calendar installed (server.assembly installs it)")
    return _calendar


def due_in_working_days(n: int | float | str) -> str:
    return _installed().due_at(clock.now(), int(n)).isoformat()


def due_in_minutes(n: int | float | str) -> str:
    """``n`` office minutes from now (the 30-minute call: nights and holidays do not count).

    Without a calendar that knows office hours, wall-clock minutes.
    """
    calendar = _calendar
    if calendar is not None and hasattr(calendar, "office_minutes_due"):
        return str(calendar.office_minutes_due(clock.now(), int(float(n))).isoformat())
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
        code, may_loop = _expression(expression)
        return _run(code, scope, may_loop)

    def execute(self, script: str, context: dict[str, Any],
                external_context: dict[str, Any] | None = None) -> bool:
        self.check_for_overwrite(context, external_context or {})
        scope = dict(self.globals)
        scope.update(external_context or {})
        scope.update(context)
        code, may_loop = _script(script)
        _run(code, scope, may_loop)
        hidden = set(self.globals) | set(external_context or {})
        for key, value in scope.items():
            if key in hidden or key.startswith("_") or callable(value):
                continue
            context[key] = value
        return True


class SandboxScriptEngine(PythonScriptEngine):  # type: ignore[misc]
    """Names the task whose script or condition went over a limit."""

    def evaluate(self, task: Any, expression: str,
                 external_context: dict[str, Any] | None = None) -> Any:
        try:
            return super().evaluate(task, expression, external_context)
        except ScriptLimitExceeded as exc:
            exc.element_id = exc.element_id or task.task_spec.name
            raise

    def execute(self, task: Any, script: str,
                external_context: dict[str, Any] | None = None) -> Any:
        try:
            return super().execute(task, script, external_context)
        except ScriptLimitExceeded as exc:
            exc.element_id = exc.element_id or task.task_spec.name
            raise


def make_script_engine() -> PythonScriptEngine:
    return SandboxScriptEngine(environment=SandboxEnvironment())
