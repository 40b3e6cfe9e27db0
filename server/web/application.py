"""The Flask application class guanjia runs on."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from weakref import WeakKeyDictionary

from flask import Flask


class Application(Flask):
    """Flask, asking once per function whether it is a coroutine.

    Flask asks ``inspect`` on every call of every view, hook and teardown function, about
    ten times a request (issue 18's profile); the answer does not change for a function.
    ``ensure_sync`` is Flask's documented point for this. What is remembered is only that a
    function is plain (Flask then hands back the function itself), weakly: a function made
    per request (``after_this_request``) is forgotten with it, so nothing grows.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plain: WeakKeyDictionary[Any, bool] = WeakKeyDictionary()

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        # A bound method is made anew on each attribute access: its function is the key.
        key = getattr(func, "__func__", func)
        try:
            if self._plain.get(key):
                return func
        except TypeError:  # neither hashable nor weakly referable: ask every time
            return super().ensure_sync(func)
        sync = super().ensure_sync(func)
        if sync is func:
            self._plain[key] = True
        return sync
