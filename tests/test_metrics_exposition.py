"""GET /metrics is valid Prometheus text exposition (0.0.4) as the reference parser
(prometheus_client) reads it: families, label sets and values of 3 VMs, including a
container name that needs escaping (`"` and `\\`); and a name with a
CR LF, which could forge a series in a writer that missed it, is refused at ingest."""

from __future__ import annotations

import time

from prometheus_client.parser import text_string_to_metric_families

from conftest import make_doc

HOSTILE = 'we"ird\\name{x="1"} 2'


def documents(now: int) -> list[dict]:
    return [
        make_doc("expo-plain", now - 30, cpu=12.5, memory=40.0, total_mb=1024, disk=25.5,
                 load1=0.08, load5=0.05, load15=0.02, interval_seconds=60),
        make_doc(
            "expo-docker", now - 20, cpu=73.25, memory=81.5, total_mb=2048, disk=91.0, load1=1.5,
            load5=1.25, load15=0.75, interval_seconds=60,
            containers=[
                {"name": "mailu-front", "status": "running", "cpu_percent": 0.5, "memory_mb": 45},
                {"name": HOSTILE, "status": "exited", "cpu_percent": 0, "memory_mb": 0},
                {"name": "db", "status": "restarting", "cpu_percent": 2.25, "memory_mb": 300.5},
            ],
        ),
        make_doc(
            "expo-services", now - 10, cpu=3.0, memory=55.0, total_mb=512, disk=10.0, interval_seconds=60,
            services=[
                {"id": "mail", "healthy": True, "response_ms": 125},
                {"id": "site", "healthy": False, "response_ms": 2000, "error": "timed out after 2000 ms"},
            ],
        ),
    ]


def scrape(hub, token=None):
    status, headers, raw = hub.request("GET", "/metrics", token=token)
    assert status == 200, f"/metrics: HTTP {status} {raw[:300]!r}"
    content_type = {k.lower(): v for k, v in headers.items()}.get("content-type", "")
    assert content_type.startswith("text/plain"), content_type
    assert "version=0.0.4" in content_type, content_type
    text = raw.decode("utf-8")
    families = {f.name: f for f in text_string_to_metric_families(text)}
    return text, families


def samples(family):
    """{frozenset(labels.items()): value} of a family's samples."""
    result = {}
    for sample in family.samples:
        key = frozenset(sample.labels.items())
        assert key not in result, f"{family.name}: duplicate series {dict(sample.labels)}"
        result[key] = sample.value
    return result


def labels(**pairs):
    return frozenset(pairs.items())


def test_metrics_exposition_parses_with_prometheus_client(start_hub):
    hub = start_hub(name="expo")
    now = int(time.time())
    docs = documents(now)
    for doc in docs:
        status, body = hub.post_doc(doc)
        assert status == 201, f"{doc['vm_id']}: {status} {body!r}"

    text, families = scrape(hub)
    vm_ids = [d["vm_id"] for d in docs]

    per_vm = {
        "lookout_cpu_percent": lambda d: d["system"]["cpu"]["percent"],
        "lookout_memory_percent": lambda d: d["system"]["memory"]["percent"],
        "lookout_disk_percent": lambda d: d["system"]["disk"]["percent"],
        "lookout_load1": lambda d: d["system"]["load"]["1m"],
        "lookout_load5": lambda d: d["system"]["load"]["5m"],
        "lookout_load15": lambda d: d["system"]["load"]["15m"],
        "lookout_memory_total_bytes": lambda d: d["system"]["memory"]["total_mb"] * 1048576,
        "lookout_up": lambda d: 1.0,
    }
    for name, expected in per_vm.items():
        assert name in families, f"{name} missing; families: {sorted(families)}"
        assert families[name].type == "gauge", f"{name}: type {families[name].type}"
        got = samples(families[name])
        want = {labels(vm_id=d["vm_id"]): float(expected(d)) for d in docs}
        assert got == want, f"{name}: {got} != {want}"

    # Containers: vm_id, container and status; the hostile name survives the escaping.
    running = samples(families["lookout_container_running"])
    assert running == {
        labels(vm_id="expo-docker", container="mailu-front", status="running"): 1.0,
        labels(vm_id="expo-docker", container=HOSTILE, status="exited"): 0.0,
        labels(vm_id="expo-docker", container="db", status="restarting"): 0.0,
    }, running
    container_cpu = samples(families["lookout_container_cpu_percent"])
    assert container_cpu == {
        labels(vm_id="expo-docker", container="mailu-front"): 0.5,
        labels(vm_id="expo-docker", container=HOSTILE): 0.0,
        labels(vm_id="expo-docker", container="db"): 2.25,
    }, container_cpu
    # The raw text escapes as 0.0.4 says: backslash and quote.
    assert 'container="we\\"ird\\\\name{x=\\"1\\"} 2"' in text

    healthy = samples(families["lookout_service_healthy"])
    assert healthy == {
        labels(vm_id="expo-services", service="mail"): 1.0,
        labels(vm_id="expo-services", service="site"): 0.0,
    }, healthy

    assert samples(families["lookout_vms"]) == {frozenset(): 3.0}
    # Every sample of every family is about one of the 3 VMs (or none, for fleet totals).
    for family in families.values():
        for sample in family.samples:
            if "vm_id" in sample.labels:
                assert sample.labels["vm_id"] in vm_ids, f"{family.name}: {sample.labels}"


def extras_doc(vm_id: str, ts: int, rx: float, tx: float) -> dict:
    """A document with every issue 11 figure: two interfaces, the root disk's I/O, swap, two
    filesystems (one path that needs escaping) and a sensor."""
    doc = make_doc(vm_id, ts, interval_seconds=60)
    doc["system"].update({
        "swap": {"total_mb": 1024, "used_mb": 256, "percent": 25.0},
        "network": {
            "rx_bytes_per_s": 5120.5, "tx_bytes_per_s": 880.0, "rx_bytes": rx + 10, "tx_bytes": tx + 20,
            "interfaces": [
                {"name": "eth0", "rx_bytes_per_s": 5120.5, "tx_bytes_per_s": 880.0, "rx_bytes": rx, "tx_bytes": tx},
                {"name": "wg0", "rx_bytes_per_s": 0.0, "tx_bytes_per_s": 0.0, "rx_bytes": 10, "tx_bytes": 20},
            ],
        },
        "disk_io": {"device": "vda", "read_bytes_per_s": 40960.0, "write_bytes_per_s": 204800.0,
                    "util_percent": 3.5},
        "filesystems": [
            {"path": "/", "device": "/dev/vda1", "fstype": "ext4", "total_gb": 47, "used_gb": 12,
             "percent": 25.5},
            {"path": '/srv/we"ird\\dir', "device": "/dev/vdb", "fstype": "xfs", "total_gb": 100,
             "used_gb": 91, "percent": 91.0},
        ],
        "temperatures": [{"sensor": "coretemp package_id_0", "celsius": 48.0}],
        "boot_id": "6f1c2d3e-0000-4000-8000-000000000001",
    })
    return doc


def test_system_extras_and_monthly_traffic_parse_with_prometheus_client(start_hub):
    hub = start_hub(name="expo-extras")
    now = int(time.time())
    for i, ts in enumerate([now - 120, now - 60]):
        status, body = hub.post_doc(extras_doc("expo-net", ts, rx=1_000_000 + i * 4096, tx=500_000 + i * 1024))
        assert status == 201, body
    status, body = hub.post_doc(make_doc("expo-old", now - 30))  # an older agent
    assert status == 201, body
    _, families = scrape(hub)

    gib, mib = 1073741824.0, 1048576.0
    eth0 = dict(vm_id="expo-net", interface="eth0")
    wg0 = dict(vm_id="expo-net", interface="wg0")
    expected = {
        "lookout_network_receive_bytes_per_second": ("gauge", {labels(**eth0): 5120.5, labels(**wg0): 0.0}),
        "lookout_network_transmit_bytes_per_second": ("gauge", {labels(**eth0): 880.0, labels(**wg0): 0.0}),
        # prometheus_client names a counter family without its `_total` suffix.
        "lookout_network_receive_bytes": ("counter", {labels(**eth0): 1_004_096.0, labels(**wg0): 10.0}),
        "lookout_network_transmit_bytes": ("counter", {labels(**eth0): 501_024.0, labels(**wg0): 20.0}),
        "lookout_disk_io_read_bytes_per_second": ("gauge", {labels(vm_id="expo-net", device="vda"): 40960.0}),
        "lookout_disk_io_write_bytes_per_second": ("gauge", {labels(vm_id="expo-net", device="vda"): 204800.0}),
        "lookout_disk_io_utilization_ratio": ("gauge", {labels(vm_id="expo-net", device="vda"): 0.035}),
        "lookout_swap_total_bytes": ("gauge", {labels(vm_id="expo-net"): 1024 * mib}),
        "lookout_swap_used_bytes": ("gauge", {labels(vm_id="expo-net"): 256 * mib}),
        "lookout_filesystem_used_ratio": ("gauge", {
            labels(vm_id="expo-net", path="/", device="/dev/vda1", fstype="ext4"): 0.255,
            labels(vm_id="expo-net", path='/srv/we"ird\\dir', device="/dev/vdb", fstype="xfs"): 0.91,
        }),
        "lookout_filesystem_size_bytes": ("gauge", {
            labels(vm_id="expo-net", path="/", device="/dev/vda1", fstype="ext4"): 47 * gib,
            labels(vm_id="expo-net", path='/srv/we"ird\\dir', device="/dev/vdb", fstype="xfs"): 100 * gib,
        }),
        "lookout_filesystem_used_bytes": ("gauge", {
            labels(vm_id="expo-net", path="/", device="/dev/vda1", fstype="ext4"): 12 * gib,
            labels(vm_id="expo-net", path='/srv/we"ird\\dir', device="/dev/vdb", fstype="xfs"): 91 * gib,
        }),
        "lookout_temperature_celsius": ("gauge", {
            labels(vm_id="expo-net", sensor="coretemp package_id_0"): 48.0}),
        # The month's sums from the byte deltas of the two samples (the totals, both interfaces).
        "lookout_traffic_month_bytes": ("gauge", {
            labels(vm_id="expo-net", direction="rx"): 4096.0,
            labels(vm_id="expo-net", direction="tx"): 1024.0,
        }),
    }
    for name, (kind, want) in expected.items():
        assert name in families, f"{name} missing; families: {sorted(families)}"
        assert families[name].type == kind, f"{name}: type {families[name].type}"
        got = samples(families[name])
        assert got == want, f"{name}: {got} != {want}"
    sample_names = {s.name for s in families["lookout_network_receive_bytes"].samples}
    assert sample_names == {"lookout_network_receive_bytes_total"}, sample_names


def test_a_crlf_in_a_container_name_is_refused_and_forges_nothing(start_hub):
    hub = start_hub(name="expo-crlf")
    now = int(time.time())
    forged = 'x"} 0\r\nlookout_up{vm_id="forged'
    doc = make_doc("expo-crlf", now - 5, containers=[
        {"name": forged, "status": "running", "cpu_percent": 0, "memory_mb": 1}])
    status, body = hub.post_doc(doc)
    assert status == 400, (status, body)
    assert "containers[0].name" in body["error"] and "U+000D" in body["error"], body
    status, body = hub.post_doc(make_doc("expo-crlf", now - 4))
    assert status == 201, body
    _, families = scrape(hub)
    assert set(samples(families["lookout_up"])) == {labels(vm_id="expo-crlf")}


def test_metrics_needs_the_token_when_one_is_set(start_hub):
    hub = start_hub(name="expo-token", token="metrics-test-token-0123456789")
    status, body = hub.post_doc(make_doc("expo-auth", int(time.time()) - 5))
    assert status == 201, body
    status, _, _ = hub.request("GET", "/metrics", token="")
    assert status == 401
    status, _, _ = hub.request("GET", "/metrics", token="wrong-token-0123456789")
    assert status == 401  # a token that identifies no one is 401 (RFC 6750), not 403
    _, families = scrape(hub)
    assert samples(families["lookout_vms"]) == {frozenset(): 1.0}
    # /healthz stays open.
    status, body = hub.get("/healthz", token="")
    assert status == 200 and body["status"] == "ok" and body["vms"] == 1, body
