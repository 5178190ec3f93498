"""Trends (issue 14, items 2 and 4) in Chromium against a real `lookout serve`: the
overview's sparklines (one request for the whole fleet), the VM view's one history request
per range, the 1 h and 6 h ranges, brushing to zoom every chart and the reset, and a fresh
VM's minutes of history filling the 1 h chart. Every wait has a bound; nothing sleeps."""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import parse_qs, urlparse

from conftest import Hub, make_doc, parse_iso
from dashboard_support import UI_TIMEOUT, canvas_ink, dashboard_args, post, seed_fleet
from test_dashboard import Pages, browser, pages, wait_charts, wait_ready_page  # noqa: F401 (fixtures)

#: The spark fleet: N VMs with 24 h of documents 30 min apart, cpu cycling 10, 20, … 90.
SPARK_VMS = [f"app-{i}" for i in range(1, 7)]


def seed_sparks(hub: Hub, now: float) -> None:
    for n, vm in enumerate(SPARK_VMS):
        for i in range(47, -1, -1):
            post(hub, make_doc(vm, now - 20 - i * 1800, cpu=10 + (i % 9) * 10, memory=40 + n, interval_seconds=1800))


def recorder(pages: Pages, url: str) -> tuple[Any, list[str]]:
    """A page that records the URL of every request it makes, opened at `url`."""
    page = pages.open()
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    page.goto(url)
    wait_ready_page(page)
    return page, urls


def api_calls(urls: list[str], route: str) -> list[str]:
    return [u for u in urls if urlparse(u).path.endswith(f"/api/monitoring/{route}")]


def history_calls(urls: list[str], vm: str) -> list[dict[str, list[str]]]:
    """The history requests for the charts (not the series list), as parsed queries."""
    return [parse_qs(urlparse(u).query) for u in urls if urlparse(u).path.endswith(f"/api/monitoring/history/{vm}")]


def test_sparklines_are_painted_from_one_request_per_cycle(start_hub: Any, pages: Pages) -> None:
    hub = start_hub(*dashboard_args())
    seed_sparks(hub, time.time())
    page, urls = recorder(pages, hub.url("/?refresh=2"))
    sparks = '.card .spark canvas[data-drawn="true"]'
    page.wait_for_function(f"document.querySelectorAll('{sparks}').length === {2 * len(SPARK_VMS)}", timeout=UI_TIMEOUT)
    ink = canvas_ink(page, ".card .spark canvas")
    assert len(ink) == 2 * len(SPARK_VMS) and all(n > 40 for n in ink), ink
    cpu = page.locator('.card[data-vm="app-1"] .spark[data-metric="cpu"] canvas').get_attribute("aria-label")
    assert cpu == "CPU last 24 h: min 10.0 % max 90.0 %", cpu
    memory = page.locator('.card[data-vm="app-3"] .spark[data-metric="memory"] canvas').get_attribute("aria-label")
    assert memory == "Memory last 24 h: min 42.0 % max 42.0 %", memory
    # Three refresh cycles: the summary each time, the sparklines once (at most every 5 min).
    page.wait_for_function("window.__lookoutStats.refreshes >= 3", timeout=UI_TIMEOUT)
    assert len(api_calls(urls, "summary")) >= 3
    calls = api_calls(urls, "sparklines")
    assert len(calls) == 1, calls
    assert parse_qs(urlparse(calls[0]).query) == {"range": ["24h"], "points": ["48"]}
    assert not [u for u in urls if "/api/monitoring/history/" in u], "the overview asked for a VM's history"


def test_a_vm_without_history_in_the_window_has_empty_sparklines(start_hub: Any, pages: Pages) -> None:
    hub = start_hub(*dashboard_args())
    now = time.time()
    seed_sparks(hub, now)
    # Reported two days ago, then nothing: in the fleet (stale), no sample in the last 24 h.
    post(hub, make_doc("old-1", now - 2 * 86400))
    page = pages.open(hub.url("/"))
    spark = page.locator('.card[data-vm="old-1"] .spark[data-metric="cpu"] canvas')
    page.wait_for_function(
        """() => document.querySelector('.card[data-vm="old-1"] .spark[data-metric="cpu"] canvas')?.dataset.drawn === 'empty'""",
        timeout=UI_TIMEOUT,
    )
    assert spark.get_attribute("aria-label") == "CPU last 24 h: no data"
    assert canvas_ink(page, '.card[data-vm="old-1"] .spark canvas') == [0, 0]


def chart_ticks(page: Any) -> dict[str, str]:
    return page.evaluate("Object.fromEntries([...document.querySelectorAll('.chart')].map(c => [c.dataset.chart, c.dataset.ticks]))")


def test_vm_view_makes_one_history_request_per_range(start_hub: Any, pages: Pages) -> None:
    hub = start_hub(*dashboard_args())
    seed_fleet(hub)
    page, urls = recorder(pages, hub.url("/#vm/web-1"))
    wait_charts(page, 10)
    calls = history_calls(urls, "web-1")
    assert len(calls) == 1, calls
    names = calls[0]["metrics"][0].split(",")
    assert names[:4] == ["cpu", "memory", "disk", "load5"] and {"net_rx", "net_tx", "fs:/srv/backup", "swap"} <= set(names)
    assert calls[0]["range"] == ["24h"]
    for count, (button, label) in enumerate((("1h", "1 h"), ("6h", "6 h")), start=2):
        page.click(f'.seg button[data-range="{button}"]')
        page.wait_for_function(f"location.hash === '#vm/web-1/{button}'")
        assert page.locator(f'.seg button[data-range="{button}"]').get_attribute("aria-pressed") == "true"
        page.wait_for_function(
            f"[...document.querySelectorAll('.chart canvas')].every(c => c.getAttribute('aria-label').includes('{label}'))",
            timeout=UI_TIMEOUT,
        )
        calls = history_calls(urls, "web-1")
        assert len(calls) == count and calls[-1]["range"] == [button], calls
    # The hash alone opens a short range too.
    page.goto(hub.url("/#vm/web-1/1h"))
    wait_ready_page(page)
    wait_charts(page, 10)
    assert all(n > 200 for n in canvas_ink(page, ".chart canvas"))


def drag(page: Any, selector: str, start: float, end: float) -> None:
    """A mouse drag across the chart from `start` to `end` (fractions of its width)."""
    page.locator(selector).scroll_into_view_if_needed()
    box = page.locator(selector).bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * start, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * (start + end) / 2, y, steps=4)
    page.mouse.move(box["x"] + box["width"] * end, y, steps=4)
    page.mouse.up()


def test_brushing_zooms_every_chart_and_reset_restores(start_hub: Any, pages: Pages) -> None:
    hub = start_hub(*dashboard_args())
    seed_fleet(hub)
    page, urls = recorder(pages, hub.url("/#vm/web-1"))
    wait_charts(page, 10)
    before = chart_ticks(page)
    assert all(before.values()), before
    reset = page.locator("button.reset-zoom")
    assert reset.is_hidden()

    drag(page, '.chart[data-chart="cpu"] canvas', 0.3, 0.6)
    page.wait_for_function("document.querySelector('button.reset-zoom') && !document.querySelector('button.reset-zoom').hidden")
    page.wait_for_function(
        "(b) => [...document.querySelectorAll('.chart')].every(c => c.dataset.drawn && c.dataset.ticks !== b[c.dataset.chart])",
        arg=before, timeout=UI_TIMEOUT,
    )
    zoomed = [q for q in history_calls(urls, "web-1") if "from" in q]
    assert len(zoomed) == 1, zoomed
    start, end = parse_iso(zoomed[0]["from"][0]), parse_iso(zoomed[0]["to"][0])
    # About 30 % of the 24 h: between 5 and 10 hours, inside the last day.
    assert 5 * 3600 < end - start < 10 * 3600, (start, end)
    assert time.time() - 86400 - 120 < start < end < time.time()
    assert set(zoomed[0]["metrics"][0].split(",")) == set(history_calls(urls, "web-1")[0]["metrics"][0].split(","))
    labels = page.evaluate("[...document.querySelectorAll('.chart canvas')].map(c => c.getAttribute('aria-label'))")
    assert all(" from " in label for label in labels), labels

    # The readout under the mouse still works on the zoomed charts.
    page.locator('.chart[data-chart="memory"] canvas').scroll_into_view_if_needed()
    box = page.locator('.chart[data-chart="memory"] canvas').bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    page.wait_for_function(
        "/\\d\\d:\\d\\d\\s+\\d/.test(document.querySelector('.chart[data-chart=\"memory\"] .readout').textContent)"
    )

    # Escape resets every chart to the range.
    page.keyboard.press("Escape")
    page.wait_for_function("document.querySelector('button.reset-zoom').hidden")
    page.wait_for_function(
        "(b) => [...document.querySelectorAll('.chart')].every(c => c.dataset.ticks === b[c.dataset.chart])",
        arg=before, timeout=UI_TIMEOUT,
    )
    # And the button does the same.
    drag(page, '.chart[data-chart="network"] canvas', 0.5, 0.9)
    page.wait_for_function("!document.querySelector('button.reset-zoom').hidden")
    page.wait_for_function(
        "(b) => document.querySelector('.chart[data-chart=\"cpu\"]').dataset.ticks !== b.cpu", arg=before
    )
    reset.click()
    page.wait_for_function(
        "(b) => [...document.querySelectorAll('.chart')].every(c => c.dataset.ticks === b[c.dataset.chart])",
        arg=before, timeout=UI_TIMEOUT,
    )
    assert reset.is_hidden()
    # A click is no zoom.
    calls = len(history_calls(urls, "web-1"))
    page.locator('.chart[data-chart="memory"] canvas').scroll_into_view_if_needed()
    box = page.locator('.chart[data-chart="memory"] canvas').bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.4, box["y"] + box["height"] * 0.5)
    assert reset.is_hidden() and len(history_calls(urls, "web-1")) == calls


def test_a_fresh_vm_fills_the_1h_chart(start_hub: Any, pages: Pages) -> None:
    hub = start_hub(*dashboard_args())
    now = time.time()
    # Ten minutes of history, a document a minute.
    for i in range(10, -1, -1):
        post(hub, make_doc("fresh-1", now - 5 - i * 60, cpu=20 + i, interval_seconds=60))
    page = pages.open(hub.url("/#vm/fresh-1/1h"))
    wait_charts(page, 4)
    fill = page.evaluate("document.querySelector('.chart[data-chart=\"cpu\"]').dataset.fill")
    assert float(fill) >= 0.8, fill
    label = page.locator('.chart[data-chart="cpu"] canvas').get_attribute("aria-label")
    assert re.search(r"since \d\d:\d\d", label), label
