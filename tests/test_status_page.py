"""The public status page (issue 14, item 1) in Debian's Chromium against a real `lookout
serve`: a config that lists two of four VMs and one service. The other VMs, every vm_id and
every host name stay off the page, its JSON and every request the page makes; the 90-day bars
come from a history seeded through real ingests with old timestamps; the banner follows a
critical alert and a VM going stale; the page works under a reverse-proxy sub-path, in dark
mode and at 360 px.

Everything waits on conditions with bounds; nothing sleeps for a fixed time."""

from __future__ import annotations

import http.client
import http.server
import json
import re
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest

from conftest import Hub, find_free_port, iso, make_doc
from dashboard_support import UI_TIMEOUT, chromium, dashboard_args, post, shot, write_alerts, write_config

PAGE = {
    "title": "Example status",
    "vms": {"web-1": "Website", "db-1": "Database"},
    "services": {"web-1/site": "Shop"},
}
ALL_VMS = ["web-1", "db-1", "mail-1", "backup-1"]
#: Strings that must never reach the public page: vm_ids, host names, check URLs, figures' text.
SECRETS = ALL_VMS + [".corp.example", "shop.internal", "postgres"]
#: web-1 reports every 6 hours (stale after 18 h), so 60 days of history are 240 documents.
WEB_INTERVAL = 6 * 3600
#: db-1 reports every 15 s: stale 45 s after its last document.
DB_INTERVAL = 15
HISTORY_DAYS = 60
#: A 3-day outage of web-1 (no documents), 20 days ago.
GAP = (20, 17)
DAY = 86_400


def doc(vm: str, ts: float, interval: int, healthy: bool = True) -> dict[str, Any]:
    services = {
        "web-1": [{"id": "site", "healthy": healthy, "response_ms": 42.0,
                   **({} if healthy else {"error": "GET https://shop.internal/health: 503"})}],
        "db-1": [{"id": "postgres", "healthy": True, "response_ms": 3.0}],
    }.get(vm, [])
    return make_doc(vm, ts, services=services, interval_seconds=interval, hostname=f"{vm}.corp.example")


def seed(hub: Hub, now: float) -> None:
    """web-1: 60 days every 6 h with a 3-day gap; mail-1 and backup-1 reporting (not listed);
    db-1 is posted by the tests (it goes stale)."""
    ts = now - HISTORY_DAYS * DAY
    while ts < now - 60:
        if not (now - GAP[0] * DAY <= ts < now - GAP[1] * DAY):
            post(hub, doc("web-1", ts, WEB_INTERVAL))
        ts += WEB_INTERVAL
    post(hub, doc("web-1", now - 30, WEB_INTERVAL))
    for vm in ("mail-1", "backup-1"):
        post(hub, doc(vm, now - 120, 60))
        post(hub, doc(vm, now - 30, 60))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def status_hub(lookout_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    folder = tmp_path_factory.mktemp("status")
    config = write_config(folder, {"monitoring": {"status_page": PAGE}})
    hub = Hub(lookout_bin, folder, dashboard_args(config=config), token="status-page-main-token-0123", name="status")
    hub.start()
    try:
        seed(hub, time.time())
        yield hub
    finally:
        hub.kill()


def get_status(port: int, path: str = "/api/status") -> dict[str, Any]:
    """`/api/status` without any token."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
        return json.loads(response.read())


class Recorder:
    """Every request and response of a page, with bodies, for the leak checks."""

    def __init__(self, page: Any) -> None:
        self.requests: list[Any] = []
        self.responses: list[Any] = []
        page.on("request", lambda request: self.requests.append(request))
        page.on("response", lambda response: self.responses.append(response))

    def bodies(self) -> list[tuple[str, str]]:
        out = []
        for response in self.responses:
            try:
                out.append((response.url, response.body().decode("utf-8", "replace")))
            except Exception as error:  # a body the browser did not keep (a redirect)
                out.append((response.url, f"<no body: {error}>"))
        return out


def open_page(browser: Any, url: str, **context: Any) -> tuple[Any, Any, Recorder, list[str]]:
    ctx = browser.new_context(**{"viewport": {"width": 1280, "height": 900}, **context})
    page = ctx.new_page()
    page.set_default_timeout(UI_TIMEOUT)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    recorder = Recorder(page)
    page.goto(url)
    page.wait_for_function("document.querySelectorAll('#entries .entry').length > 0")
    return ctx, page, recorder, errors


def assert_no_secrets(recorder: Recorder, page: Any) -> None:
    texts = recorder.bodies() + [("page", page.content())]
    assert len(texts) >= 4, [url for url, _ in texts]
    for url, text in texts:
        for secret in SECRETS:
            assert secret not in text, f"{secret!r} in {url}"
    for request in recorder.requests:
        assert "/api/monitoring" not in request.url, request.url
        assert "authorization" not in {k.lower() for k in request.headers}, request.url


def test_json_lists_only_the_configured_entries_under_their_names(status_hub: Hub) -> None:
    post(status_hub, doc("db-1", time.time(), DB_INTERVAL))
    raw = urllib.request.urlopen(status_hub.url("/api/status"), timeout=10).read().decode()
    for secret in SECRETS:
        assert secret not in raw, secret
    body = json.loads(raw)
    assert body["title"] == "Example status"
    assert [(e["name"], e["kind"]) for e in body["entries"]] == [
        ("Database", "vm"), ("Shop", "service"), ("Website", "vm")]
    website = body["entries"][2]["uptime"]
    assert len(website) == 90 and website[-1]["day"] == time.strftime("%Y-%m-%d", time.gmtime())
    values = [d["uptime"] for d in website]
    # 90 days, 60 of history: the first ~29 are "no data", the 3-day gap holds whole days of 0.
    first = next(i for i, v in enumerate(values) if v is not None)
    assert 28 <= first <= 30, values
    assert all(v is None for v in values[:first])
    assert values[-1] == 100
    assert values.count(0) >= 1, values
    assert 90 < body["entries"][2]["uptime_90d"] < 99, body["entries"][2]["uptime_90d"]
    database = [d["uptime"] for d in body["entries"][0]["uptime"]]
    # db-1's first document is of today: the days before have no data.
    assert database[:-1] == [None] * 89 and database[-1] is not None
    # The monitoring API still wants the token.
    conn = http.client.HTTPConnection("127.0.0.1", status_hub.port, timeout=10)
    conn.request("GET", "/api/monitoring/summary")
    assert conn.getresponse().status == 401
    conn.close()


def test_page_shows_bars_and_leaks_nothing(browser: Any, status_hub: Hub) -> None:
    post(status_hub, doc("db-1", time.time(), DB_INTERVAL))
    ctx, page, recorder, errors = open_page(browser, status_hub.url("/status"))
    try:
        assert page.title() == "Example status"
        assert page.locator("#title").inner_text() == "Example status"
        assert page.locator("#entries .entry-name").all_inner_texts() == ["Database", "Shop", "Website"]
        website = page.locator("#entries .entry").nth(2)
        bars = website.locator(".bar")
        assert bars.count() == 90
        levels = website.locator(".bar").evaluate_all("bars => bars.map(b => b.dataset.level)")
        assert levels[0] == "none" and levels[-1] == "up" and "major" in levels, levels
        # A text alternative per day: the date and the figure, or "no data".
        assert bars.nth(0).get_attribute("title").endswith(": no data")
        assert bars.nth(89).get_attribute("aria-label").endswith(": 100% up")
        page.wait_for_function("document.getElementById('banner').dataset.state !== 'loading'")
        assert_no_secrets(recorder, page)
        paths = {request.url.split(str(status_hub.port), 1)[1] for request in recorder.requests
                 if request.url.startswith("http")}
        assert all(r.url.startswith(status_hub.url("/")) or r.url.startswith("data:") for r in recorder.requests)
        assert paths == {"/status", "/status.css", "/js/status.js", "/api/status"}, paths
        shot(page, "status-light")
        assert not errors, errors
    finally:
        ctx.close()


def test_banner_follows_a_critical_alert_and_a_vm_going_stale(browser: Any, status_hub: Hub) -> None:
    now = time.time()
    # An hour's interval while the banner is checked, so no phase races db-1's staleness on a
    # slow machine; the last document says 15 s, and db-1 goes stale 45 s after it.
    post(status_hub, doc("db-1", now, 3600))
    write_alerts(status_hub.data, [])
    ctx, page, recorder, errors = open_page(browser, status_hub.url("/status"))
    try:
        page.wait_for_function("document.getElementById('banner').dataset.state === 'operational'")
        assert page.locator("#banner-text").inner_text() == "All systems operational"
        assert page.locator("#no-incidents").is_visible()

        alert = {"id": "db-1/disk", "vm_id": "db-1", "kind": "disk", "metric": "disk", "severity": "critical",
                 "value": 93.4, "threshold": 90, "since": iso(now - 600),
                 "message": "disk 93.4% on db-1.corp.example"}
        write_alerts(status_hub.data, [alert])
        page.reload()
        page.wait_for_function("document.getElementById('banner').dataset.state === 'degraded'")
        incident = page.locator("#incidents .incident")
        assert incident.count() == 1
        assert incident.locator(".incident-name").inner_text() == "Database"
        assert incident.locator(".incident-severity").inner_text() == "Critical"
        assert incident.locator(".incident-since").inner_text() == "since " + iso(now - 600)[:16].replace("T", " ") + " UTC"
        assert_no_secrets(recorder, page)

        # db-1 stops reporting: stale 45 s after its last document, an outage without any new data.
        write_alerts(status_hub.data, [])
        post(status_hub, doc("db-1", max(time.time(), now + 1), DB_INTERVAL))
        status_hub.wait_for(lambda: get_status(status_hub.port)["status"] == "outage", "db-1 to go stale", timeout=120)
        page.reload()
        page.wait_for_function("document.getElementById('banner').dataset.state === 'outage'")
        states = page.locator("#entries .entry-state").all_inner_texts()
        assert states == ["Outage", "Operational", "Operational"], states
        assert page.locator("#incidents .incident-severity").all_inner_texts() == ["Critical"]
        shot(page, "status-outage")
        assert not errors, errors
    finally:
        ctx.close()


def test_dark_mode_and_a_phone_without_sideways_scroll(browser: Any, status_hub: Hub) -> None:
    ctx, page, _, errors = open_page(
        browser, status_hub.url("/status.html"), viewport={"width": 360, "height": 780}, device_scale_factor=2)
    try:
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, "the page scrolls sideways at 360 px"
        bar_width = page.locator("#entries .entry .bar").first.bounding_box()["width"]
        assert bar_width >= 2, bar_width
        light = page.evaluate("getComputedStyle(document.body).backgroundColor")
        page.emulate_media(color_scheme="dark")
        dark = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert light != dark, (light, dark)
        red, green, blue = (int(part) for part in dark.strip("rgb()").split(",")[:3])
        assert red + green + blue < 120, dark
        shot(page, "status-dark-phone")
        assert not errors, errors
    finally:
        ctx.close()


class Proxy(http.server.ThreadingHTTPServer):
    """A tiny reverse proxy: `/lookout/<path>` → the hub's `/<path>`, anything else 404."""

    daemon_threads = True

    def __init__(self, port: int, hub_port: int) -> None:
        self.hub_port = hub_port
        self.seen: list[str] = []
        #: Set: a request for api/status is accepted and never answered (until `release`).
        self.hang = threading.Event()
        self.release = threading.Event()
        super().__init__(("127.0.0.1", port), ProxyHandler)


class ProxyHandler(http.server.BaseHTTPRequestHandler):
    server: Proxy

    def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
        self.server.seen.append(self.path)
        if not self.path.startswith("/lookout/"):
            self.send_error(404)
            return
        if self.server.hang.is_set() and self.path.startswith("/lookout/api/status"):
            self.server.release.wait(60)
            return
        conn = http.client.HTTPConnection("127.0.0.1", self.server.hub_port, timeout=10)
        conn.request("GET", self.path[len("/lookout"):], headers={"Accept": self.headers.get("Accept", "*/*")})
        answer = conn.getresponse()
        body = answer.read()
        self.send_response(answer.status)
        for name in ("Content-Type", "ETag", "Cache-Control"):
            if answer.getheader(name):
                self.send_header(name, answer.getheader(name))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        conn.close()

    def log_message(self, *args: Any) -> None:
        pass


def test_works_under_a_reverse_proxy_sub_path(browser: Any, status_hub: Hub) -> None:
    proxy = Proxy(find_free_port(), status_hub.port)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    try:
        ctx, page, recorder, errors = open_page(browser, f"http://127.0.0.1:{proxy.server_port}/lookout/status")
        try:
            assert page.locator("#entries .entry").count() == 3
            assert sorted(set(proxy.seen)) == ["/lookout/api/status", "/lookout/js/status.js", "/lookout/status",
                                               "/lookout/status.css"], proxy.seen
            assert_no_secrets(recorder, page)
            assert not errors, errors
        finally:
            ctx.close()
    finally:
        proxy.shutdown()
        proxy.server_close()


def test_a_hub_that_accepts_and_never_answers_greys_the_banner(browser: Any, status_hub: Hub) -> None:
    """The page's minute refresh meets a peer that accepts the request and never answers: after
    its 10 s limit the page says so and greys the banner instead of keeping the last state.
    Playwright's clock drives the page's timers (the minute and the 10 s), the peer is real."""
    proxy = Proxy(find_free_port(), status_hub.port)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = ctx.new_page()
        page.set_default_timeout(UI_TIMEOUT)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.clock.install()
        page.goto(f"http://127.0.0.1:{proxy.server_port}/lookout/status")
        page.wait_for_function("document.querySelectorAll('#entries .entry').length > 0")
        assert page.locator("#banner").get_attribute("data-state") in ("operational", "degraded", "outage")
        assert page.locator("#error").is_hidden()

        asked = proxy.seen.count("/lookout/api/status")
        proxy.hang.set()
        page.clock.fast_forward(60_000)  # the page's refresh, every minute
        status_hub.wait_for(lambda: proxy.seen.count("/lookout/api/status") > asked, "the page's next request")
        page.clock.fast_forward(10_000)  # the page's limit on one request
        page.wait_for_function("document.getElementById('banner').dataset.state === 'unknown'")
        assert page.locator("#banner-text").inner_text() == "Status not known right now"
        assert "no answer within 10 s" in page.locator("#error").inner_text()
        assert page.locator("#entries .entry").count() == 3, "the rows stay as last known"
        assert not errors, errors
    finally:
        ctx.close()
        proxy.release.set()
        proxy.shutdown()
        proxy.server_close()


def test_service_days_beyond_raw_days_come_from_the_hourly_rollups(lookout_bin: Path, tmp_path: Path) -> None:
    """30 days of a service every 6 h, then a restart: its retention pass rolls the hours up and
    prunes the raw checks older than `raw_days` (14). The service's older days still have data,
    with the share of checks that passed (one of four failed on each day 16 to 29 days back)."""
    page = {"title": "Example status", "vms": {"web-1": "Website"}, "services": {"web-1/site": "Shop"}}
    config = write_config(tmp_path, {"monitoring": {"status_page": page}})
    hub = Hub(lookout_bin, tmp_path, dashboard_args(config=config), name="rollups")
    hub.start()
    try:
        now = time.time()
        today = now - now % DAY
        ts = now - 30 * DAY
        while ts < now - 60:
            back = int((today - (ts - ts % DAY)) // DAY)
            # Four documents a day, 6 h apart: the one in the day's first 6 hours fails.
            failing = 16 <= back <= 29 and ts % DAY < WEB_INTERVAL
            post(hub, doc("web-1", ts, WEB_INTERVAL, healthy=not failing))
            ts += WEB_INTERVAL
        assert hub.stop() == 0
        hub.start()
        # The pass at start says what it did; raw rows were deleted (the older days are rollups only).
        pruned = re.compile(r"retention: rolled up \d+ hour\(s\), deleted [1-9]\d* raw")
        hub.wait_for(lambda: pruned.search(hub.log().split("----- start #2 -----")[-1]), "the retention pass at start")
        body = get_status(hub.port)
        shop = next(e for e in body["entries"] if e["name"] == "Shop")
        values = [d["uptime"] for d in shop["uptime"]]
        back = {k: values[-1 - k] for k in range(90)}
        assert all(back[k] is None for k in range(31, 90)), values
        assert all(back[k] is not None for k in range(1, 31)), values
        assert all(back[k] == 75.0 for k in range(16, 30)), values
        assert all(back[k] == 100 for k in range(1, 16)), values
    finally:
        hub.kill()
