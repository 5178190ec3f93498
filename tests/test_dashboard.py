"""The dashboard (Public/) in a real browser: headless Debian Chromium driven by Playwright,
against a real `lookout serve` fed over HTTP.

The scenario fleet (dashboard_support.FLEET): web-1 fine, db-1 above its disk critical
threshold, mail-1 in warning, backup-1 silent for 42 minutes. Screenshots of every view go
to test-artifacts/screenshots/ for a person to look at."""

from __future__ import annotations

import gzip
import json
import re
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from conftest import Hub, iso, make_doc
from dashboard_support import (
    EXPECTED_STATUS,
    FLEET,
    HOSTILE,
    PUBLIC,
    TRAFFIC_CONFIG,
    UI_TIMEOUT,
    canvas_colors,
    canvas_ink,
    chromium,
    dashboard_args,
    gauge_colors,
    db_alert,
    line_pixels,
    module_graph,
    page_files,
    post,
    seed_fleet,
    shot,
    write_alerts,
    write_config,
)



def fmt(value: float) -> str:
    """The page's number format: one decimal, none when it is zero."""
    rounded = round(value, 1)
    return str(int(rounded)) if rounded == int(rounded) else str(rounded)


# MARK: - fixtures


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


class Pages:
    """Opens pages in fresh browser contexts and fails the test on any script error."""

    def __init__(self, browser: Any) -> None:
        self.browser = browser
        self.contexts: list[Any] = []
        self.errors: list[str] = []

    def open(self, url: str | None = None, wait_ready: bool = True, **context: Any) -> Any:
        options = {"viewport": {"width": 1280, "height": 900}, **context}
        ctx = self.browser.new_context(**options)
        self.contexts.append(ctx)
        page = ctx.new_page()
        page.set_default_timeout(UI_TIMEOUT)
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        if url:
            page.goto(url)
            if wait_ready:
                wait_ready_page(page)
        return page

    def close(self) -> None:
        for ctx in self.contexts:
            ctx.close()


@pytest.fixture
def pages(browser: Any) -> Iterator[Pages]:
    p = Pages(browser)
    yield p
    p.close()
    assert not p.errors, f"script errors in the page: {p.errors}"


def wait_ready_page(page: Any) -> None:
    page.wait_for_function("window.__lookoutReady === true", timeout=UI_TIMEOUT)


@pytest.fixture(scope="module")
def fleet_hub(lookout_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """One hub with the scenario fleet, 24 h of history, one active alert and web-1's traffic
    allowance, shared by the tests that only read."""
    folder = tmp_path_factory.mktemp("dashboard")
    hub = Hub(lookout_bin, folder, dashboard_args(config=write_config(folder, TRAFFIC_CONFIG)), name="fleet")
    hub.start()
    try:
        now = seed_fleet(hub)
        write_alerts(hub.data, [db_alert(now)])
        yield hub
    finally:
        hub.kill()


def card(page: Any, vm: str) -> Any:
    return page.locator(f'.card[data-vm="{vm}"]')


def assert_not_injected(page: Any) -> None:
    assert page.evaluate("window.__xss") is None, "an API string ran as HTML"
    assert page.locator('img[src="x"]').count() == 0


# MARK: - overview


def test_overview_shows_every_vm_with_its_figures_and_state(fleet_hub: Hub, pages: Pages) -> None:
    page = pages.open(fleet_hub.url("/"))
    assert page.locator(".card").count() == 4
    for vm, figures in FLEET.items():
        c = card(page, vm)
        assert c.get_attribute("data-status") == EXPECTED_STATUS[vm], vm
        for metric, label in (("cpu", "CPU"), ("memory", "Memory"), ("disk", "Disk")):
            gauge = c.locator(f'.gauge[data-metric="{metric}"]')
            assert gauge.locator(".num").inner_text() == fmt(figures[metric]), (vm, metric)
            assert gauge.get_attribute("role") == "img"
            assert gauge.get_attribute("aria-label").startswith(f"{label} {fmt(figures[metric])} %"), (vm, metric)
        load = c.locator(".f-load").inner_text()
        assert load == f"{figures['load1']:.2f} · {figures['load5']:.2f} · {figures['load15']:.2f}", vm

    # The worst VM comes first and says why.
    assert page.locator(".card").first.get_attribute("data-vm") == "db-1"
    db = card(page, "db-1")
    assert db.locator(".badge").inner_text() == "CRITICAL"
    assert "disk 93.4%, critical at 90%" in db.locator(".problems").inner_text()
    disk = db.locator('.gauge[data-metric="disk"]')
    assert disk.get_attribute("data-level") == "critical"
    assert disk.get_attribute("aria-label") == "Disk 93.4 % (critical)"
    db_gauges = gauge_colors(page, '.card[data-vm="db-1"]')
    db_disk, db_cpu = db_gauges["disk"], db_gauges["cpu"]
    assert db_disk["red"] > 5 * max(1, db_disk["green"]), db_disk
    assert db_cpu["green"] > 5 * max(1, db_cpu["red"]), db_cpu
    assert db.locator(".f-uptime").inner_text() == "14 days"
    assert db.locator(".f-containers").inner_text() == "3 (1 not running)"
    assert db.locator(".f-checks").inner_text() == "1 of 2 failing"

    mail = card(page, "mail-1")
    assert mail.locator('.gauge[data-metric="memory"]').get_attribute("data-level") == "warning"
    mail_memory = gauge_colors(page, '.card[data-vm="mail-1"]')["memory"]
    assert mail_memory["amber"] > 5 * max(1, mail_memory["red"] + mail_memory["green"]), mail_memory

    stale = card(page, "backup-1")
    badge = stale.locator(".badge").inner_text()
    assert re.fullmatch(r"STALE — no report for 4[2-4] min", badge), badge
    assert stale.locator(".f-seen").inner_text().endswith("min ago")
    assert {stale.locator(f'.gauge[data-metric="{m}"]').get_attribute("data-level") for m in ("cpu", "memory", "disk")} == {"stale"}
    grey = gauge_colors(page, '.card[data-vm="backup-1"]').values()
    assert all(g["red"] + g["amber"] + g["green"] == 0 and g["grey"] > 100 for g in grey), grey

    assert card(page, "web-1").locator(".badge").inner_text() == "OK"
    assert re.fullmatch(r"just now|\d+ s ago|[1-3] min ago", card(page, "web-1").locator(".f-seen").inner_text())

    # Header: one dot for the fleet, the counts, the time of the update.
    assert page.locator("#fleet-dot").get_attribute("data-status") == "critical"
    assert page.locator("#fleet-counts").inner_text().split() == ["1", "critical", "1", "stale", "1", "warning", "1", "ok"]
    assert re.fullmatch(r"Updated \d\d:\d\d:\d\d", page.locator("#updated").inner_text())
    assert page.locator("#alert-count").inner_text() == "1"

    # Hostile strings from the API are shown as text, never parsed as HTML.
    assert HOSTILE in db.locator(".problems").inner_text()
    assert_not_injected(page)

    # Every gauge canvas is drawn at the device's pixel ratio.
    sizes = page.evaluate("[...document.querySelectorAll('.gauges canvas')].map(c => [c.width, c.clientWidth])")
    assert len(sizes) == 4 and all(abs(w - cw) <= 1 and w > 150 for w, cw in sizes), sizes
    shot(page, "overview")


def test_overview_at_phone_width_and_high_dpi(fleet_hub: Hub, pages: Pages) -> None:
    page = pages.open(fleet_hub.url("/"), viewport={"width": 360, "height": 780}, device_scale_factor=2)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360, "the page scrolls sideways at 360 px"
    # Gauges are drawn as their cards come near the screen, at twice the CSS size.
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.wait_for_function("[...document.querySelectorAll('.gauges canvas')].every(c => c.clientWidth > 150 && Math.abs(c.width - 2 * c.clientWidth) <= 1)")
    sizes = page.evaluate("[...document.querySelectorAll('.gauges canvas')].map(c => [c.width, c.clientWidth])")
    assert len(sizes) == 4 and all(abs(w - 2 * cw) <= 1 for w, cw in sizes), str(sizes)
    page.evaluate("window.scrollTo(0, 0)")
    assert card(page, "db-1").get_attribute("data-status") == "critical"
    shot(page, "overview-360")


def test_dark_scheme(fleet_hub: Hub, pages: Pages) -> None:
    page = pages.open(fleet_hub.url("/"), color_scheme="dark")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    channels = [int(x) for x in re.findall(r"\d+", background)[:3]]
    assert max(channels) < 60, background
    disk = gauge_colors(page, '.card[data-vm="db-1"]')["disk"]
    assert disk["red"] > 5 * max(1, disk["green"]), disk
    shot(page, "overview-dark")


# MARK: - navigation


def visible_view(page: Any) -> str:
    return page.evaluate("[...document.querySelectorAll('main > .view')].filter(v => !v.hidden).map(v => v.id).join()")


def wait_view(page: Any, hash: str, view: str) -> None:
    """Waits until the URL has `hash` and the page shows `view` (hashchange is async)."""
    page.wait_for_function(
        "([hash, view]) => location.hash === hash && !document.getElementById(view).hidden", arg=[hash, view]
    )
    assert visible_view(page) == view


def test_views_switch_by_click_keyboard_and_hash(fleet_hub: Hub, pages: Pages) -> None:
    page = pages.open(fleet_hub.url("/"))
    assert visible_view(page) == "view-overview"

    page.click('.tabs a[data-view="services"]')
    wait_view(page, "#services", "view-services")
    assert page.locator('.tabs a[aria-current="page"]').inner_text() == "Services"

    page.click('.tabs a[data-view="alerts"]')
    wait_view(page, "#alerts", "view-alerts")

    # Keyboard: the tabs are links, reachable and followed with Enter.
    page.focus('.tabs a[data-view="overview"]')
    page.keyboard.press("Enter")
    wait_view(page, "#overview", "view-overview")

    # A click anywhere on a card opens its VM.
    mail = card(page, "mail-1")
    box = mail.bounding_box()
    mail.click(position={"x": box["width"] / 2, "y": box["height"] - 20})
    wait_view(page, "#vm/mail-1", "view-vm")
    assert page.locator("#vm-title").inner_text() == "mail-1"

    page.go_back()
    wait_view(page, "#overview", "view-overview")

    # Typed or bookmarked hashes.
    page.evaluate("location.hash = '#vm/db-1'")
    page.wait_for_function("document.getElementById('vm-title')?.textContent === 'db-1'")
    assert visible_view(page) == "view-vm"
    page.goto(fleet_hub.url("/#services"))
    wait_ready_page(page)
    assert visible_view(page) == "view-services"
    page.goto(fleet_hub.url("/#alerts"))
    wait_ready_page(page)
    assert visible_view(page) == "view-alerts"
    page.goto(fleet_hub.url("/#vm/nonexistent-vm"))
    wait_ready_page(page)
    assert "No VM called “nonexistent-vm”" in page.locator("#view-vm").inner_text()


# MARK: - detail


def test_detail_draws_history_charts_and_lists_containers(fleet_hub: Hub, pages: Pages) -> None:
    page = pages.open(fleet_hub.url("/#vm/db-1"))
    page.wait_for_function(
        "document.querySelectorAll('.chart[data-drawn=\"true\"]').length === 4", timeout=UI_TIMEOUT
    )
    assert page.locator(".detail-head").get_attribute("data-status") == "critical"
    ink = canvas_ink(page, ".chart canvas")
    assert len(ink) == 4 and all(n > 500 for n in ink), ink
    assert page.locator('.gauge[data-metric="disk"] .num').inner_text() == "93.4"
    # The disk line crosses the critical threshold: part of it is drawn red.
    [disk_chart] = canvas_colors(page, '.chart[data-chart="disk"] canvas')
    assert disk_chart["red"] > 100, disk_chart
    labels = page.evaluate("[...document.querySelectorAll('.chart canvas')].map(c => c.getAttribute('aria-label'))")
    assert all("over the last 24 h" in label for label in labels), labels

    # Hover readout.
    cpu = page.locator('.chart[data-chart="cpu"] canvas')
    assert page.locator('.chart[data-chart="cpu"] .readout').inner_text().startswith("latest 37.8 %")
    box = cpu.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    page.wait_for_function(
        "/\\d\\d:\\d\\d\\s+\\d/.test(document.querySelector('.chart[data-chart=\"cpu\"] .readout').textContent)"
    )
    # The same readout from the keyboard.
    page.focus('.chart[data-chart="memory"] canvas')
    page.keyboard.press("Home")
    assert re.search(r"\d\d:\d\d\s+\d+(\.\d)? %", page.locator('.chart[data-chart="memory"] .readout').inner_text())

    # Containers, worst first, names as text.
    rows = page.locator(".containers tbody tr")
    assert rows.count() == 3
    names = [rows.nth(i).locator("td").first.inner_text() for i in range(3)]
    assert names[0] == "pgbackup" and set(names) == {"pgbackup", "postgres", HOSTILE}
    assert rows.nth(0).locator(".pill").inner_text() == "exited"
    assert "402 MB" in page.locator(".containers").inner_text()
    # Service checks of this VM.
    checks = page.locator("#view-vm table.services tbody tr")
    assert checks.count() == 2
    assert checks.nth(0).locator(".pill").inner_text() == "failing"
    assert_not_injected(page)
    shot(page, "detail")

    # The range toggle is bookmarkable and redraws.
    page.click('.seg button[data-range="7d"]')
    page.wait_for_function("location.hash === '#vm/db-1/7d'")
    assert page.locator('.seg button[data-range="7d"]').get_attribute("aria-pressed") == "true"
    page.wait_for_function(
        "[...document.querySelectorAll('.chart canvas')].every(c => c.getAttribute('aria-label').includes('7 days'))"
    )
    assert all(n > 500 for n in canvas_ink(page, ".chart canvas"))


# MARK: - network, disk I/O, swap, filesystems, temperatures, reboots, traffic (issue 11)


def visible_facts(scope: Any) -> list[str]:
    """The labels of the facts shown (not hidden) in `scope`."""
    return scope.evaluate("(el) => [...el.querySelectorAll('.facts > div')].filter(d => !d.hidden).map(d => d.querySelector('dt').textContent)")


def test_cards_show_network_swap_and_reboots_only_when_the_agent_sends_them(fleet_hub: Hub, pages: Pages) -> None:
    page = pages.open(fleet_hub.url("/"))
    web = card(page, "web-1")
    assert web.locator(".f-net").inner_text() == "1.2 MB/s ↓ 80 KB/s ↑"
    assert web.locator(".f-net").get_attribute("title") == "received 1.2 MB/s, sent 80 KB/s"
    assert web.locator(".f-swap").inner_text() == "12 %"
    assert web.locator(".f-swap").get_attribute("data-level") is None
    assert visible_facts(web) == ["Load", "Network", "Uptime", "Swap", "Containers", "Checks", "Last seen"]
    assert web.locator(".reboot").is_hidden()

    mail = card(page, "mail-1")
    assert mail.locator(".f-net").inner_text() == "512 B/s ↓ 2.5 MB/s ↑"
    # 63 % of swap is above the default warning threshold (50).
    assert mail.locator(".f-swap").inner_text() == "63 %"
    assert mail.locator(".f-swap").get_attribute("data-level") == "warning"
    # Up 12 minutes when it reported 20 s ago.
    reboot = mail.locator(".reboot").inner_text()
    assert re.fullmatch(r"rebooted 1[2-4] min ago", reboot), reboot

    # An older agent's VM looks as it always did: no empty rows, no dashes.
    for vm in ("db-1", "backup-1"):
        assert visible_facts(card(page, vm)) == ["Load", "Uptime", "Containers", "Checks", "Last seen"], vm
    # backup-1 was up 30 minutes when it fell silent 42 minutes ago: over an hour since boot.
    assert card(page, "backup-1").locator(".reboot").is_hidden()
    assert card(page, "db-1").locator(".reboot").is_hidden()
    assert_not_injected(page)


def wait_charts(page: Any, count: int, drawn: bool = True) -> None:
    """Waits until the VM view has `count` charts, each with its history drawn (`drawn`) or
    at least loaded (drawn or "no history")."""
    page.wait_for_function(
        """([n, drawn]) => document.querySelectorAll('.chart').length === n
            && [...document.querySelectorAll('.chart')].every(c => drawn ? c.dataset.drawn === 'true' : c.dataset.drawn && c.dataset.drawn !== 'loading')""",
        arg=[count, drawn], timeout=UI_TIMEOUT,
    )


def chart_keys(page: Any) -> list[str]:
    return page.evaluate("[...document.querySelectorAll('.chart')].map(c => c.dataset.chart)")


NEW_CHARTS = ["network", "disk_io", "disk_util", "swap", "fs:/srv/backup", "temperatures"]


def test_vm_view_draws_the_new_charts_lists_filesystems_and_sensors(fleet_hub: Hub, pages: Pages) -> None:
    page = pages.open(fleet_hub.url("/#vm/web-1"))
    wait_charts(page, 10)
    assert chart_keys(page) == ["cpu", "memory", "disk", "load", *NEW_CHARTS]
    ink = canvas_ink(page, ".chart canvas")
    assert all(n > 500 for n in ink), ink

    # Network: received and sent on one chart, two lines in their two colours, a legend.
    net = '.chart[data-chart="network"]'
    assert page.locator(net).get_attribute("data-lines") == "2"
    rx, tx = line_pixels(page, f"{net} canvas", ["--line", "--line2"])
    assert rx > 300 and tx > 300, (rx, tx)
    assert page.locator(f"{net} .legend").inner_text().split("\n") == ["↓ received", "↑ sent"]
    assert page.locator(f"{net} .readout").inner_text() == "latest ↓ received 1.2 MB/s · ↑ sent 80 KB/s"
    label = page.locator(f"{net} canvas").get_attribute("aria-label")
    assert re.fullmatch(r"Network over the last 24 h: ↓ received average \S+ [KM]B/s, peak \S+ [KM]B/s, "
                        r"latest ↓ received 1\.2 MB/s · ↑ sent 80 KB/s", label), label
    assert page.locator('.chart[data-chart="disk_io"]').get_attribute("data-lines") == "2"
    assert page.locator('.chart[data-chart="temperatures"]').get_attribute("data-lines") == "2"
    # Sensors (and filesystems) by name, whether the hub lists them or the document does.
    assert page.locator('.chart[data-chart="temperatures"] .legend').inner_text().split("\n") == [
        "acpitz temp1", "coretemp package_id_0"]
    # Percent charts carry their thresholds: swap 50 / 80 by default, each filesystem the disk's.
    for key, limits in (("swap", (50, 80)), ("fs:/srv/backup", (80, 90))):
        [colours] = canvas_colors(page, f'.chart[data-chart="{key}"] canvas')
        assert colours["amber"] > 50 and colours["red"] > 50, (key, colours)
        label = page.locator(f'.chart[data-chart="{key}"] canvas').get_attribute("aria-label")
        assert "over the last 24 h" in label, label
    assert page.locator('.chart[data-chart="fs:/srv/backup"] figcaption').inner_text().startswith("Filesystem /srv/backup (%)")

    # Facts, the filesystem list with its bars, the sensors and interfaces as they read now.
    assert page.locator("#view-vm .f-swap").inner_text() == "123 of 1024 MB (12 %)"
    assert page.locator("#view-vm .f-io").inner_text() == "vda: 41 KB/s read · 205 KB/s written · 3.1 % busy"
    rows = page.locator("table.filesystems tbody tr")
    assert rows.count() == 2
    cells = [c.strip() for c in rows.nth(1).locator("td").all_inner_texts()]
    assert cells == ["/srv/backup", "/dev/vdb", "xfs", "62 of 100 GB", "62 %"], cells
    bar = rows.nth(1).locator(".pbar")
    assert bar.get_attribute("data-level") == "ok"
    assert bar.locator(".pbar-fill").evaluate("(el) => el.style.width") == "62%"
    temps = [[c.strip() for c in r.locator("td").all_inner_texts()] for r in page.locator("table.temperatures tbody tr").all()]
    assert temps == [["coretemp package_id_0", "48 °C"], ["acpitz temp1", "41.5 °C"]], temps
    iface = [c.strip() for c in page.locator("table.interfaces tbody tr").first.locator("td").all_inner_texts()]
    assert iface[:3] == ["eth0", "1.2 MB/s", "80 KB/s"], iface
    assert page.locator("#view-vm .reboot").is_hidden()
    shot(page, "detail-extras")

    # The other ranges draw the same charts.
    page.click('.seg button[data-range="7d"]')
    page.wait_for_function(
        "[...document.querySelectorAll('.chart canvas')].every(c => c.getAttribute('aria-label').includes('7 days'))"
    )
    assert chart_keys(page) == ["cpu", "memory", "disk", "load", *NEW_CHARTS]


def test_configured_thresholds_reach_the_new_charts_and_lists(start_hub: Any, pages: Pages, tmp_path: Path) -> None:
    """Thresholds the config sets, as GET /api/monitoring/config gives them: temperatures
    (off unless set) and swap; the sensor list, the swap fact and the charts follow them."""
    config = {"monitoring": {"thresholds": {"temperature": {"warning": 45, "critical": 70},
                                            "swap": {"warning": 5, "critical": 10}}}}
    hub = start_hub(*dashboard_args(config=write_config(tmp_path / "config", config)))
    seed_fleet(hub, history_hours=2)
    page = pages.open(hub.url("/#vm/web-1"))
    wait_charts(page, 10)
    # 48 °C is above the warning at 45, 41.5 °C below it.
    rows = page.locator("table.temperatures tbody tr")
    assert [rows.nth(i).get_attribute("data-level") for i in range(2)] == ["warning", None]
    warn, crit = line_pixels(page, '.chart[data-chart="temperatures"] canvas', ["--warn", "--crit"])
    assert warn > 50 and crit > 50, (warn, crit)
    # 12 % of swap is above the critical threshold at 10.
    assert page.locator("#view-vm .f-swap").get_attribute("data-level") == "critical"
    label = page.locator('.chart[data-chart="swap"] canvas').get_attribute("aria-label")
    assert "latest 12 %" in label, label


def test_temperatures_draw_no_threshold_unless_configured(fleet_hub: Hub, pages: Pages) -> None:
    page = pages.open(fleet_hub.url("/#vm/web-1"))
    wait_charts(page, 10)
    warn, crit = line_pixels(page, '.chart[data-chart="temperatures"] canvas', ["--warn", "--crit"])
    assert warn == 0 and crit == 0, (warn, crit)
    assert page.locator('table.temperatures tbody tr[data-level]').count() == 0


def test_vm_view_falls_back_to_the_document_when_the_series_list_fails(fleet_hub: Hub, pages: Pages) -> None:
    page = pages.open()
    page.route("**/api/monitoring/history/web-1/series", lambda route: route.fulfill(
        status=500, content_type="application/json", body='{"error":"boom"}'))
    page.goto(fleet_hub.url("/#vm/web-1"))
    wait_ready_page(page)
    wait_charts(page, 10, drawn=False)
    assert chart_keys(page) == ["cpu", "memory", "disk", "load", *NEW_CHARTS]
    assert page.locator("#banner").is_hidden()


def test_vm_view_with_every_section_at_phone_width(fleet_hub: Hub, pages: Pages) -> None:
    page = pages.open(fleet_hub.url("/#vm/mail-1"), viewport={"width": 360, "height": 780})
    wait_charts(page, 10, drawn=False)
    page.locator("table.filesystems").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360, "the VM view scrolls sideways at 360 px"
    shot(page, "detail-extras-360")


def test_vm_view_of_an_older_agent_looks_as_before(fleet_hub: Hub, pages: Pages) -> None:
    page = pages.open(fleet_hub.url("/#vm/db-1"))
    wait_charts(page, 4)
    assert chart_keys(page) == ["cpu", "memory", "disk", "load"]
    assert page.evaluate("[...document.querySelectorAll('#view-vm section.extra')].every(s => s.hidden)")
    assert visible_facts(page.locator("#view-vm")) == [
        "Load 1 · 5 · 15 min", "Uptime", "CPU cores", "Memory", "Disk", "Containers", "Checks", "Last report"]
    assert page.locator("#view-vm .reboot").is_hidden()


def test_vm_view_shows_a_reboot_and_hostile_names_as_text(fleet_hub: Hub, pages: Pages) -> None:
    page = pages.open(fleet_hub.url("/#vm/mail-1"))
    wait_charts(page, 10, drawn=False)
    assert re.fullmatch(r"rebooted 1[2-4] min ago", page.locator("#view-vm .reboot").inner_text())
    assert page.locator("table.interfaces tbody td").first.inner_text() == HOSTILE
    fs = page.locator("table.filesystems tbody tr").nth(1)
    cells = [c.strip() for c in fs.locator("td").all_inner_texts()]
    assert cells[:2] == [f"/srv/{HOSTILE}", HOSTILE], cells
    # 84 % of a filesystem is above the disk warning threshold (80).
    assert fs.get_attribute("data-level") == "warning"
    assert page.locator("table.temperatures tbody td").first.inner_text() == HOSTILE
    assert page.locator('.chart[data-chart="temperatures"] .legend').inner_text() == HOSTILE
    captions = page.evaluate("[...document.querySelectorAll('.chart')].map(c => [c.dataset.chart, c.querySelector('figcaption span').textContent])")
    assert [f"fs:/srv/{HOSTILE}", f"Filesystem /srv/{HOSTILE} (%)"] in captions, captions
    assert page.locator("#view-vm .f-io").inner_text().startswith(f"{HOSTILE}: ")
    assert_not_injected(page)


def traffic_row(vm: str, **fields: Any) -> dict[str, Any]:
    row = {"vm_id": vm, "period_start": "2026-12-01T00:00:00Z", "period_end": "2027-01-01T00:00:00Z",
           "rx_bytes": 3_400_000_000, "tx_bytes": 12_000_000_000, "used_bytes": 12_000_000_000,
           "allowance_bytes": None, "direction": "tx", "projected_bytes": 26_000_000_000, "projected_exhaustion": None}
    return row | fields


def serve_traffic(page: Any, status: int, body: Any) -> None:
    page.route("**/api/monitoring/traffic", lambda route: route.fulfill(
        status=status, content_type="application/json", body=json.dumps(body)))


def test_traffic_allowance_bar_with_projection(fleet_hub: Hub, pages: Pages) -> None:
    """The page against the JSON contract of GET /api/monitoring/traffic."""
    rows = [traffic_row("web-1", allowance_bytes=20e9, projected_exhaustion="2026-12-19T06:00:00Z"),
            traffic_row("mail-1", used_bytes=12e9, projected_bytes=26e9)]
    page = pages.open()
    serve_traffic(page, 200, {"vms": rows})
    page.goto(fleet_hub.url("/#vm/web-1"))
    wait_ready_page(page)
    allowance = page.locator("section.traffic .allowance")
    allowance.wait_for()
    # 12 of 20 GB used (60 %), 26 GB projected: the projection runs past the allowance.
    assert allowance.get_attribute("data-used") == "60"
    assert allowance.get_attribute("data-projected") == "130"
    assert allowance.get_attribute("data-level") == "warning"
    text = allowance.locator(".allowance-text").inner_text()
    assert re.fullmatch(r"12 GB of 20 GB sent \(60 %\); at this rate it runs out on (19 Dec|Dec 19)", text), text
    assert page.locator(".tbar").get_attribute("aria-label") == text
    # On a scale of the projection (26 GB): used to 46.2 %, the allowance mark at 76.9 %.
    assert page.locator(".tbar-used").evaluate("(el) => el.style.width") == "46.2%"
    assert page.locator(".tbar-limit").evaluate("(el) => el.style.left") == "76.9%"
    assert page.locator(".tbar-proj").get_attribute("data-over") == ""
    totals = page.locator("section.traffic .traffic-totals").inner_text()
    assert re.fullmatch(r"3.4 GB received · 12 GB sent since (1 Dec|Dec 1); the month resets on (1 Jan|Jan 1) \(UTC\)", totals), totals
    shot(page, "detail-traffic", full_page=False)

    # A VM without an allowance: its month's totals, no bar.
    page.evaluate("location.hash = '#vm/mail-1'")
    page.wait_for_function("document.getElementById('vm-title')?.textContent === 'mail-1'")
    page.locator("section.traffic .traffic-totals").wait_for()
    assert page.locator("section.traffic .allowance").count() == 0
    assert page.locator("section.traffic").is_visible()

    # A VM the answer does not list: no section.
    assert page.evaluate("window.__lookoutStats.trafficLoads") > 0
    page.evaluate("location.hash = '#vm/db-1'")
    page.wait_for_function("document.getElementById('vm-title')?.textContent === 'db-1'")
    assert page.locator("section.traffic").is_hidden()


@pytest.mark.parametrize("fields,level,used,projected,over,text,mark", [
    (dict(used_bytes=4e9, projected_bytes=10e9), "ok", "20", "50", None,
     r"4 GB of 20 GB sent \(20 %\); at this rate 10 GB by (1 Jan|Jan 1)", "100%"),
    (dict(used_bytes=17e9, projected_bytes=19.5e9, direction="rx"), "warning", "85", "97.5", None,
     r"17 GB of 20 GB received \(85 %\); at this rate 19.5 GB by (1 Jan|Jan 1)", "100%"),
    (dict(used_bytes=21e9, projected_bytes=30e9, direction="both", projected_exhaustion="2026-12-28T10:00:00Z"),
     "critical", "105", "150", "", r"21 GB of 20 GB sent and received \(105 %\); at this rate it runs out on (28 Dec|Dec 28)",
     "66.7%"),
    # Ten times over: the scale stops at twice the allowance, the mark at the middle.
    (dict(used_bytes=2e9, projected_bytes=200e9, projected_exhaustion="2026-12-04T00:00:00Z"), "warning", "10", "1000", "",
     r"2 GB of 20 GB sent \(10 %\); at this rate it runs out on (4 Dec|Dec 4)", "50%"),
], ids=["within", "near", "over", "far-over"])
def test_traffic_allowance_levels(fleet_hub: Hub, pages: Pages, fields: dict[str, Any], level: str, used: str,
                                  projected: str, over: str | None, text: str, mark: str) -> None:
    page = pages.open()
    serve_traffic(page, 200, {"vms": [traffic_row("web-1", allowance_bytes=20e9, **fields)]})
    page.goto(fleet_hub.url("/#vm/web-1"))
    allowance = page.locator("section.traffic .allowance")
    allowance.wait_for()
    assert (allowance.get_attribute("data-level"), allowance.get_attribute("data-used"),
            allowance.get_attribute("data-projected")) == (level, used, projected)
    assert page.locator(".tbar-proj").get_attribute("data-over") == over
    assert page.locator(".tbar-limit").evaluate("(el) => el.style.left") == mark
    shown = allowance.locator(".allowance-text").inner_text()
    assert re.fullmatch(text, shown), shown


@pytest.mark.parametrize("status", [404, 500])
def test_traffic_section_is_hidden_without_the_route(fleet_hub: Hub, pages: Pages, status: int) -> None:
    page = pages.open()
    serve_traffic(page, status, {"error": "Not found" if status == 404 else "boom"})
    page.goto(fleet_hub.url("/#vm/web-1"))
    wait_ready_page(page)
    page.wait_for_function("window.__lookoutStats.trafficLoads > 0")
    assert page.locator("section.traffic").is_hidden()
    assert page.locator("#banner").is_hidden()


def serve_forecast(page: Any, status: int, body: Any) -> None:
    page.route("**/api/monitoring/forecast", lambda route: route.fulfill(
        status=status, content_type="application/json", body=json.dumps(body)))


FORECAST = {"generated_at": "2026-12-01T10:00:00Z", "window_days": 3, "warning_days": 7, "filesystems": [
    {"vm_id": "db-1", "path": "/", "points": 72, "percent_per_day": 4.2, "gb_per_day": 2.1,
     "full_at": "2026-12-06T10:00:00Z", "days_left": 5.0, "warning": True, "reason": None},
    {"vm_id": "db-1", "path": "/srv", "points": 72, "percent_per_day": -0.5, "gb_per_day": None,
     "full_at": None, "days_left": None, "warning": False, "reason": "not_growing"},
    {"vm_id": "db-1", "path": "/var", "points": 6, "percent_per_day": None, "gb_per_day": None,
     "full_at": None, "days_left": None, "warning": False, "reason": "too_few_points"},
    {"vm_id": "web-1", "path": "/", "points": 72, "percent_per_day": 0.5, "gb_per_day": 0.2,
     "full_at": "2027-01-30T10:00:00Z", "days_left": 60.0, "warning": False, "reason": None},
]}


def test_forecast_on_the_card_and_in_the_vm_view(fleet_hub: Hub, pages: Pages) -> None:
    """The page against the JSON contract of GET /api/monitoring/forecast."""
    page = pages.open()
    serve_forecast(page, 200, FORECAST)
    page.goto(fleet_hub.url("/#overview"))
    wait_ready_page(page)
    line = card(page, "db-1").locator(".forecast")
    line.wait_for()
    assert line.inner_text() == "disk / full in ~5 days (+2.1 GB/day)"
    # No warning, no line.
    assert card(page, "web-1").locator(".forecast").is_hidden()

    page.evaluate("location.hash = '#vm/db-1'")
    page.wait_for_function("document.getElementById('vm-title')?.textContent === 'db-1'")
    section = page.locator("section.forecast")
    section.wait_for()
    rows = [[c.strip() for c in r.split("\t")] for r in section.locator("tbody tr").all_inner_texts()]
    assert rows[0][:2] == ["/", "+2.1 GB/day"] and re.fullmatch(r"in ~5 days, (6 Dec|Dec 6)", rows[0][2]), rows
    assert rows[1:] == [["/srv", "-0.5 %/day", "not growing"], ["/var", "–", "under 12 hours of history"]]
    assert section.locator("tbody tr").first.get_attribute("data-level") == "warning"
    assert page.locator("#view-vm p.forecast").inner_text() == "disk / full in ~5 days (+2.1 GB/day)"
    shot(page, "detail-forecast", full_page=False)


@pytest.mark.parametrize("status", [404, 500])
def test_no_forecast_without_the_route(fleet_hub: Hub, pages: Pages, status: int) -> None:
    page = pages.open()
    serve_forecast(page, status, {"error": "Not found" if status == 404 else "boom"})
    page.goto(fleet_hub.url("/#vm/web-1"))
    wait_ready_page(page)
    page.locator("section.filesystems").wait_for()
    page.wait_for_function("window.__lookoutStats.forecastLoads > 0")
    assert page.locator("section.forecast").is_hidden()
    assert page.locator("#banner").is_hidden()


def test_traffic_of_the_real_hub(fleet_hub: Hub, pages: Pages) -> None:
    """The hub's own GET /api/monitoring/traffic, summed from the fleet's byte counters."""
    answer = {r["vm_id"]: r for r in fleet_hub.get_json("/api/monitoring/traffic")["vms"]}
    web = answer["web-1"]
    assert web["allowance_bytes"] == 20e9 and web["direction"] == "tx", web
    assert answer["mail-1"]["allowance_bytes"] is None
    page = pages.open(fleet_hub.url("/#vm/web-1"))
    allowance = page.locator("section.traffic .allowance")
    allowance.wait_for()
    used = web["used_bytes"] / web["allowance_bytes"] * 100
    assert abs(float(allowance.get_attribute("data-used")) - used) <= 0.05, (allowance.get_attribute("data-used"), web)
    assert web["tx_bytes"] > 0 and web["used_bytes"] == web["tx_bytes"], web
    # The projection falls as the month goes on: the page asked a moment after the test.
    projected = max(used, web["projected_bytes"] / web["allowance_bytes"] * 100)
    assert abs(float(allowance.get_attribute("data-projected")) - projected) <= max(0.05, projected / 100), web
    # mail-1 has no allowance: its month's totals only.
    page.evaluate("location.hash = '#vm/mail-1'")
    page.locator("section.traffic .traffic-totals").wait_for()
    assert page.locator("section.traffic .allowance").count() == 0


# MARK: - services and alerts


def test_services_view_lists_every_check(fleet_hub: Hub, pages: Pages) -> None:
    page = pages.open(fleet_hub.url("/#services"))
    rows = page.locator("#services-body tbody tr")
    assert rows.count() == 4
    first = rows.nth(0)
    assert first.get_attribute("data-level") == "critical"
    text = first.inner_text()
    assert "admin" in text and "db-1" in text and "failing" in text and "2000 ms" in text and HOSTILE in text
    assert "4 checks on 3 VMs · 1 failing" in page.locator("#services-summary").inner_text()
    healthy = [rows.nth(i).locator(".pill").inner_text() for i in range(1, 4)]
    assert healthy == ["healthy"] * 3
    assert_not_injected(page)
    shot(page, "services")


def test_services_view_shows_certificate_days_left(start_hub: Any, pages: Pages, tmp_path: Path) -> None:
    """Issue 12: days left on each check's certificate, counted on the hub's clock and
    coloured as the cert alert would be (web-1 overrides the warning level to 30 days)."""
    config = write_config(tmp_path / "cfg", {
        "monitoring": {"overrides": {"web-1": {"certificates": {"warning_days": 30, "critical_days": 3}}}}})
    hub = start_hub(*dashboard_args(config=config))
    now = time.time()

    def check(check_id: str, days: float | None) -> dict[str, Any]:
        service: dict[str, Any] = {"id": check_id, "healthy": True, "response_ms": 12}
        if days is not None:
            service.update(cert_expires_at=iso(now + days * 86400), cert_days_left=int(days),
                           cert_issuer="R11, Let's Encrypt", cert_host=f"{check_id}.example.com")
        return service
    post(hub, make_doc("web-1", now - 5, services=[check("mail", 2.5), check("site", 20.5), check("db", None)]))
    post(hub, make_doc("api-1", now - 5, services=[check("api", 20.5)]))
    page = pages.open(hub.url("/#services"))
    rows = page.locator("#services-body tbody tr")
    assert rows.count() == 4
    headers = page.locator("#services-body thead th").all_text_contents()
    assert "Certificate" in headers, headers
    column = headers.index("Certificate")
    cells = {}
    for i in range(4):
        tds = rows.nth(i).locator("td")
        pill = tds.nth(column).locator(".pill")
        cells[tds.nth(0).inner_text().strip()] = (
            (pill.inner_text(), pill.get_attribute("data-level")) if pill.count() else tds.nth(column).inner_text())
    assert cells == {
        "mail": ("2 days left", "critical"), "site": ("20 days left", "warning"),
        "api": ("20 days left", "ok"), "db": "–"}, cells
    title = rows.locator("td span[title]").first.get_attribute("title")
    assert "issuer R11, Let's Encrypt" in title and "example.com" in title, title


def test_alerts_view_shows_the_hubs_alerts(fleet_hub: Hub, pages: Pages) -> None:
    page = pages.open(fleet_hub.url("/#alerts"))
    rows = page.locator("#alerts-body table.alerts tbody tr")
    assert rows.count() == 1
    cells = [c.strip() for c in rows.nth(0).locator("td").all_inner_texts()]
    assert cells[:5] == ["db-1", "disk", "disk 93.4%, critical at 90%", "93.4 %", "90 %"], cells
    assert re.fullmatch(r"2[5-7] min", cells[5]), cells
    assert rows.nth(0).get_attribute("data-level") == "critical"
    assert page.locator('#alerts-body h2.sev-head[data-level="critical"]').count() == 1
    assert page.locator("#alerts-summary").inner_text() == "1 active · 1 critical · 0 warning"
    assert "No resolved alerts recorded." in page.locator("#alerts-body").inner_text()
    assert page.locator("#alert-count").inner_text() == "1"
    shot(page, "alerts")

    # A hub without alert history answers 404: that is "no history", said quietly.
    page = pages.open()
    page.route("**/api/monitoring/alerts/history*", lambda route: route.fulfill(
        status=404, content_type="application/json", body='{"error":"Not found"}'))
    page.goto(fleet_hub.url("/#alerts"))
    wait_ready_page(page)
    assert page.locator("#alerts-body table.alerts tbody tr").count() == 1
    assert "No resolved alerts recorded." in page.locator("#alerts-body").inner_text()
    assert page.locator("#banner").is_hidden()
    assert page.locator("#fleet-dot").get_attribute("data-status") == "critical"


def test_alerts_view_shows_the_new_kinds_in_their_units(start_hub: Any, pages: Pages) -> None:
    """Alerts of issue 11 as alerts.json holds them: kind, the metric (mount point, sensor),
    a value in the kind's unit (percent, °C, bytes, an uptime)."""
    hub = start_hub(*dashboard_args())
    now = time.time()
    post(hub, make_doc("web-1", now - 5))

    def alert(kind: str, metric: str, severity: str, value: float, threshold: float) -> dict[str, Any]:
        return {"id": f"web-1/{kind}/{metric}", "vm_id": "web-1", "kind": kind, "metric": metric, "severity": severity,
                "value": value, "threshold": threshold, "since": iso(now - 600), "message": f"{kind} {metric}"}
    write_alerts(hub.data, [
        alert("fs", "/srv/backup", "critical", 93.5, 90), alert("temperature", "cpu", "warning", 81, 80),
        alert("traffic", "traffic", "critical", 21.5e9, 20e9), alert("reboot", "reboot", "warning", 720, 0),
        alert("swap", "swap", "warning", 63, 50)])
    page = pages.open(hub.url("/#alerts"))
    rows = page.locator("#alerts-body table.alerts tbody tr")
    assert rows.count() == 5
    texts = [[c.strip() for c in rows.nth(i).locator("td").all_inner_texts()] for i in range(5)]
    cells = {(t[1], t[3], t[4]) for t in texts}  # what, value, threshold
    assert cells == {("fs /srv/backup", "93.5 %", "90 %"), ("traffic", "21.5 GB", "20 GB"), ("temperature cpu", "81 °C", "80 °C"),
                     ("reboot", "12 min", "0 s"), ("swap", "63 %", "50 %")}, cells


def test_alerts_view_with_the_alert_engine(start_hub: Any, pages: Pages) -> None:
    """The hub's own engine opens an alert for a silent VM and resolves it when the VM
    reports again: the page lists the active one, then the resolved one below."""
    hub = start_hub("--poll-interval", "1", "--alert-interval", "1", "--dashboard", str(PUBLIC))
    now = time.time()
    post(hub, make_doc("quiet-1", now - 600, interval_seconds=60))
    hub.wait_for(lambda: hub.get_json("/api/monitoring/alerts")["alerts"], "the stale alert")
    page = pages.open(hub.url("/#alerts"))
    rows = page.locator("#alerts-body table.alerts tbody tr")
    assert rows.count() == 1
    cells = [c.strip() for c in rows.nth(0).locator("td").all_inner_texts()]
    assert cells[0] == "quiet-1" and cells[1] == "stale", cells
    assert page.locator("#alert-count").inner_text() == "1"

    post(hub, make_doc("quiet-1", now - 5, interval_seconds=60))
    hub.wait_for(lambda: hub.get_json("/api/monitoring/alerts/history?limit=50")["alerts"], "the resolved alert")
    page.evaluate("window.__lookoutRefresh()")
    assert "No active alerts." in page.locator("#alerts-body").inner_text()
    resolved = page.locator("#alerts-body table.resolved tbody tr")
    assert resolved.count() == 1
    cells = [c.strip() for c in resolved.nth(0).locator("td").all_inner_texts()]
    assert cells[0] == "quiet-1" and cells[1] == "stale" and cells[2] == "critical", cells
    assert page.locator("#alert-count").is_hidden()


# MARK: - behaviour over time


def test_refresh_updates_in_place_keeping_view_and_scroll(start_hub: Any, pages: Pages) -> None:
    hub = start_hub(*dashboard_args())
    now = seed_fleet(hub, history_hours=0)
    page = pages.open(hub.url("/"), viewport={"width": 700, "height": 400})
    page.evaluate("document.querySelector('.card[data-vm=\"web-1\"]').__marker = 'kept'")
    page.evaluate("window.scrollTo(0, 300)")
    scrolled = page.evaluate("window.scrollY")
    assert scrolled > 0

    page.evaluate("window.__lookoutRefresh()")
    assert page.evaluate("window.scrollY") == scrolled

    post(hub, make_doc("web-1", now - 5, interval_seconds=300, cpu=88.0, memory=61.2, disk=41.0))
    page.evaluate("window.__lookoutRefresh()")
    web = card(page, "web-1")
    assert web.locator('.gauge[data-metric="cpu"] .num').inner_text() == "88"
    assert web.locator('.gauge[data-metric="cpu"]').get_attribute("data-level") == "warning"
    assert web.get_attribute("data-status") == "warning"
    assert page.evaluate("document.querySelector('.card[data-vm=\"web-1\"]').__marker") == "kept"
    # web-1 changed state and place; the browser's scroll anchoring may shift a few pixels.
    assert abs(page.evaluate("window.scrollY") - scrolled) < 40
    assert visible_view(page) == "view-overview"
    assert page.evaluate("window.__lookoutStats.refreshes") >= 2


def test_banner_when_the_hub_stops_answering(start_hub: Any, pages: Pages) -> None:
    hub = start_hub(*dashboard_args())
    seed_fleet(hub, history_hours=0)
    page = pages.open(hub.url("/?refresh=2"))
    assert page.locator("#banner").is_hidden()
    updated = page.locator("#updated").inner_text()

    hub.stop()
    banner = page.locator("#banner")
    banner.wait_for(state="visible", timeout=UI_TIMEOUT)
    text = banner.inner_text()
    assert re.match(r"Hub not reachable since \d\d:\d\d — showing data from \d\d:\d\d", text), text
    assert page.evaluate("document.body.hasAttribute('data-old')")
    assert page.locator("#fleet-dot").get_attribute("data-status") == "unknown"
    assert page.locator("#updated").inner_text() == updated.replace("Updated", "Data from")
    assert page.locator(".card").count() == 4, "the last data stays on screen"
    shot(page, "banner")

    # The hub comes back: the banner goes without a reload.
    hub.start()
    banner.wait_for(state="hidden", timeout=UI_TIMEOUT)
    assert not page.evaluate("document.body.hasAttribute('data-old')")
    assert page.locator("#fleet-dot").get_attribute("data-status") == "critical"


def test_token_is_asked_once_and_remembered(start_hub: Any, pages: Pages) -> None:
    token = "dashboard-test-token-0123456789"
    hub = start_hub(*dashboard_args(), token=token)
    seed_fleet(hub, history_hours=0)
    status, _ = hub.get("/api/monitoring/summary", token="")
    assert status == 401

    page = pages.open(hub.url("/"), wait_ready=False)
    sent: list[str | None] = []
    page.on("request", lambda r: sent.append(r.headers.get("authorization")) if "/api/" in r.url else None)
    form = page.locator("#token-form")
    form.wait_for(state="visible")
    assert page.locator("#main").is_hidden()
    assert page.evaluate("document.activeElement.id") == "token-input"
    shot(page, "token")

    # A wrong token is refused and the form says so.
    page.fill("#token-input", "wrong-token")
    page.keyboard.press("Enter")
    page.wait_for_function("document.getElementById('token-error').textContent.includes('refused')")
    assert form.is_visible()

    page.fill("#token-input", token)
    page.click('#token-form button[type="submit"]')
    wait_ready_page(page)
    assert form.is_hidden()
    assert page.locator(".card").count() == 4
    assert sent and sent[-1] == f"Bearer {token}"

    page.reload()
    wait_ready_page(page)
    assert form.is_hidden(), "the page asked again after a reload"
    assert page.locator(".card").count() == 4
    assert page.evaluate("localStorage.getItem('lookout.token')") == token


def test_page_weight_and_no_outside_resources() -> None:
    """Every file the page loads (the page, the stylesheet, each module of main.js's graph)
    stays small together and loads nothing from elsewhere (no CDN, no web fonts)."""
    files = {name: (PUBLIC / name).read_text() for name in page_files()}
    assert "js/main.js" in files and "style.css" in files, sorted(files)
    total = sum(len(text.encode()) for text in files.values())
    # What crosses the wire: the hub sends each file gzipped (built once at start) to a browser
    # that accepts it, as every browser does. 91 KB plain as one app.js (issue 12); issue 14's
    # modules, table, sparklines, brushing and favicon bring it to ~135 KB plain, ~52 KB
    # gzipped file by file.
    wire = sum(len(gzip.compress(text.encode(), mtime=0)) for text in files.values())
    assert wire <= 64_000, f"the page sends {wire} bytes gzipped in {len(files)} files, the budget is 64 KB"
    assert total <= 160_000, f"the page loads {total} bytes in {len(files)} files, the plain budget is 160 KB"
    # The public status page's files too: anyone may open that one, no token needed.
    files |= {name: (PUBLIC / name).read_text() for name in ("status.html", "js/status.js", "status.css")}
    for name, text in files.items():
        assert not re.search(r"(?:src|href)=[\"']?(?:https?:)?//|@import|url\(\s*[\"']?(?:https?:)?//", text), name
        assert not re.search(r"\.(?:inner|outer)HTML\s*=|insertAdjacentHTML|document\.write", text), name


def test_every_module_of_the_page_is_preloaded() -> None:
    """monitoring.html has one modulepreload line per module main.js imports, directly or not
    (so the browser fetches them all at once, not one import level at a time), and none for a
    module the page does not use; the graph is parsed from the modules' import statements."""
    html = (PUBLIC / "monitoring.html").read_text()
    assert re.search(r"""<script type="module" src="js/main\.js"></script>""", html), "no entry module"
    preloads = re.findall(r"""<link rel="modulepreload" href="js/([\w.-]+)">""", html)
    graph = module_graph()
    assert len(graph) > 10, graph
    missing = [m for m in graph if m not in preloads]
    assert not missing, f"imported by main.js's graph but not preloaded in monitoring.html: {missing}"
    unused = [m for m in preloads if m not in graph]
    assert not unused, f"preloaded but not imported by main.js's graph: {unused}"
    assert len(preloads) == len(set(preloads)), f"a module preloaded twice: {preloads}"
    assert not (PUBLIC / "app.js").exists(), "Public/app.js is gone: the page is js/main.js and its modules"
