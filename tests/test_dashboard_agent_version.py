"""The dashboard shows each VM's agent version and marks the ones older than the hub
(a real `lookout serve`, Debian's Chromium): a card line "agent 0.0.9, hub 0.1.0: upgrade
it" and the VM view's row "Agent 0.0.9 (hub 0.1.0: lookout-agent upgrade)"; a current or
newer agent, and a document without `agent`, get no mark."""

from __future__ import annotations

import time
from typing import Any, Callable

from conftest import Hub, make_doc
from dashboard_support import UI_TIMEOUT, chromium, dashboard_args, post, shot

#: The hub's own release (GET config `version`); the debug build's stamp.
HUB_VERSION = "0.1.0"


def open_page(browser: Any, url: str) -> Any:
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.set_default_timeout(UI_TIMEOUT)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url)
    page.wait_for_function("window.__lookoutReady === true")
    page.errors = errors
    return page


def test_agents_older_than_the_hub_are_marked(start_hub: Callable[..., Hub]) -> None:
    hub = start_hub(*dashboard_args())
    now = time.time()
    # 0.0.9 < 0.1.0; 0.1.10 > 0.1.0 (numbers, not text: "0.1.10" < "0.1.9" as strings).
    post(hub, make_doc("old-1", now, agent="0.0.9"))
    post(hub, make_doc("same-1", now, agent=HUB_VERSION))
    post(hub, make_doc("new-1", now, agent="0.1.10"))
    post(hub, make_doc("none-1", now))
    # What a real agent sends: its name before the release.
    post(hub, make_doc("named-1", now, agent="lookout-agent 0.0.9"))
    post(hub, make_doc("named-2", now, agent=f"lookout-agent {HUB_VERSION}"))
    assert hub.get_json("/api/monitoring/config")["version"] == HUB_VERSION

    with chromium() as browser:
        page = open_page(browser, hub.url("/"))
        old = page.locator('.card[data-vm="old-1"] .agent-outdated')
        assert old.is_visible()
        assert old.inner_text() == f"agent 0.0.9, hub {HUB_VERSION}: upgrade it"
        assert "lookout-agent upgrade" in old.get_attribute("title")
        named = page.locator('.card[data-vm="named-1"] .agent-outdated')
        assert named.inner_text() == f"agent 0.0.9, hub {HUB_VERSION}: upgrade it"
        for vm in ("same-1", "new-1", "none-1", "named-2"):
            assert page.locator(f'.card[data-vm="{vm}"] .agent-outdated').is_hidden(), vm
        shot(page, "agent-version-overview")

        page.goto(hub.url("/#vm/old-1"))
        row = page.locator(".detail-facts .f-agent")
        page.wait_for_function("document.querySelector('.detail-facts .f-agent')?.textContent.length > 0")
        assert row.inner_text() == f"0.0.9 (hub {HUB_VERSION}: lookout-agent upgrade)"
        assert row.get_attribute("data-level") == "warning"
        assert "agent" not in page.locator(".detail-meta").inner_text()
        shot(page, "agent-version-vm")

        page.goto(hub.url("/#vm/new-1"))
        page.wait_for_function("document.querySelector('.detail-facts .f-agent')?.textContent === '0.1.10'")
        assert row.get_attribute("data-level") is None

        page.goto(hub.url("/#vm/none-1"))
        page.wait_for_function("document.querySelector('#vm-title')?.textContent === 'none-1'")
        page.wait_for_function("document.querySelector('.detail-facts .f-agent')?.parentElement.hidden === true")
        assert not page.errors, page.errors
