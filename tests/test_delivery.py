"""Delivery end to end (issue 10, items 2 and 3), with real receivers and real processes:

- two webhooks on one host are two channels: each hears exactly its own notices, once,
  from `lookout check` and from `lookout notify-test`; a config naming one target twice is
  refused by name (exit 78);
- a relay that accepts TCP and never answers holds up neither the webhook beside it nor
  the next alert pass of `lookout serve`;
- a webhook on a closed port fails at once, with a reason that says "refused";
- a webhook that refuses for good shows as a failing channel in /api/monitoring/status and
  on the dashboard;
- a full disk (a small tmpfs filled to ENOSPC) loses no notice: it goes out from memory,
  once, and the state is written when there is space again.

Waits are bounded polling; the time bounds are generous failure bounds, each far below
what the old behaviour took (a 30 s SMTP reply timeout, 15 s of connection retries)."""

from __future__ import annotations

import errno
import json
import re
import subprocess
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from alert_support import (  # noqa: F401 (webhook is a fixture)
    FROM,
    RECIPIENT,
    SilentRelay,
    WebhookReceiver,
    alerts_state,
    outbox_entries,
    wait_until,
    webhook,
    write_config,
    write_doc,
)
from conftest import clean_env, find_free_port, make_doc, run_lookout
from dashboard_support import PUBLIC, UI_TIMEOUT, chromium

VM = "web-1"


def doc(disk: float, ts: int) -> dict[str, Any]:
    return make_doc(VM, ts, disk=disk, interval_seconds=300)


def config(webhooks: list[dict[str, str]], email: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"monitoring": {
        "thresholds": {"disk": {"warning": 80, "critical": 90}},
        "notifications": {"webhooks": webhooks, "cooldown_minutes": 30,
                          **({"email": email} if email is not None else {})},
    }}


def check(lookout_bin: Path, data: Path, path: Path, expect: int = 0) -> str:
    result = run_lookout(lookout_bin, "check", "--data", str(data), "--config", str(path))
    output = f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"
    assert result.returncode == expect, f"lookout check exited {result.returncode}, expected {expect}\n{output}"
    return output


def events(posts: list[Any]) -> list[str]:
    return [post.json()["event"] for post in posts]


@pytest.fixture
def silent_relay() -> Iterator[SilentRelay]:
    relay = SilentRelay()
    yield relay
    relay.close()


# MARK: - item 2: a channel per target


def test_two_webhooks_on_one_host_each_hear_their_notices_once(
    lookout_bin: Path, tmp_path: Path, webhook: WebhookReceiver
) -> None:
    data = tmp_path / "data"
    path = write_config(tmp_path / "hub.json", config([
        {"kind": "generic", "url": webhook.url_for("/topic-a")},
        {"kind": "generic", "url": webhook.url_for("/topic-b")},
    ]))
    t1 = int(time.time())
    write_doc(data, doc(93, t1))
    assert "sent 2" in check(lookout_bin, data, path)
    write_doc(data, doc(50, t1 + 1))
    assert "sent 2" in check(lookout_bin, data, path)
    check(lookout_bin, data, path)

    assert events(webhook.received_at("/topic-a")) == ["opened", "resolved"]
    assert events(webhook.received_at("/topic-b")) == ["opened", "resolved"]
    assert len(webhook.received()) == 4
    assert outbox_entries(data) == []


def test_notify_test_goes_through_the_outbox_to_each_channel(
    lookout_bin: Path, tmp_path: Path, webhook: WebhookReceiver
) -> None:
    data = tmp_path / "data"
    path = write_config(tmp_path / "hub.json", config([
        {"kind": "ntfy", "url": webhook.url_for("/a")},
        {"kind": "ntfy", "url": webhook.url_for("/b")},
    ]))
    result = run_lookout(lookout_bin, "notify-test", "--data", str(data), "--config", str(path))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    sent = re.findall(r"^(webhook:ntfy:127\.0\.0\.1:[0-9a-f]{8}): sent$", result.stdout, re.M)
    assert len(set(sent)) == 2, output
    assert len(webhook.received_at("/a")) == 1 and len(webhook.received_at("/b")) == 1, webhook.received()
    assert outbox_entries(data) == []


def test_notify_test_does_not_leave_a_failed_test_notice_queued(lookout_bin: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    closed = find_free_port()
    path = write_config(tmp_path / "hub.json", config([{"kind": "generic", "url": f"http://127.0.0.1:{closed}/x"}]))
    result = run_lookout(lookout_bin, "notify-test", "--data", str(data), "--config", str(path))
    assert result.returncode == 1, result.stdout + result.stderr
    assert re.search(rf"FAILED: .*connection refused by 127\.0\.0\.1:{closed}$", result.stdout, re.M), result.stdout
    assert outbox_entries(data) == []


@pytest.mark.parametrize("command", ["check", "serve"])
def test_one_target_named_twice_is_refused_by_name(lookout_bin: Path, tmp_path: Path, command: str) -> None:
    path = write_config(tmp_path / "hub.json", config([
        {"kind": "ntfy", "url": "https://ntfy.example.invalid/alerts"},
        {"kind": "slack", "url": "https://hooks.example.invalid/T0/B0"},
        {"kind": "ntfy", "url": "https://ntfy.example.invalid/alerts"},
    ]))
    args = ["--data", str(tmp_path / "data"), "--config", str(path)]
    if command == "serve":
        args += ["--listen", f"127.0.0.1:{find_free_port()}", "--no-local-agent"]
    result = run_lookout(lookout_bin, command, *args)
    assert result.returncode == 78, result.stdout + result.stderr
    assert "notifications.webhooks[2].url: the same target as notifications.webhooks[0]" in result.stderr, result.stderr


# MARK: - item 3: one broken channel holds up nothing else


def test_a_relay_that_never_answers_delays_neither_webhooks_nor_alert_passes(
    lookout_bin: Path, tmp_path: Path, start_hub, webhook: WebhookReceiver, silent_relay: SilentRelay
) -> None:
    data = tmp_path / "data"
    email = {"enabled": True, "smtp_host": "127.0.0.1", "smtp_port": silent_relay.port, "security": "none",
             "from": FROM, "recipients": [RECIPIENT]}
    path = write_config(tmp_path / "hub.json", config([{"kind": "generic", "url": webhook.url}], email=email))
    t1 = int(time.time())
    write_doc(data, doc(93, t1))
    hub = start_hub("--config", str(path), "--poll-interval", "1", "--alert-interval", "1", data=data)

    # The email channel is stuck in the relay's greeting (30 s reply timeout); the webhook
    # is delivered meanwhile, and alert passes keep running.
    wait_until(lambda: silent_relay.accepted >= 1, "the hub to connect to the silent relay")
    posts = webhook.wait_for_posts(1, timeout=20)
    assert events(posts) == ["opened"], hub.log()
    before = alerts_state(data).get("updated_at")
    wait_until(lambda: alerts_state(data).get("updated_at") != before, "another alert pass", timeout=10)

    write_doc(data, doc(50, t1 + 1))
    posts = webhook.wait_for_posts(2, timeout=20)
    assert events(posts) == ["opened", "resolved"], hub.log()
    # Email still has its notice queued (its relay has not answered): nothing lost.
    assert any(json.loads(p.read_text())["channel"] == "email" for p in outbox_entries(data)), hub.log()


def test_check_delivers_the_webhook_while_email_waits_on_a_silent_relay(
    lookout_bin: Path, tmp_path: Path, webhook: WebhookReceiver, silent_relay: SilentRelay
) -> None:
    data = tmp_path / "data"
    email = {"enabled": True, "smtp_host": "127.0.0.1", "smtp_port": silent_relay.port, "security": "none",
             "from": FROM, "recipients": [RECIPIENT]}
    path = write_config(tmp_path / "hub.json", config([{"kind": "generic", "url": webhook.url}], email=email))
    write_doc(data, doc(93, int(time.time())))
    process = subprocess.Popen(
        [str(lookout_bin), "check", "--data", str(data), "--config", str(path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=clean_env())
    try:
        # Email was queued first, and its relay holds it for the 30 s reply timeout; the
        # webhook does not wait for it.
        assert events(webhook.wait_for_posts(1, timeout=20)) == ["opened"]
        out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 75, out + err
    assert re.search(rf"^email: FAILED: .*no reply from 127\.0\.0\.1:{silent_relay.port} within", out, re.M), out + err
    assert [json.loads(p.read_text())["channel"] for p in outbox_entries(data)] == ["email"]


def test_a_webhook_on_a_closed_port_fails_at_once_with_a_clean_reason(lookout_bin: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    closed = find_free_port()
    path = write_config(tmp_path / "hub.json", config([{"kind": "generic", "url": f"http://127.0.0.1:{closed}/hook"}]))
    write_doc(data, doc(93, int(time.time())))
    started = time.monotonic()
    output = check(lookout_bin, data, path, expect=75)
    elapsed = time.monotonic() - started
    assert f"connection refused by 127.0.0.1:{closed}" in output, output
    assert "connection reset" not in output and "errno" not in output, output
    # The old client retried the connection for its whole 15 s timeout.
    assert elapsed < 12, f"lookout check took {elapsed:.1f} s against a closed port\n{output}"
    entries = outbox_entries(data)
    assert len(entries) == 1 and json.loads(entries[0].read_text())["attempts"] == 1


def test_a_webhook_that_refuses_shows_as_a_failing_channel(
    lookout_bin: Path, tmp_path: Path, start_hub, webhook: WebhookReceiver
) -> None:
    webhook.status = 404
    data = tmp_path / "data"
    path = write_config(tmp_path / "hub.json", config([{"kind": "slack", "url": webhook.url}]))
    write_doc(data, doc(93, int(time.time())))
    hub = start_hub("--config", str(path), "--poll-interval", "1", "--alert-interval", "1",
                    "--dashboard", str(PUBLIC), data=data)

    def refused() -> list[dict[str, Any]]:
        channels = hub.get_json("/api/monitoring/status")["channels"]
        return channels if channels and channels[0]["status"] == "refused" else []

    channels = hub.wait_for(refused, "the channel to show as refused in /api/monitoring/status")
    assert len(channels) == 1
    assert re.fullmatch(r"webhook:slack:127\.0\.0\.1:[0-9a-f]{8}", channels[0]["id"]), channels
    assert "HTTP 404" in channels[0]["last_error"] and "no such hook" in channels[0]["last_error"], channels
    assert channels[0]["queued"] == 1, channels
    assert "HTTP 404" in hub.log()

    # The dashboard says so.
    with chromium() as browser:
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(hub.url("/"))
        banner = page.locator("#banner")
        banner.wait_for(state="visible", timeout=UI_TIMEOUT)
        assert banner.inner_text() == f"Notifications: {channels[0]['id']} refused"
        assert not errors, errors


# MARK: - a full disk


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 8 MB tmpfs as the data folder (the test runs as root, as the hub's own tests do)."""
    folder = tmp_path / "data"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(folder)],
                             capture_output=True, text=True)
    assert mounted.returncode == 0, f"the full-disk test needs to mount a tmpfs (root): {mounted.stderr}"
    yield folder
    subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def fill(folder: Path) -> Path:
    """Writes a file until the file system is full (ENOSPC); returns it."""
    filler = folder / "filler"
    with open(filler, "wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        except OSError as error:
            assert error.errno == errno.ENOSPC, error
    return filler


def test_a_full_disk_loses_no_notice(
    lookout_bin: Path, tmp_path: Path, start_hub, webhook: WebhookReceiver, small_disk: Path
) -> None:
    data = small_disk
    path = write_config(tmp_path / "hub.json", config([{"kind": "generic", "url": webhook.url}]))
    hub = start_hub("--config", str(path), "--poll-interval", "1", "--alert-interval", "1", data=data)
    # A VM that reports every second: silent for 3 s, it is down (stale, critical).
    status, body = hub.post_doc(make_doc(VM, int(time.time()), disk=50, interval_seconds=1))
    assert status in (200, 201), body
    hub.wait_for(lambda: alerts_state(data).get("updated_at"), "a first alert pass")

    filler = fill(data)
    # The VM falls silent while nothing can be written: the notice still goes out, once. The
    # wait covers one retry (the outbox's first backoff is 30 s): what is promised is that the
    # notice kept in memory is delivered, not that its first attempt is.
    posts = webhook.wait_for_posts(1, timeout=50, log=hub.log)
    assert [p.json()["alert"]["id"] for p in posts] == [f"{VM}/stale"], hub.log()
    assert "kept in memory" in hub.log(), hub.log()
    assert hub.poll() is None, hub.log()

    # Space again: the state the passes kept in memory is written, nothing is sent twice.
    filler.unlink()
    hub.wait_for(lambda: [a["id"] for a in alerts_state(data).get("alerts", [])] == [f"{VM}/stale"],
                 "alerts.json to be written with the stale alert")
    before = alerts_state(data)["updated_at"]
    hub.wait_for(lambda: alerts_state(data)["updated_at"] != before, "another pass after the disk recovered")
    assert len(webhook.received()) == 1, webhook.received()
    assert outbox_entries(data) == []
