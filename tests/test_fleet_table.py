"""The fleet table (#table), the fleet-state favicon and title, and the web app manifest, in
headless Debian Chromium (Playwright) against a real `lookout serve` fed over HTTP.

The fleet is the dashboard scenario's (web-1 ok, db-1 critical, mail-1 warning, backup-1
stale) plus odd-1, whose agent string is hostile: the table must show it as text."""

from __future__ import annotations

import json
import random
import re
import time
import urllib.parse
from pathlib import Path
from typing import Any, Iterator

import pytest

from conftest import Hub, http, make_doc
from dashboard_support import (
    EXPECTED_STATUS,
    FLEET,
    HOSTILE,
    STALE_MINUTES,
    UI_TIMEOUT,
    chromium,
    dashboard_args,
    post,
    seed_fleet,
    shot,
)

#: odd-1: the busiest VM, with a hostile agent string and no containers or checks.
ODD = dict(cpu=88.0, memory=20.5, disk=30.0, load1=0.2)
CPU = {**{vm: f["cpu"] for vm, f in FLEET.items()}, "odd-1": ODD["cpu"]}
MEMORY = {**{vm: f["memory"] for vm, f in FLEET.items()}, "odd-1": ODD["memory"]}
ROWS = "#view-table tbody tr"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def fleet_hub(lookout_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    hub = Hub(lookout_bin, tmp_path_factory.mktemp("fleet-table"), dashboard_args(), name="table")
    hub.start()
    try:
        now = seed_fleet(hub, history_hours=0)
        post(hub, make_doc("odd-1", now - 30, agent=HOSTILE, interval_seconds=300, **ODD))
        hub.seeded_at = now  # what "last seen" counts from
        yield hub
    finally:
        hub.kill()


class Pages:
    """Pages in fresh browser contexts (so each test starts with empty localStorage); any
    script error in a page fails the test."""

    def __init__(self, browser: Any) -> None:
        self.browser = browser
        self.contexts: list[Any] = []
        self.errors: list[str] = []

    def open(self, url: str, viewport: tuple[int, int] = (1366, 768), **context: Any) -> Any:
        ctx = self.browser.new_context(viewport={"width": viewport[0], "height": viewport[1]}, **context)
        self.contexts.append(ctx)
        page = ctx.new_page()
        page.set_default_timeout(UI_TIMEOUT)
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.goto(url)
        page.wait_for_function("window.__lookoutReady === true")
        return page


@pytest.fixture
def pages(browser: Any) -> Iterator[Pages]:
    p = Pages(browser)
    yield p
    for ctx in p.contexts:
        ctx.close()
    assert not p.errors, f"script errors in the page: {p.errors}"


def open_table(pages: Pages, hub: Hub, rows: int = 5, **options: Any) -> Any:
    page = pages.open(hub.url("/#table"), **options)
    page.wait_for_function("(n) => document.querySelectorAll('#view-table tbody tr').length === n", arg=rows)
    return page


def order(page: Any) -> list[str]:
    return page.eval_on_selector_all(ROWS, "rows => rows.map(r => r.dataset.vm)")


def header(page: Any, column: str) -> Any:
    return page.locator(f'#view-table th[data-col="{column}"]')


def cell(page: Any, vm: str, column: str) -> Any:
    return page.locator(f'#view-table tr[data-vm="{vm}"] td[data-col="{column}"]')


def by(values: dict[str, float], descending: bool) -> list[str]:
    return [vm for vm, _ in sorted(values.items(), key=lambda kv: (-kv[1] if descending else kv[1], kv[0]))]


def wait_order(page: Any, expected: list[str]) -> None:
    page.wait_for_function(
        "(want) => JSON.stringify([...document.querySelectorAll('#view-table tbody tr')].map(r => r.dataset.vm))"
        " === JSON.stringify(want)",
        arg=expected,
    )


def test_table_shows_every_vm_worst_first_with_its_figures(fleet_hub: Hub, pages: Pages) -> None:
    page = open_table(pages, fleet_hub)
    assert page.locator('.tabs a[data-view="table"]').get_attribute("aria-current") == "page"
    # The default order is the overview's: worst first (critical, stale, warning, ok), then by vm_id.
    assert order(page) == ["db-1", "backup-1", "mail-1", "odd-1", "web-1"]
    assert header(page, "state").get_attribute("aria-sort") == "descending"
    assert page.locator("#table-count").inner_text() == "5 VMs"
    for vm, status in EXPECTED_STATUS.items():
        assert page.locator(f'#view-table tr[data-vm="{vm}"]').get_attribute("data-status") == status, vm
    assert cell(page, "db-1", "state").inner_text() == "critical"
    assert cell(page, "db-1", "disk").inner_text() == "93.4"
    assert cell(page, "db-1", "disk").get_attribute("data-level") == "critical"
    assert cell(page, "web-1", "cpu").inner_text() == "23.5"
    assert cell(page, "web-1", "cpu").get_attribute("data-level") is None
    assert cell(page, "web-1", "rx").inner_text() == "1.2 MB/s"
    assert cell(page, "web-1", "tx").inner_text() == "80 KB/s"
    assert cell(page, "web-1", "swap").inner_text() == "12"
    assert cell(page, "web-1", "load1").inner_text() == "0.31"
    assert cell(page, "db-1", "uptime").inner_text() == "14 d"
    assert cell(page, "db-1", "containers").inner_text() == "2/3"
    assert cell(page, "db-1", "checks").inner_text() == "1/2"
    assert cell(page, "db-1", "checks").get_attribute("data-level") == "critical"
    assert cell(page, "backup-1", "swap").inner_text() == "–"
    # backup-1 reported STALE_MINUTES before the seed; the page counts whole minutes since.
    seen = re.fullmatch(r"(\d+) min ago", cell(page, "backup-1", "seen").inner_text())
    minutes = (time.time() - (fleet_hub.seeded_at - STALE_MINUTES * 60)) / 60
    assert seen and abs(int(seen.group(1)) - minutes) <= 1.5, (seen, minutes)
    # A stale VM's figures are old: no threshold colours on them.
    assert cell(page, "backup-1", "containers").get_attribute("data-level") is None


def test_sort_by_a_numeric_column_both_ways_by_click_and_keyboard(fleet_hub: Hub, pages: Pages) -> None:
    page = open_table(pages, fleet_hub)
    cpu = header(page, "cpu")
    cpu.locator("button").click()
    wait_order(page, by(CPU, descending=True))
    assert cpu.get_attribute("aria-sort") == "descending"
    assert header(page, "state").get_attribute("aria-sort") == "none"
    cpu.locator("button").click()
    wait_order(page, by(CPU, descending=False))
    assert cpu.get_attribute("aria-sort") == "ascending"

    memory = header(page, "memory").locator("button")
    memory.focus()
    page.keyboard.press("Enter")
    wait_order(page, by(MEMORY, descending=True))
    assert header(page, "memory").get_attribute("aria-sort") == "descending"
    assert cpu.get_attribute("aria-sort") == "none"
    page.keyboard.press(" ")
    wait_order(page, by(MEMORY, descending=False))
    assert header(page, "memory").get_attribute("aria-sort") == "ascending"
    # The header keeps the focus, so the next key press sorts again.
    assert page.evaluate("document.activeElement.dataset.col") == "memory"

    # A refresh refills the rows in place: the same elements, in the same order.
    page.evaluate("document.querySelector('#view-table tr[data-vm=\"web-1\"]').__kept = true")
    before = page.evaluate("window.__lookoutStats.refreshes")
    page.evaluate("window.__lookoutRefresh()")
    page.wait_for_function("(n) => window.__lookoutStats.refreshes > n", arg=before)
    assert page.evaluate("document.querySelector('#view-table tr[data-vm=\"web-1\"]').__kept") is True
    assert order(page) == by(MEMORY, descending=False)


def test_filter_narrows_the_rows_and_the_choice_survives_a_reload(fleet_hub: Hub, pages: Pages) -> None:
    page = open_table(pages, fleet_hub)
    box = page.locator("#table-filter")
    assert box.get_attribute("type") == "search"
    box.fill("mail")
    wait_order(page, ["mail-1"])
    assert page.locator("#table-count").inner_text() == "1 of 5 VMs"
    box.fill("CRIT")
    wait_order(page, ["db-1"])
    box.fill("1 -1")
    wait_order(page, ["db-1", "backup-1", "mail-1", "odd-1", "web-1"])
    box.fill("nothing-like-this")
    wait_order(page, [])
    assert page.locator("#view-table .empty").inner_text() == "No VM matches “nothing-like-this”."
    box.fill("")
    wait_order(page, ["db-1", "backup-1", "mail-1", "odd-1", "web-1"])

    box.fill("b")
    header(page, "disk").locator("button").click()
    disk = {vm: FLEET[vm]["disk"] for vm in ("db-1", "web-1", "backup-1")}
    wait_order(page, by(disk, descending=True))
    page.reload()
    page.wait_for_function("window.__lookoutReady === true")
    wait_order(page, by(disk, descending=True))
    assert page.locator("#table-filter").input_value() == "b"
    assert header(page, "disk").get_attribute("aria-sort") == "descending"
    stored = json.loads(page.evaluate("localStorage.getItem('lookout.table')"))
    assert stored == {"sort": "disk", "dir": "desc", "filter": "b"}


def test_a_stored_choice_that_makes_no_sense_falls_back_to_the_default(fleet_hub: Hub, pages: Pages) -> None:
    page = open_table(pages, fleet_hub)
    page.evaluate("localStorage.setItem('lookout.table', '{\"sort\": \"__proto__\", \"dir\": 3, \"filter\": [1]}')")
    page.reload()
    page.wait_for_function("window.__lookoutReady === true")
    wait_order(page, ["db-1", "backup-1", "mail-1", "odd-1", "web-1"])
    assert page.locator("#table-filter").input_value() == ""


def test_rows_link_to_the_vm_view(fleet_hub: Hub, pages: Pages) -> None:
    page = open_table(pages, fleet_hub)
    link = cell(page, "mail-1", "vm").locator("a")
    assert link.get_attribute("href") == "#vm/mail-1"
    # A click anywhere on the row opens the VM.
    cell(page, "mail-1", "memory").click()
    page.wait_for_function("document.getElementById('vm-title')?.textContent === 'mail-1'")
    assert not page.locator("#view-vm").is_hidden()
    page.go_back()
    page.wait_for_function("!document.getElementById('view-table').hidden")
    # The keyboard: the vm_id is a link, followed with Enter.
    cell(page, "db-1", "vm").locator("a").focus()
    page.keyboard.press("Enter")
    page.wait_for_function("document.getElementById('vm-title')?.textContent === 'db-1'")


def test_a_hostile_agent_string_is_shown_as_text(fleet_hub: Hub, pages: Pages) -> None:
    page = open_table(pages, fleet_hub)
    assert cell(page, "odd-1", "agent").inner_text() == HOSTILE
    assert page.evaluate("window.__xss") is None, "an API string ran as HTML"
    assert page.locator('img[src="x"]').count() == 0
    # The filter matches it as text too.
    page.locator("#table-filter").fill("onerror")
    wait_order(page, ["odd-1"])


def favicon_colour(page: Any) -> str:
    href = page.evaluate("document.querySelector('link[rel=\"icon\"]').href")
    assert href.startswith("data:image/svg+xml,"), href
    svg = urllib.parse.unquote(href.split(",", 1)[1])
    fills = re.findall(r'fill="(#[0-9a-f]{6})"', svg)
    assert fills, svg
    return fills[0]


def test_favicon_and_title_follow_the_fleet(start_hub: Any, pages: Pages) -> None:
    hub = start_hub(*dashboard_args())
    now = time.time()
    post(hub, make_doc("web-1", now - 60, disk=40.0, interval_seconds=300))
    post(hub, make_doc("app-1", now - 60, disk=50.0, interval_seconds=300))
    page = pages.open(hub.url("/?refresh=3600"))
    assert favicon_colour(page) == "#1f9d55"
    assert page.title() == "Lookout"

    # app-1's disk crosses the critical threshold (90 %).
    post(hub, make_doc("app-1", now - 30, disk=95.0, interval_seconds=300))
    page.evaluate("window.__lookoutRefresh()")
    page.wait_for_function("document.title === '(1) Lookout'")
    assert favicon_colour(page) == "#dc2626"

    post(hub, make_doc("web-1", now - 20, disk=85.0, interval_seconds=300))
    page.evaluate("window.__lookoutRefresh()")
    page.wait_for_function("document.title === '(2) Lookout'")
    assert favicon_colour(page) == "#dc2626"

    post(hub, make_doc("app-1", now - 10, disk=50.0, interval_seconds=300))
    page.evaluate("window.__lookoutRefresh()")
    page.wait_for_function("document.title === '(1) Lookout'")
    assert favicon_colour(page) == "#e09b00"

    # The hub stops answering: the count is not today's, the icon goes grey.
    hub.kill()
    page.evaluate("window.__lookoutRefresh()")
    page.wait_for_function("document.title === 'Lookout (data is old)'")
    assert favicon_colour(page) == "#7c8594"


def test_a_refresh_asked_during_a_refresh_shows_what_came_after_the_ask(start_hub: Any, pages: Pages) -> None:
    """A refresh asked while one is running (the first cycle's slower answers still out, as when
    a test or the operator asks right after the cards are drawn) must not hand back the running
    cycle, whose summary was fetched before the ask: another cycle follows it."""
    hub = start_hub(*dashboard_args())
    now = time.time()
    post(hub, make_doc("app-1", now - 60, disk=50.0, interval_seconds=300))
    page = pages.open(hub.url("/?refresh=3600"))
    assert page.title() == "Lookout"

    held: list[Any] = []
    holding = [True]
    page.route("**/api/monitoring/services", lambda route: held.append(route) if holding[0] else route.continue_())
    summaries = "() => performance.getEntriesByType('resource').filter((e) => e.name.includes('api/monitoring/summary')).length"
    before = page.evaluate(summaries)
    # A cycle starts; its summary is answered, its services answer is held.
    page.evaluate("() => { window.__first = window.__lookoutRefresh(); }")
    page.wait_for_function(f"({summaries})() > {before}")
    assert held, "the services request of the running cycle was not held"

    post(hub, make_doc("app-1", now - 30, disk=95.0, interval_seconds=300))
    holding[0] = False
    page.evaluate("() => { window.__second = window.__lookoutRefresh(); }")
    for route in held:
        route.continue_()
    page.evaluate("() => window.__second")
    assert page.title() == "(1) Lookout"


def get(url: str) -> tuple[int, dict[str, str], bytes]:
    status, headers, body = http("GET", url)
    return status, {k.lower(): v for k, v in headers.items()}, body


def test_manifest_is_served_and_its_icons_resolve(fleet_hub: Hub, pages: Pages) -> None:
    page = pages.open(fleet_hub.url("/"))
    href = page.evaluate("document.querySelector('link[rel=\"manifest\"]').getAttribute('href')")
    assert href == "manifest.webmanifest"
    assert page.locator('meta[name="theme-color"]').count() >= 1

    status, headers, body = get(fleet_hub.url("/manifest.webmanifest"))
    assert status == 200
    assert headers["content-type"].split(";")[0] == "application/manifest+json"
    manifest = json.loads(body)
    assert manifest["name"] == "Lookout" and manifest["display"] == "standalone"
    # Relative URLs only, so the page installs under a reverse proxy's sub-path too.
    assert manifest["start_url"] == "." and manifest["scope"] == "."
    purposes = set()
    for icon in manifest["icons"]:
        assert not icon["src"].startswith("/") and "//" not in icon["src"], icon
        url = urllib.parse.urljoin(fleet_hub.url("/manifest.webmanifest"), icon["src"])
        status, headers, data = get(url)
        assert status == 200, url
        assert headers["content-type"].split(";")[0] == icon["type"], url
        assert data, url
        purposes.add(icon["purpose"])
    assert {"any", "maskable"} <= purposes
    assert any(i["src"] == "icons/lookout.svg" and i["sizes"] == "any" for i in manifest["icons"])


def test_one_hundred_vms_fit_a_laptop_screen(start_hub: Any, pages: Pages) -> None:
    hub = start_hub(*dashboard_args())
    rng = random.Random(14)
    now = time.time()
    for i in range(100):
        extras = {"network": {"rx_bytes_per_s": rng.uniform(0, 5e6), "tx_bytes_per_s": rng.uniform(0, 2e6),
                              "rx_bytes": 1e9, "tx_bytes": 5e8},
                  "swap": {"total_mb": 1024, "used_mb": 100, "percent": round(rng.uniform(0, 60), 1)}}
        doc = make_doc(f"vm-{i:03d}", now - 60, cpu=round(rng.uniform(1, 99), 1), memory=round(rng.uniform(20, 97), 1),
                       disk=round(rng.uniform(10, 96), 1), load1=round(rng.uniform(0, 3), 2), interval_seconds=300,
                       agent=f"lookout-agent {'0.0.9' if i == 7 else '0.1.2'}",
                       containers=[{"name": "app", "status": "running", "cpu_percent": 1, "memory_mb": 50}],
                       services=[{"id": "site", "healthy": True, "response_ms": 20}])
        doc["system"].update(extras)
        post(hub, doc)
    page = open_table(pages, hub, rows=100)
    # An agent older than the hub (0.1.0) is marked, as the agent sends its name: "lookout-agent 0.0.9".
    assert cell(page, "vm-007", "agent").inner_text() == "0.0.9"
    assert cell(page, "vm-007", "agent").get_attribute("data-level") == "warning"
    assert cell(page, "vm-008", "agent").get_attribute("data-level") is None
    wrap = page.evaluate(
        "(() => { const w = document.querySelector('.fleet-wrap');"
        " return {sw: w.scrollWidth, cw: w.clientWidth, page: document.documentElement.scrollWidth}; })()"
    )
    assert wrap["sw"] <= wrap["cw"] and wrap["page"] <= 1366, f"the table scrolls sideways at 1366 px: {wrap}"
    # Rows are compact: at least 20 of them on the first screen.
    on_screen = page.evaluate(
        f"[...document.querySelectorAll('{ROWS}')].filter(r => r.getBoundingClientRect().bottom <= innerHeight).length"
    )
    assert on_screen >= 20, on_screen
    shot(page, "fleet-table-100", full_page=False)
    # The header row stays in sight when the rows scroll.
    page.evaluate("document.querySelector('.fleet-wrap').scrollTop = 1500")
    page.wait_for_function("document.querySelector('.fleet-wrap').scrollTop > 0")
    top = page.evaluate(
        "(() => { const w = document.querySelector('.fleet-wrap').getBoundingClientRect();"
        " const h = document.querySelector('#view-table thead th[data-col=cpu]').getBoundingClientRect();"
        " return [w.top, h.top, h.bottom]; })()"
    )
    assert abs(top[1] - top[0]) <= 2 and top[2] > top[1], top
    shot(page, "fleet-table-100-scrolled", full_page=False)


def test_phone_width_scrolls_the_table_not_the_page(fleet_hub: Hub, pages: Pages) -> None:
    page = open_table(pages, fleet_hub, viewport=(360, 780), color_scheme="dark")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360, "the page scrolls sideways at 360 px"
    wrap = page.evaluate("(() => { const w = document.querySelector('.fleet-wrap'); return [w.scrollWidth, w.clientWidth]; })()")
    assert wrap[0] > wrap[1], wrap
    # The vm_id stays in view while the figures scroll sideways.
    page.evaluate("document.querySelector('.fleet-wrap').scrollLeft = 400")
    page.wait_for_function("document.querySelector('.fleet-wrap').scrollLeft > 0")
    left = page.evaluate(
        "(() => [document.querySelector('.fleet-wrap').getBoundingClientRect().left,"
        " document.querySelector('#view-table tr[data-vm=\"db-1\"] td[data-col=vm]').getBoundingClientRect().left])()"
    )
    assert abs(left[1] - left[0]) <= 2, left
    shot(page, "fleet-table-360-dark", full_page=False)
