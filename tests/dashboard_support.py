"""Helpers of the dashboard tests and of scripts/bench-dashboard: a headless Chromium
(Debian's, through Playwright), a hub serving Public/, and a small fleet with known
figures (one VM above its disk critical threshold, one stale, one in warning).

Everything waits on conditions with bounds; nothing sleeps for a fixed time."""

from __future__ import annotations

import json
import os
import re
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import pytest

from conftest import REPO, Hub, iso, make_doc

PUBLIC = REPO / "Public"
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"

# An import of a sibling module: `import { a } from './x.js';`, `import './x.js';`, `export … from`.
_IMPORT = re.compile(r"""^\s*(?:import|export)\b[^'";]*?(?:\bfrom\s*)?['"]\./([\w.-]+\.m?js)['"]""", re.M)


def module_graph(entry: str = "main.js") -> list[str]:
    """The modules under Public/js/ that `entry` imports, directly or through others, the entry
    first; parsed from the import statements, so a new module is found without a list."""
    seen: list[str] = []
    todo = [entry]
    while todo:
        name = todo.pop(0)
        if name in seen:
            continue
        seen.append(name)
        todo += _IMPORT.findall((PUBLIC / "js" / name).read_text())
    return seen


def page_files() -> list[str]:
    """Every file monitoring.html makes the browser load, relative to Public/: the page, what it
    names in src= and href= (stylesheet, entry module, preloads), and main.js's module graph."""
    html = (PUBLIC / "monitoring.html").read_text()
    named = re.findall(r"""(?:src|href)=["']([\w./-]+\.(?:css|m?js))["']""", html)
    files = ["monitoring.html", *named, *(f"js/{m}" for m in module_graph())]
    return list(dict.fromkeys(files))
CHROMIUM = os.environ.get("LOOKOUT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: Longest wait for something the page shows after a refresh (ms).
UI_TIMEOUT = 15_000

#: What a text from the API would do if the page used innerHTML with it.
HOSTILE = '<img src=x onerror="window.__xss=1">'


def launch_chromium(playwright: Any) -> Any:
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's Chromium through Playwright (never `playwright install`), closed on exit;
    fails the test naming what is missing (both come with `scripts/install-deps --test`)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("Playwright for Python is missing: scripts/install-deps --test", pytrace=False)
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/install-deps --test (apt-get install chromium)", pytrace=False)
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            yield browser
        finally:
            browser.close()


def dashboard_args(poll: int = 1, config: Path | None = None) -> list[str]:
    """The `lookout serve` options the dashboard tests add to the Hub defaults. The alert
    engine's passes are an hour apart, so alerts.json holds what a test wrote."""
    args = ["--poll-interval", str(poll), "--alert-interval", "3600", "--dashboard", str(PUBLIC)]
    return args + (["--config", str(config)] if config else [])


#: web-1 has a monthly allowance of sent bytes; mail-1 none (it still gets its totals).
TRAFFIC_CONFIG = {"monitoring": {"traffic": {"web-1": {"monthly_gb": 20, "direction": "tx", "reset_day": 1}}}}


def write_config(folder: Path, config: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "lookout.json"
    path.write_text(json.dumps(config))
    return path


def post(hub: Hub, doc: dict[str, Any]) -> None:
    status, body = hub.post_doc(doc)
    assert status in (200, 201), f"ingest of {doc['vm_id']} at {doc['timestamp']}: HTTP {status} {body}"


def write_alerts(data: Path, alerts: list[dict[str, Any]]) -> None:
    """DATA/alerts.json, written atomically as the alert engine does (temp file, rename)."""
    data.mkdir(parents=True, exist_ok=True)
    tmp = data / ".alerts.json.tmp"
    tmp.write_text(json.dumps({"alerts": alerts}))
    os.replace(tmp, data / "alerts.json")


# The four VMs of the scenario, with the figures the page must show.
FLEET: dict[str, dict[str, Any]] = {
    "web-1": dict(cpu=23.5, memory=61.2, disk=41.0, load1=0.31, load5=0.22, load15=0.18, uptime=432000),
    "db-1": dict(cpu=37.8, memory=72.4, disk=93.4, load1=1.12, load5=0.94, load15=0.80, uptime=1_209_600),
    # Rebooted 12 minutes before its latest report: the page says "rebooted 12 min ago".
    "mail-1": dict(cpu=12.0, memory=84.1, disk=55.5, load1=0.05, load5=0.08, load15=0.09, uptime=720),
    # Up 30 minutes when it fell silent 42 minutes ago: booted over an hour ago, no reboot fact.
    "backup-1": dict(cpu=4.2, memory=33.3, disk=67.9, load1=0.01, load5=0.02, load15=0.00, uptime=1800),
}
EXPECTED_STATUS = {"web-1": "ok", "db-1": "critical", "mail-1": "warning", "backup-1": "stale"}
STALE_MINUTES = 42

CONTAINERS = {
    "web-1": [
        {"name": "caddy", "status": "running", "cpu_percent": 0.4, "memory_mb": 38},
        {"name": "app", "status": "running", "cpu_percent": 6.1, "memory_mb": 212},
    ],
    "db-1": [
        {"name": "postgres", "status": "running", "cpu_percent": 12.3, "memory_mb": 402},
        {"name": "pgbackup", "status": "exited", "cpu_percent": 0, "memory_mb": 0},
        {"name": HOSTILE, "status": "running", "cpu_percent": 0.1, "memory_mb": 3},
    ],
    "mail-1": [
        {"name": "mailu-front", "status": "running", "cpu_percent": 0.5, "memory_mb": 45},
        {"name": "mailu-antispam", "status": "exited", "cpu_percent": 0, "memory_mb": 0},
    ],
    "backup-1": [],
}
SERVICES = {
    "web-1": [{"id": "site", "healthy": True, "response_ms": 84}],
    "db-1": [{"id": "postgres", "healthy": True, "response_ms": 3},
             {"id": "admin", "healthy": False, "response_ms": 2000, "error": HOSTILE}],
    "mail-1": [{"id": "mail", "healthy": True, "response_ms": 125}],
    "backup-1": [],
}


# The issue-11 figures (DESIGN §2a) of the VMs whose agent sends them; db-1 and backup-1 run
# an older agent and send none. mail-1's names are hostile: they must reach the page as text.
# Each stays below its thresholds where a crossing would change the VM's state.
EXTRAS: dict[str, dict[str, Any]] = {
    "web-1": dict(
        rx=1_234_567.0, tx=80_000.0, swap=(1024, 123, 12.0),
        io=("vda", 40_960.0, 204_800.0, 3.1),
        filesystems=[("/", "/dev/vda1", "ext4", 47, 19.3, 41.0), ("/srv/backup", "/dev/vdb", "xfs", 100, 62, 62.0)],
        interfaces=["eth0"],
        temperatures=[("coretemp package_id_0", 48.0), ("acpitz temp1", 41.5)],
    ),
    "mail-1": dict(
        rx=512.0, tx=2_500_000.0, swap=(512, 322.6, 63.0),
        io=(HOSTILE, 1000.0, 0.0, 0.4),
        filesystems=[("/", "/dev/sda1", "ext4", 20, 11.1, 55.5), (f"/srv/{HOSTILE}", HOSTILE, "ext4", 10, 8.4, 84.0)],
        interfaces=[HOSTILE],
        temperatures=[(HOSTILE, 55.0)],
    ),
}
#: Seconds between the history documents of seed_fleet.
HISTORY_STEP = 1200


def system_extras(vm: str, step: int = 0, wave: float = 1.0) -> dict[str, Any]:
    """The `system` fields of EXTRAS[vm] for the document `step` reports before the latest
    (0: the latest, rates as listed; earlier ones vary with `wave` in 0–1); byte counters
    grow by rate × HISTORY_STEP per document. Empty for a VM of an older agent."""
    e = EXTRAS.get(vm)
    if not e:
        return {}
    scale = 1.0 if step == 0 else 0.3 + 1.4 * wave
    rx, tx = round(e["rx"] * scale, 1), round(e["tx"] * scale, 1)
    # Totals as the kernel counts them: the latest value minus what later documents added.
    rx_total = 50e9 + e["rx"] * HISTORY_STEP * (1000 - step)
    tx_total = 20e9 + e["tx"] * HISTORY_STEP * (1000 - step)
    names = e["interfaces"]
    interfaces = [
        {"name": name, "rx_bytes_per_s": rx / len(names), "tx_bytes_per_s": tx / len(names),
         "rx_bytes": rx_total / len(names), "tx_bytes": tx_total / len(names)}
        for name in names
    ]
    total_mb, used_mb, swap = e["swap"]
    device, read, write, util = e["io"]
    return {
        "network": {"rx_bytes_per_s": rx, "tx_bytes_per_s": tx, "rx_bytes": rx_total, "tx_bytes": tx_total,
                    "interfaces": interfaces},
        "swap": {"total_mb": total_mb, "used_mb": used_mb, "percent": swap},
        "disk_io": {"device": device, "read_bytes_per_s": read * scale, "write_bytes_per_s": write * scale,
                    "util_percent": round(min(100, util * scale), 1)},
        "filesystems": [{"path": path, "device": dev, "fstype": fstype, "total_gb": total, "used_gb": used,
                         "percent": pct} for path, dev, fstype, total, used, pct in e["filesystems"]],
        "temperatures": [{"sensor": sensor, "celsius": round(c - 4 + 4 * scale, 1) if step else c}
                         for sensor, c in e["temperatures"]],
        "boot_id": f"boot-{vm}",
    }


def fleet_doc(vm: str, ts: float, step: int = 0, wave: float = 1.0, **figures: Any) -> dict[str, Any]:
    """A document of the scenario fleet: make_doc plus the VM's issue-11 figures."""
    doc = make_doc(vm, ts, **figures)
    doc["system"].update(system_extras(vm, step, wave))
    return doc


def seed_fleet(hub: Hub, now: float | None = None, history_hours: int = 24) -> float:
    """Loads the four VMs into `hub` over HTTP: a history every 20 min for
    `history_hours` for the three live VMs, then their latest documents; returns `now`."""
    now = time.time() if now is None else now
    for vm, figures in FLEET.items():
        stale = vm == "backup-1"
        latest = now - STALE_MINUTES * 60 if stale else now - 20
        interval = 60 if stale else 300
        if not stale:
            steps = history_hours * 3600 // HISTORY_STEP
            for i in range(steps, 0, -1):
                ts = latest - i * HISTORY_STEP
                wave = (i % 9) / 9
                varied = dict(figures)
                varied["cpu"] = round(min(100, figures["cpu"] * (0.4 + 1.2 * wave)), 1)
                varied["memory"] = round(min(100, figures["memory"] - 6 + 6 * wave), 1)
                varied["disk"] = round(min(100, figures["disk"] - 2 * i / steps), 1)
                varied["load1"] = round(figures["load1"] * (0.5 + wave), 2)
                varied["load5"] = round(figures["load5"] * (0.6 + 0.8 * wave), 2)
                post(hub, fleet_doc(vm, ts, i, wave, interval_seconds=interval, containers=CONTAINERS[vm],
                                    services=SERVICES[vm], **varied))
        post(hub, fleet_doc(vm, latest, interval_seconds=interval, containers=CONTAINERS[vm],
                            services=SERVICES[vm], **figures))
    return now


def db_alert(now: float) -> dict[str, Any]:
    return {
        "id": "db-1/disk",
        "vm_id": "db-1",
        "kind": "threshold",
        "metric": "disk",
        "severity": "critical",
        "value": 93.4,
        "threshold": 90,
        "since": iso(now - 1500),
        "last_notified": iso(now - 1500),
        "message": "disk 93.4%, critical at 90%",
    }


def canvas_ink(page: Any, selector: str) -> list[int]:
    """For every canvas under `selector`: how many pixels are not fully transparent."""
    return page.evaluate(
        """(sel) => [...document.querySelectorAll(sel)].map((c) => {
            if (!c.width || !c.height) return 0;
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let n = 0;
            for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
            return n;
        })""",
        selector,
    )


_HISTOGRAM = """(c, x0, x1) => {
    const d = c.getContext('2d').getImageData(x0, 0, x1 - x0, c.height).data;
    const out = {red: 0, amber: 0, green: 0, grey: 0};
    for (let i = 0; i < d.length; i += 4) {
        if (d[i + 3] < 200) continue;
        const [r, g, b] = [d[i], d[i + 1], d[i + 2]];
        const max = Math.max(r, g, b), min = Math.min(r, g, b);
        if (max - min < 40) out.grey++;
        else if (r > 150 && g < 110) out.red++;
        else if (r > 180 && g > 120 && b < 90) out.amber++;
        else if (g > r && g > b) out.green++;
    }
    return out;
}"""


def canvas_colors(page: Any, selector: str) -> list[dict[str, int]]:
    """For every canvas under `selector`: a histogram of its opaque pixels by dominant
    hue (red / amber / green / grey), to tell a red line or gauge from a green one."""
    return page.evaluate(
        f"(sel) => [...document.querySelectorAll(sel)].map((c) => ({_HISTOGRAM})(c, 0, c.width))", selector
    )


def gauge_colors(page: Any, scope: str) -> dict[str, dict[str, int]]:
    """The colour histogram of each gauge (cpu, memory, disk) drawn on the gauge canvas
    under `scope`: the canvas holds the three side by side, one per third."""
    return page.evaluate(
        f"""(scope) => {{
            const c = document.querySelector(scope + ' .gauges canvas');
            const third = Math.floor(c.width / 3);
            return Object.fromEntries(['cpu', 'memory', 'disk'].map((m, i) => [m, ({_HISTOGRAM})(c, i * third, (i + 1) * third)]));
        }}""",
        scope,
    )


def shot(page: Any, name: str, full_page: bool = True) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def line_pixels(page: Any, selector: str, variables: list[str]) -> list[int]:
    """For the canvas at `selector`: how many opaque pixels are close to the colour of each
    CSS variable (the chart line colours --line, --line2 …), to count the lines drawn."""
    return page.evaluate(
        """([sel, vars]) => {
            const c = document.querySelector(sel);
            const probe = document.createElement('canvas').getContext('2d');
            const css = getComputedStyle(document.documentElement);
            const rgb = vars.map((v) => {
                probe.fillStyle = css.getPropertyValue(v).trim();
                probe.fillRect(0, 0, 1, 1);
                return [...probe.getImageData(0, 0, 1, 1).data.slice(0, 3)];
            });
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            const out = rgb.map(() => 0);
            for (let i = 0; i < d.length; i += 4) {
                if (d[i + 3] < 200) continue;
                rgb.forEach(([r, g, b], k) => {
                    if (Math.abs(d[i] - r) + Math.abs(d[i + 1] - g) + Math.abs(d[i + 2] - b) < 60) out[k]++;
                });
            }
            return out;
        }""",
        [selector, variables],
    )
