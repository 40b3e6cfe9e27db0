"""The application class: Flask that remembers which functions are plain, and nothing more."""

from __future__ import annotations

import gc

from flask import after_this_request

from server.web.application import Application


def test_hooks_made_per_request_run_every_time_and_are_not_kept() -> None:
    app = Application(__name__)
    ran: list[int] = []

    @app.get("/n/<int:n>")
    def view(n: int) -> str:
        @after_this_request
        def note(response):  # type: ignore[no-untyped-def]
            ran.append(n)
            return response

        return str(n * 2)

    client = app.test_client()
    for n in range(200):
        assert client.get(f"/n/{n}").get_data(as_text=True) == str(n * 2)
    assert ran == list(range(200))
    gc.collect()
    # The view is remembered; the 200 closures went with their requests.
    assert len(app._plain) < 10
