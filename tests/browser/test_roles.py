"""Every role's first hour, crawled in Chromium: words, not codes, on every page it reaches.

A real concierge case is walked through the services up to the departments' handling (one
department has taken its sheet, accepted and handled its item, so there are decisions,
records and notices). Then each role signs in and follows the links of its pages from its
home page (same origin, GET only, bounded): no page answers 500, none shows a raw stage,
industry, state, group or user code or an ISO datetime, none scrolls sideways at 390 px, and
every page the role may use was reached by clicks. Screenshots at 1366 and 390 px go to
test-artifacts/screenshots/roles-<user>-<n>-<width>.png.
"""

from __future__ import annotations

import re
from collections import Counter, deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from flask import Flask

from server.services import records
from server.services.directory import ROLES as GROUPS
from tests.conftest import PASSWORD, TEST_USERS
from tests.helpers.browser import LiveServer
from tests.scenarios.conftest import Walker

# user → the endpoints it may use and must reach by clicks from its home page.
ROLES: dict[str, set[str]] = {
    "qiye": {"portal.index", "portal.apply", "portal.case", "tasklist.inbox"},
    "zhuanchuang": {"tasklist.tasks_page", "tasklist.task", "cases.index", "cases.show",
                    "tasklist.inbox"},
    "zhaoshang": {"tasklist.tasks_page", "cases.index", "cases.show", "tasklist.inbox",
                  "dashboard.index"},
    "juzhang": {"tasklist.tasks_page", "cases.index", "cases.show", "dashboard.index"},
    "guanjia": {"tasklist.tasks_page", "cases.index", "cases.show", "tasklist.inbox"},
    "fgj": {"tasklist.tasks_page", "cases.index", "cases.show", "tasklist.inbox"},
    "lingdao": {"tasklist.tasks_page", "cases.index", "cases.show", "dashboard.index"},
    "shenji": {"cases.index", "cases.show", "dashboard.index", "audit.index",
               "audit.case_replay", "audit.verify"},
    "sheji": {"designer.index", "cases.index"},
    "admin": {"admin.users", "admin.groups", "designer.index", "audit.index",
              "dashboard.index", "cases.index"},
}
MAX_PAGES = 45          # per role
MAX_PER_SHAPE = 2       # pages of the same shape (ids replaced) per role
DOWNLOADS = re.compile(r"(\.(pdf|zip|json|csv|xlsx|xes|xml|bpmn|dmn|form)$)|/attachments/|"
                       r"/export|/download")
SKIPPED = re.compile(r"^/(logout|lang/|static/)|/login$")
ID = re.compile(r"/([0-9a-f]{8}-[0-9a-f-]{27,}|\d+|GJ-[\w-]+)(?=/|$)|(?<=/records/)\w+|"
                r"(?<=/designer/forms/)\w+|(?<=/designer/edit/)[\w./-]+")
# The designer's editors (modeler, form editor) are desktop tools: no 390 px check there.
DESKTOP_ONLY = re.compile(r"^/designer/.+/")
# Designer pages say everything in both languages and name forms and processes by their ids
# (the ids the BPMN uses): English words and id tags there are the page's text, not leaks.
BILINGUAL = re.compile(r"^/designer/")
ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}|\d{2}:\d{2}:\d{2}[+-]\d{2}:?\d{2}")
STATES = {"ready", "completed", "cancelled", "running", "terminated", "rejected", "claimed"}
GROUP_CODES = {"bureau_head", "dept_fgj", "dept_zrzy", "dept_zjj", "dept_sthj", "dept_scjg",
               "dept_sw", "steward", "enterprise"}
INDUSTRIES = {"manufacturing", "energy", "new_energy", "agriculture", "logistics", "tourism"}
# The outermost elements that stick out of the viewport (to name them in a failure).
WIDEST = """() => { const out = [];
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (r.right > window.innerWidth + 1 && !(el.parentElement &&
        el.parentElement.getBoundingClientRect().right > window.innerWidth + 1)) {
      out.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
               (el.className && el.className.baseVal === undefined && el.className ?
                '.' + String(el.className).split(' ').join('.') : ''));
    }
  } return out.slice(0, 4).join(', '); }"""


def raw_codes(text: str, *, usernames: bool, groups: bool = True,
              bilingual: bool = False) -> list[str]:
    """The coded words a person should not read on a Chinese page."""
    codes = set(INDUSTRIES)
    if groups:
        codes |= GROUP_CODES
    if not bilingual:
        codes |= set(records.STAGES) | STATES
    if usernames:
        codes |= {u for u, *_ in TEST_USERS}
    if not groups:  # a group code that is also a stage code (supervision) is still a group's
        codes -= {code for code, *_ in GROUPS}
    words = set(re.findall(r"(?<![\w/.-])[a-z][a-z_0-9]+(?![\w/.-])", text))
    return sorted(words & codes)


@pytest.fixture
def case_in_handling(make_app: Any, frozen_clock: Any) -> Iterator[tuple[LiveServer, Walker]]:
    from tests.conftest import ROOT

    app: Flask = make_app(GUANJIA_PROCESSES_DIR=str(ROOT / "processes"),
                          GUANJIA_FORMS_DIR=str(ROOT / "forms"))
    walker = Walker(app, frozen_clock)
    walker.start(item_codes=["project_filing", "land_use_planning_permit"],
                 industry="manufacturing")
    walker.accept()
    walker.hand_over()
    walker.do("fgj", "take_task_sheet", group="dept_fgj")
    walker.do("fgj", "review_item_materials", group="dept_fgj")
    server = LiveServer(app)
    yield server, walker
    server.stop()


def endpoint_of(app: Flask, path: str) -> str:
    try:
        endpoint, _ = app.url_map.bind("localhost").match(path, method="GET")
    except Exception:
        return "?"
    return str(endpoint)


def follow(base: str, path: str, hrefs: list[str], visited: set[str]) -> list[str]:
    """The same-origin pages ``hrefs`` lead to that were not visited yet."""
    out = []
    for href in hrefs:
        target = urlsplit(urljoin(base + path, href))
        if f"{target.scheme}://{target.netloc}" != base or SKIPPED.search(target.path):
            continue
        link = target.path + (f"?{target.query}" if target.query else "")
        if link not in visited:
            out.append(link)
    return out


def crawl(browser: Any, base: str, app: Flask, username: str,
          shots: Path) -> tuple[set[str], list[str]]:
    """Sign in as ``username`` and visit what its pages link to; (endpoints seen, problems)."""
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    page = context.new_page()
    problems: list[str] = []
    seen_endpoints: set[str] = set()
    try:
        page.goto(f"{base}/login")
        page.fill("#username", username)
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        home = urlsplit(page.url)
        queue = deque([home.path + (f"?{home.query}" if home.query else "")])
        visited: set[str] = set()
        shapes: Counter[str] = Counter()
        n = 0
        while queue and n < MAX_PAGES:
            path = queue.popleft()
            if path in visited:
                continue
            visited.add(path)
            bare = path.split("?")[0].split("#")[0]
            shape = ID.sub("/:id", bare)
            if shapes[shape] >= MAX_PER_SHAPE:
                continue
            shapes[shape] += 1
            endpoint = endpoint_of(app, bare)
            if DOWNLOADS.search(bare) or "format=" in path:
                response = context.request.get(base + path)
                if response.status >= 500:
                    problems.append(f"{username} {path}: {response.status}")
                seen_endpoints.add(endpoint)
                continue
            n += 1
            page.set_viewport_size({"width": 1366, "height": 900})
            try:
                response = page.goto(base + path)
            except Exception as exc:  # a link that turned out to download something
                if "Download is starting" not in str(exc):
                    problems.append(f"{username} {path}: {exc}")
                continue
            page.wait_for_load_state("load")
            status = response.status if response is not None else 0
            if status >= 500:
                problems.append(f"{username} {path}: {status}")
                continue
            if status >= 400:
                continue  # a page it may not use; reaching it is the link's fault, see below
            seen_endpoints.add(endpoint)
            text = page.inner_text("body")
            if BILINGUAL.search(bare):
                page.evaluate("document.querySelectorAll('main .tag').forEach(e => e.remove())")
            main = page.inner_text("main") if page.query_selector("main") else text
            page.screenshot(path=str(shots / f"roles-{username}-{n:02d}-1366.png"))
            # Administrators manage logins and group codes: those are what their pages edit.
            codes = raw_codes(main, usernames=not bare.startswith("/admin"),
                              groups=not bare.startswith("/admin"),
                              bilingual=bool(BILINGUAL.search(bare)))
            if codes:
                problems.append(f"{username} {path}: codes {codes}")
            iso = ISO.findall(text)
            if iso:
                problems.append(f"{username} {path}: ISO datetimes {iso[:3]}")
            if DESKTOP_ONLY.search(bare):
                links = page.eval_on_selector_all(
                    "a[href]", "els => els.map(e => e.getAttribute('href'))")
                queue.extend(follow(base, path, links, visited))
                continue
            page.set_viewport_size({"width": 390, "height": 844})
            page.wait_for_timeout(50)
            wide = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            if wide > 1:
                culprits = page.evaluate(WIDEST)
                problems.append(f"{username} {path}: scrolls sideways by {wide}px at 390 "
                                f"({culprits})")
            page.screenshot(path=str(shots / f"roles-{username}-{n:02d}-390.png"))
            links = page.eval_on_selector_all(
                "a[href]", "els => els.map(e => e.getAttribute('href'))")
            queue.extend(follow(base, path, links, visited))
    finally:
        context.close()
    return seen_endpoints, problems


def test_every_role_reads_words_not_codes_on_every_page_it_reaches(
        case_in_handling: tuple[LiveServer, Walker], browser: Any,
        screenshots_dir: Path) -> None:
    live, walker = case_in_handling
    problems: list[str] = []
    for username, must_reach in ROLES.items():
        reached, found = crawl(browser, live.url, walker.app, username, screenshots_dir)
        problems += found
        missing = must_reach - reached
        if missing:
            problems.append(f"{username} cannot reach by clicks: {sorted(missing)}")
    assert not problems, "\n".join(problems)


def test_case_diagram_zooms_fits_the_open_steps_and_opens_an_items_sub_process(
        case_in_handling: tuple[LiveServer, Walker], page: Any, screenshots_dir: Path) -> None:
    live, walker = case_in_handling
    page.goto(f"{live.url}/login")
    page.fill("#username", "zhuanchuang")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    page.goto(f"{live.url}/cases/{walker.case_id}")
    page.wait_for_selector("#diagram[data-state=ready]")
    zoom = page.evaluate("window.caseDiagram.viewer.get('canvas').zoom()")
    assert zoom >= 0.6, zoom  # fitted to the open steps, labels readable (was 0.22)
    page.click("#diagram-tools button[data-zoom=in]")
    assert page.evaluate("window.caseDiagram.viewer.get('canvas').zoom()") > zoom * 1.2
    page.click("#diagram-tools button[data-zoom=all]")
    whole = page.evaluate("window.caseDiagram.viewer.get('canvas').zoom()")
    assert whole < zoom
    # the department's item opens in its called process, its own steps marked
    options = page.eval_on_selector_all("#sub-select option", "os => os.map(o => o.textContent)")
    assert len(options) >= 2 and options[0] == "主流程", options
    page.select_option("#sub-select", index=1)
    page.wait_for_selector("#diagram[data-state=ready]:not([data-showing=main])")
    assert "部门并联办理" in page.inner_text("#diagram-title")
    assert page.locator("#diagram .djs-element.gj-active, #diagram .djs-element.gj-done").count() \
        >= 1
    page.screenshot(path=str(screenshots_dir / "roles-case-subprocess-1280.png"))
    page.select_option("#sub-select", value="")
    page.wait_for_selector("#diagram[data-state=ready][data-showing=main]")
    assert not page.console_errors, page.console_errors
