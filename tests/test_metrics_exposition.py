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
