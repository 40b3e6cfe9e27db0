"""The Flask application class guanjia runs on."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask


class Application(Flask):
    """Flask, asking once per function whether it is a coroutine.

    Flask asks ``inspect`` on every call of every view, hook and teardown function, about
    ten times a request (issue 18's profile); the answer does not change for a function.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sync: dict[Callable[..., Any], Callable[..., Any]] = {}

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        try:
            return self._sync[func]
        except KeyError:
            sync = self._sync[func] = super().ensure_sync(func)
            return sync
        except TypeError:  # an unhashable callable: ask every time
            return super().ensure_sync(func)
