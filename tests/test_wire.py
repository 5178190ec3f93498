"""A lighter wire (README "Compression and caching"): gzip and ETags on a real `lookout serve`,
seen by Debian's Chromium through Playwright, and by a raw socket for the headers a browser
never sends (`gzip;q=0`, junk, `If-None-Match: *`)."""

from __future__ import annotations

import gzip
import json
import time
from typing import Any, Callable

import pytest

from conftest import Hub, make_doc
from dashboard_support import UI_TIMEOUT, chromium, dashboard_args, seed_fleet
from raw_http import raw_request

SUMMARY = "/api/monitoring/summary"


@pytest.fixture
def hub(start_hub: Callable[..., Hub]) -> Hub:
    hub = start_hub(*dashboard_args())
    seed_fleet(hub, history_hours=1)
    return hub


def summary_plain(hub: Hub) -> bytes:
    answer = raw_request(hub.port, "GET", SUMMARY)
    assert answer.status == 200, answer
    assert "content-encoding" not in answer.headers
    return answer.body


def test_the_page_loads_gzipped_and_an_unchanged_refresh_is_304(hub: Hub) -> None:
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.set_default_timeout(UI_TIMEOUT)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        seen: list[dict[str, Any]] = []

        def record(response: Any) -> None:
            seen.append({"url": response.url, "status": response.status, "headers": response.all_headers(),
                         "sent": response.request.all_headers()})

        page.on("response", record)
        # What went over the wire: Playwright (and Chromium's responseReceived) report a
        # revalidated answer with the cached 200's status; the raw head Chromium received
        # (responseReceivedExtraInfo) carries the 304.
        urls: dict[str, str] = {}
        wire: list[tuple[str, int]] = []
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.on("Network.requestWillBeSent", lambda e: urls.__setitem__(e["requestId"], e["request"]["url"]))
        cdp.on("Network.responseReceivedExtraInfo", lambda e: wire.append((e["requestId"], e["statusCode"])))
        # No timed refresh: the one below is the only one, so exactly one summary request follows.
        page.goto(hub.url("/?refresh=3600"))
        page.wait_for_function("window.__lookoutReady === true", timeout=UI_TIMEOUT)
        # The browser decoded the gzip summary: the cards show the fleet.
        for vm in ("web-1", "db-1", "mail-1", "backup-1"):
            page.get_by_text(vm, exact=True).first.wait_for(timeout=UI_TIMEOUT)
        assert not errors, errors

        summaries = [r for r in seen if r["url"].endswith(SUMMARY)]
        assert summaries, f"no summary request among {[r['url'] for r in seen]}"
        first = summaries[0]
        assert first["status"] == 200, first
        assert first["headers"].get("content-encoding") == "gzip", first["headers"]
        assert "accept-encoding" in first["headers"].get("vary", "").lower()
        assert first["headers"].get("etag", "").endswith('-gz"'), first["headers"]
        assets = [r for r in seen if r["url"].endswith((".js", ".css")) and r["status"] == 200]
        assert any(r["headers"].get("content-encoding") == "gzip" for r in assets), [
            (r["url"], r["headers"].get("content-encoding")) for r in assets
        ]

        # An unchanged fleet: the next refresh revalidates the summary and gets a 304.
        before, wire_before = len(seen), len(wire)
        refreshes = page.evaluate("window.__lookoutStats.refreshes")
        page.evaluate("window.__lookoutRefresh()")
        page.wait_for_function(f"window.__lookoutStats.refreshes > {refreshes}", timeout=UI_TIMEOUT)

        def summary_statuses() -> list[int]:
            return [status for request, status in wire[wire_before:] if urls.get(request, "").endswith(SUMMARY)]

        # The events of that answer may come after the page is done with it: wait for them
        # (page.wait_for_timeout lets Playwright deliver events; the deadline is a bound only).
        deadline = time.monotonic() + 30
        while not (summary_statuses() and any(r["url"].endswith(SUMMARY) for r in seen[before:])):
            assert time.monotonic() < deadline, "no summary answer of the refresh reached the test"
            page.wait_for_timeout(50)
        again = [r for r in seen[before:] if r["url"].endswith(SUMMARY)]
        assert again[0]["sent"].get("if-none-match") == first["headers"]["etag"], again[0]
        received = summary_statuses()
        assert received == [304], received
        page.get_by_text("web-1", exact=True).first.wait_for(timeout=UI_TIMEOUT)
        assert not errors, errors
        context.close()


def test_gzip_refused_with_q0_junk_headers_and_if_none_match_star(hub: Hub) -> None:
    plain = summary_plain(hub)
    assert len(plain) > 1024
    assert json.loads(plain)["vms"].keys() == {"web-1", "db-1", "mail-1", "backup-1"}

    zipped = raw_request(hub.port, "GET", SUMMARY, headers={"Accept-Encoding": "gzip"})
    assert zipped.status == 200
    assert zipped.headers.get("content-encoding") == "gzip"
    assert zipped.headers.get("vary") == "Accept-Encoding"
    assert int(zipped.headers["content-length"]) == len(zipped.body) < len(plain) / 2
    assert gzip.decompress(zipped.body) == plain

    for refusal in ("gzip;q=0", "GZIP; Q=0.000, deflate", "*;q=0", "br"):
        answer = raw_request(hub.port, "GET", SUMMARY, headers={"Accept-Encoding": refusal})
        assert answer.status == 200, refusal
        assert "content-encoding" not in answer.headers, refusal
        assert answer.headers.get("vary") == "Accept-Encoding", refusal
        assert answer.body == plain, refusal

    # Junk never costs more than the plain, unconditional answer (gzip;q= is no qvalue).
    junk = {"Accept-Encoding": ";;;q=zz, ,gzip;q=,=;,\xe9t\xe9;q=1", "If-None-Match": '"unterminated, W/'}
    answer = raw_request(hub.port, "GET", SUMMARY, headers=junk)
    assert answer.status == 200
    assert "content-encoding" not in answer.headers
    assert answer.body == plain
    # A control character is no field value at all: the HTTP layer refuses the request.
    refused = raw_request(hub.port, "GET", SUMMARY, headers={"Accept-Encoding": "gzip\x7f"})
    assert refused.status == 400

    star = raw_request(hub.port, "GET", SUMMARY, headers={"Accept-Encoding": "gzip", "If-None-Match": "*"})
    assert star.status == 304
    assert star.body == b""
    assert star.headers.get("etag") == zipped.headers["etag"]
    assert "content-length" not in star.headers or star.headers["content-length"] == "0"

    etag = zipped.headers["etag"]
    weak = raw_request(hub.port, "GET", SUMMARY, headers={"Accept-Encoding": "gzip", "If-None-Match": f'"x", W/{etag}'})
    assert weak.status == 304
    # The gzip tag does not revalidate the plain representation.
    crossed = raw_request(hub.port, "GET", SUMMARY, headers={"If-None-Match": etag})
    assert crossed.status == 200 and crossed.body == plain

    head = raw_request(hub.port, "HEAD", SUMMARY, headers={"Accept-Encoding": "gzip"})
    assert head.status == 200
    assert head.body == b""
    assert head.headers.get("content-encoding") == "gzip"
    assert head.headers.get("content-length") == str(len(zipped.body))
    assert hub.poll() is None, hub.log()


def test_a_report_changes_the_summary_etag(hub: Hub) -> None:
    first = raw_request(hub.port, "GET", SUMMARY, headers={"Accept-Encoding": "gzip"})
    etag = first.headers["etag"]
    # seed_fleet's latest web-1 document is 20 s old: this one is newer.
    status, body = hub.post_doc(make_doc("web-1", time.time(), cpu=77))
    assert status in (200, 201), body
    again = raw_request(hub.port, "GET", SUMMARY, headers={"Accept-Encoding": "gzip", "If-None-Match": etag})
    assert again.status == 200
    assert again.headers["etag"] != etag
