"""A Chromium session that takes a case through its pages."""

from __future__ import annotations

from typing import Any

from tests.conftest import PASSWORD
from tests.scenarios.conftest import FORM_DATA


class Browser:
    """One person after another at the same browser window."""

    def __init__(self, page: Any, base: str) -> None:
        self.page = page
        self.base = base
        self.user = ""

    def sign_in(self, username: str) -> None:
        if self.user == username:
            return
        if self.user:
            self.page.click("header form button")
            self.page.wait_for_url("**/login")
        self.page.goto(f"{self.base}/login")
        self.page.fill("#username", username)
        self.page.fill("#password", PASSWORD)
        self.page.click("button[type=submit]")
        self.page.wait_for_load_state()
        assert "/login" not in self.page.url, self.page.content()[:500]
        self.user = username

    def open_task(self, name: str) -> None:
        """Open the first task of that name from the user's own list."""
        page = self.page
        if self.user == "qiye":
            page.goto(f"{self.base}/portal")
            row = page.locator("tr", has=page.locator(f"td:text-is('{name}')")).first
            assert row.count() == 1, f"{name} is not in the enterprise's list"
            row.locator("a:text-is('办理')").click()
        else:
            page.goto(f"{self.base}/tasks")
            link = page.locator(f"table.tasks a.strong:text-is('{name}')").first
            assert link.count() == 1, (
                f"{name} is not in {self.user}'s list: "
                f"{page.locator('table.tasks a.strong').all_inner_texts()}")
            link.click()
        page.wait_for_url("**/tasks/*")
        assert name in page.inner_text("h1")

    def fill(self, data: dict[str, Any]) -> None:
        """Fill the task form the way a person would, by each field's kind."""
        page = self.page
        for key, value in data.items():
            field = page.locator(f".field[data-key='{key}']")
            assert field.count() == 1, f"no field {key} on {page.url}"
            kind = field.get_attribute("class") or ""
            if "type-checkbox" in kind:
                field.locator("input").set_checked(bool(value))
            elif "type-radio" in kind:
                field.locator(f"input[value='{value}']").check()
            elif "type-checklist" in kind or "type-taglist" in kind:
                for v in value:
                    field.locator(f"input[value='{v}']").check()
            elif "type-select" in kind:
                page.select_option(f"#f-{key}", str(value))
            elif page.get_attribute(f"#f-{key}", "type") == "datetime-local":
                # A date-and-time picker wants both; a person picks a time of day too.
                page.fill(f"#f-{key}", f"{value}T09:30" if "T" not in str(value) else value)
            else:
                page.fill(f"#f-{key}", str(value))

    def submit(self) -> None:
        self.page.click("button[value=submit]")
        self.page.wait_for_load_state()

    def do(self, username: str, name: str, form_key: str, **overrides: Any) -> None:
        """Sign in as ``username``, open the task ``name``, fill its form and submit it."""
        self.sign_in(username)
        self.open_task(name)
        self.fill({**FORM_DATA[form_key], **overrides})
        self.submit()
        flashes = self.page.locator(".flashes")
        assert flashes.count() and "任务已提交" in flashes.inner_text(), (
            [(f.get_attribute("data-key"), f.locator(".field-error").inner_text())
             for f in self.page.locator(".field.has-error").all()])
