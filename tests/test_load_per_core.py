"""Load thresholds per core through a real `lookout serve`: the status the API gives, the
config it exposes, and the dashboard's card colour and chart lines scaled by the VM's cores."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

from conftest import Hub, make_doc
from dashboard_support import dashboard_args, post, write_config
from test_dashboard import Pages, browser, pages, wait_charts  # noqa: F401 (fixtures)

# big-4: load 3.5 on 4 cores is 0.875 per core, ok; small-2: 3.5 on 2 cores is 1.75, a warning.
VMS = {"big-4": 4, "small-2": 2}
LOAD5 = 3.5


def seed(hub: Hub) -> None:
    now = time.time()
    for vm, cores in VMS.items():
        for i in range(6, -1, -1):
            post(hub, make_doc(vm, now - 20 - i * 600, cores=cores, load1=LOAD5, load5=LOAD5, load15=LOAD5,
                               interval_seconds=300))


def chart_thresholds(pages: Pages, hub: Hub, vm: str) -> str:
    """The threshold lines the VM view's load chart drew, as its `data-thresholds` says."""
    page = pages.open(hub.url(f"/#vm/{vm}"))
    wait_charts(page, 4)
    return page.locator('.chart[data-chart="load"]').get_attribute("data-thresholds")


def problems(hub: Hub) -> dict[str, list[str]]:
    status = hub.get_json("/api/monitoring/status")
    return {e["vm_id"]: [p["message"] for p in e["problems"] if p["kind"] == "load"] for e in status["vms"]}


def test_the_default_judges_the_load_per_core(start_hub: Callable[..., Hub], pages: Pages) -> None:
    hub = start_hub(*dashboard_args())
    seed(hub)
    assert problems(hub) == {"big-4": [], "small-2": ["load 3.5 on 2 cores = 1.8 per core, warning at 1.5"]}
    assert hub.get_json("/api/monitoring/config")["thresholds"]["load"] == {
        "warning": 1.5, "critical": 3.0, "sustained_samples": 1, "per_core": True}

    page = pages.open(hub.url("/"))
    level = lambda vm: page.locator(f'.card[data-vm="{vm}"] .f-load').get_attribute("data-level")  # noqa: E731
    assert level("big-4") == "ok"
    assert level("small-2") == "warning"

    # The load chart's lines are the per-core thresholds times the VM's cores.
    assert chart_thresholds(pages, hub, "small-2") == "warning 3 · critical 6"
    assert chart_thresholds(pages, hub, "big-4") == "warning 6 · critical 12"


def test_a_load_threshold_without_per_core_stays_absolute(start_hub: Callable[..., Hub], tmp_path: Path,
                                                          pages: Pages) -> None:
    config = write_config(tmp_path / "config", {"monitoring": {"thresholds": {
        "load": {"warning": 3.0, "critical": 8.0}}}})
    hub = start_hub(*dashboard_args(config=config))
    seed(hub)
    assert problems(hub) == {"big-4": ["load (5 min) 3.5, warning at 3"],
                             "small-2": ["load (5 min) 3.5, warning at 3"]}
    assert hub.get_json("/api/monitoring/config")["thresholds"]["load"]["per_core"] is False
    page = pages.open(hub.url("/"))
    assert page.locator('.card[data-vm="big-4"] .f-load').get_attribute("data-level") == "warning"
    assert chart_thresholds(pages, hub, "big-4") == "warning 3 · critical 8"
