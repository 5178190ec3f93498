"""Alerts end to end, against a real SMTP server (STARTTLS and AUTH required, a
self-signed certificate the hub trusts through ca_file) and a webhook receiver:

- `lookout notify-test` sends one test email and one webhook POST, and reports a refused
  login with the server's 535 text;
- a VM whose disk crosses the critical threshold sends exactly one email when the alert
  opens and one when it resolves, with `lookout check` run twice in a row (the issue's
  "done when"), and with `check` runs interleaved with a running `lookout serve`;
- a notice that cannot be delivered (SMTP down) stays in DATA/outbox/ and is delivered
  exactly once when the server is back and the retry is due;
- the API shows the active alert and, once resolved, the alert history;
- a new boot id sends exactly one "rebooted" email (resolved by itself, silently), and a
  filesystem over its threshold sends one email naming its path (issue 11).

Waits are bounded polling; the one "nothing more happens" check waits for a number of
alert passes (alerts.json's updated_at advancing), not for a fixed time."""

from __future__ import annotations

import email.utils
import json
import re
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from alert_support import (  # noqa: F401 (smtp_cert, smtp_server and webhook are fixtures)
    FROM,
    PUBLIC_URL,
    RECIPIENT,
    SMTP_PASSWORD,
    SMTP_USER,
    Mail,
    SMTPServer,
    WebhookReceiver,
    alert_config,
    alerts_state,
    outbox_entries,
    smtp_cert,
    smtp_server,
    webhook,
    write_config,
    write_doc,
)
from conftest import Hub, iso, make_doc, parse_iso, run_lookout

VM = "web-1"
OPEN_SUBJECT = "[Lookout] CRITICAL web-1: disk 93%, critical at 90%"
RESOLVED_SUBJECT = "[Lookout] RESOLVED web-1: disk"
#: What a collector on a 5-minute cron writes: the VM is stale only after 15 minutes.
INTERVAL = 300


def doc(disk: float, ts: int) -> dict[str, Any]:
    return make_doc(VM, ts, disk=disk, interval_seconds=INTERVAL)


def check(lookout_bin: Path, data: Path, config: Path, smtp: SMTPServer, expect: int = 0) -> str:
    """One `lookout check`; asserts its exit code and returns stdout + stderr."""
    result = run_lookout(lookout_bin, "check", "--data", str(data), "--config", str(config), env=smtp.env())
    output = f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"
    assert result.returncode == expect, f"lookout check exited {result.returncode}, expected {expect}\n{output}"
    assert SMTP_PASSWORD not in output, "the SMTP password appears in the output of lookout check"
    return output


def subjects(mails: list[Mail]) -> list[str]:
    return [m.subject for m in mails]


def events(hook: WebhookReceiver) -> list[str]:
    return [post.json()["event"] for post in hook.received()]


def body_lines(mail: Mail) -> list[str]:
    return [line.rstrip() for line in mail.body.splitlines()]


def assert_open_email(mail: Mail, value: str = "93") -> None:
    assert mail.subject == OPEN_SUBJECT
    assert mail.sidecar["mail_from"] == FROM
    assert mail.sidecar["rcpt_tos"] == [RECIPIENT]
    assert mail.sidecar["login"] == SMTP_USER
    assert mail.sidecar["tls"] is True, "the message was accepted without STARTTLS"
    lines = body_lines(mail)
    assert "VM:        web-1" in lines, mail.body
    assert "Severity:  critical" in lines, mail.body
    assert f"Value:     {value}" in lines, mail.body
    assert "Threshold: 90" in lines, mail.body
    assert any(re.fullmatch(r"Since:\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", line) for line in lines), mail.body
    assert f"Dashboard: {PUBLIC_URL}/#vm/web-1" in lines, mail.body


def assert_resolved_email(mail: Mail) -> None:
    assert mail.subject == RESOLVED_SUBJECT
    assert mail.sidecar["rcpt_tos"] == [RECIPIENT]
    lines = body_lines(mail)
    assert "VM:        web-1" in lines, mail.body
    assert any(line.startswith("Severity:") and "resolved" in line for line in lines), mail.body
    assert f"Dashboard: {PUBLIC_URL}/#vm/web-1" in lines, mail.body


def wait_for_passes(data: Path, count: int, hub: Hub | None = None, timeout: float = 20.0) -> None:
    """Waits until `count` more alert passes have saved DATA/alerts.json (its updated_at
    advanced `count` times): the settle time of "and nothing more is sent"."""
    seen: list[str] = []
    current = alerts_state(data).get("updated_at")
    deadline = time.monotonic() + timeout
    while len(seen) < count:
        if hub is not None and hub.poll() is not None:
            raise AssertionError(f"lookout serve exited with {hub.poll()}\n{hub.log()}")
        try:
            stamp = alerts_state(data).get("updated_at")
        except ValueError:
            stamp = current  # never expected (the file is replaced atomically), but not a pass either
        if stamp != current:
            seen.append(stamp)
            current = stamp
        if time.monotonic() > deadline:
            raise AssertionError(f"only {len(seen)} of {count} alert passes within {timeout:.0f} s ({seen})")
        time.sleep(0.05)


# MARK: - 1. notify-test


def test_notify_test_sends_one_email_and_one_webhook(
    lookout_bin: Path, tmp_path: Path, smtp_server: SMTPServer, webhook: WebhookReceiver
) -> None:
    config = write_config(tmp_path / "hub.json", alert_config(smtp_server, webhook))
    before = datetime.now(timezone.utc)
    result = run_lookout(lookout_bin, "notify-test", "--config", str(config), env=smtp_server.env())
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "email: sent" in result.stdout, output
    assert re.search(r"^webhook:generic:127\.0\.0\.1:[0-9a-f]{8}: sent$", result.stdout, re.M), output
    assert SMTP_PASSWORD not in output

    mails = smtp_server.wait_for_messages(1)
    hooks = webhook.wait_for_posts(1)
    mail = mails[0]
    headers = mail.message
    assert headers["From"] == FROM
    assert headers["To"] == RECIPIENT
    assert headers["Subject"].startswith("[Lookout] ") and "notify-test" in headers["Subject"], headers["Subject"]
    sent = email.utils.parsedate_to_datetime(headers["Date"])
    assert sent.tzinfo is not None, headers["Date"]
    assert abs((sent - before).total_seconds()) < 300, f"Date {headers['Date']} is not about now ({before})"
    assert re.fullmatch(r"<[^<>@\s]+@test\.example>", headers["Message-ID"]), headers["Message-ID"]
    assert "notify-test" in mail.body, mail.body
    assert mail.sidecar["mail_from"] == FROM and mail.sidecar["rcpt_tos"] == [RECIPIENT]
    assert mail.sidecar["login"] == SMTP_USER and mail.sidecar["tls"] is True
    assert mail.sidecar["defects"] == []

    post = hooks[0]
    assert post.path == "/hook"
    assert post.headers.get("Content-Type", "").startswith("application/json")
    payload = post.json()
    assert payload["event"] == "opened"
    assert "notify-test" in payload["text"]

    # Exactly one of each, also a moment later.
    assert len(smtp_server.messages()) == 1
    assert len(webhook.received()) == 1


def test_notify_test_reports_a_refused_login(
    lookout_bin: Path, tmp_path: Path, smtp_server: SMTPServer, webhook: WebhookReceiver
) -> None:
    config = write_config(tmp_path / "hub.json", alert_config(smtp_server, webhook))
    wrong = "not-the-password"
    result = run_lookout(lookout_bin, "notify-test", "--config", str(config), env=smtp_server.env(password=wrong))
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    failed = [line for line in result.stdout.splitlines() if line.startswith("email: FAILED")]
    assert failed, output
    assert "535" in failed[0] and "Authentication credentials invalid" in failed[0], failed[0]
    assert wrong not in output and SMTP_PASSWORD not in output
    # The webhook is a channel of its own: it still got its test message.
    assert re.search(r"^webhook:generic:127\.0\.0\.1:[0-9a-f]{8}: sent$", result.stdout, re.M), output
    assert len(webhook.wait_for_posts(1)) == 1
    assert smtp_server.messages() == []


# MARK: - 2. the issue's "done when": lookout check twice in a row


def test_check_twice_sends_one_email_per_transition(
    lookout_bin: Path, tmp_path: Path, smtp_server: SMTPServer, webhook: WebhookReceiver
) -> None:
    data = tmp_path / "data"
    config = write_config(tmp_path / "hub.json", alert_config(smtp_server, webhook))
    t1 = int(time.time())
    write_doc(data, doc(93, t1))

    first = check(lookout_bin, data, config, smtp_server)
    assert "1 active alert(s)" in first and "failed 0" in first, first
    check(lookout_bin, data, config, smtp_server)

    mails = smtp_server.wait_for_messages(1)
    assert subjects(mails) == [OPEN_SUBJECT]
    assert_open_email(mails[0])
    posts = webhook.wait_for_posts(1)
    payload = posts[0].json()
    assert payload["event"] == "opened" and payload["subject"] == OPEN_SUBJECT
    assert payload["alert"]["id"] == "web-1/disk" and payload["alert"]["severity"] == "critical"
    state = alerts_state(data)
    assert [a["id"] for a in state["alerts"]] == ["web-1/disk"]
    assert outbox_entries(data) == []

    # The disk is cleaned up: a newer document at 50 %.
    write_doc(data, doc(50, max(int(time.time()), t1 + 1)))
    resolved = check(lookout_bin, data, config, smtp_server)
    assert "0 active alert(s)" in resolved, resolved
    mails = smtp_server.wait_for_messages(2)
    assert subjects(mails) == [OPEN_SUBJECT, RESOLVED_SUBJECT]
    assert_resolved_email(mails[1])
    webhook.wait_for_posts(2)
    assert events(webhook) == ["opened", "resolved"]

    check(lookout_bin, data, config, smtp_server)
    assert subjects(smtp_server.messages()) == [OPEN_SUBJECT, RESOLVED_SUBJECT], "total emails must be 2"
    assert events(webhook) == ["opened", "resolved"]
    assert alerts_state(data)["alerts"] == []
    assert outbox_entries(data) == []


# MARK: - 3. check beside a running serve


def test_check_beside_serve_sends_one_email_per_transition(
    lookout_bin: Path, tmp_path: Path, start_hub, smtp_server: SMTPServer, webhook: WebhookReceiver
) -> None:
    data = tmp_path / "data"
    config = write_config(tmp_path / "hub.json", alert_config(smtp_server, webhook))
    t0 = int(time.time())
    write_doc(data, doc(25, t0))
    hub = start_hub("--config", str(config), "--poll-interval", "1", "--alert-interval", "1",
                    data=data, env=smtp_server.env())
    hub.wait_for(lambda: hub.get_json(f"/api/monitoring/vm/{VM}")["system"]["disk"]["percent"] == 25,
                 "serve to load web-1")
    wait_for_passes(data, 1, hub)

    # Opened: the disk crosses 90 %; cron's check runs while serve's passes run too.
    t1 = max(int(time.time()), t0 + 1)
    write_doc(data, doc(93, t1))
    check(lookout_bin, data, config, smtp_server)
    smtp_server.wait_for_messages(1)
    check(lookout_bin, data, config, smtp_server)
    wait_for_passes(data, 3, hub)
    assert subjects(smtp_server.messages()) == [OPEN_SUBJECT], hub.log()
    assert events(webhook) == ["opened"], hub.log()
    assert outbox_entries(data) == []
    assert [a["id"] for a in alerts_state(data)["alerts"]] == ["web-1/disk"], hub.log()
    # serve's own view is the newest document too (it polls every second).
    hub.wait_for(lambda: hub.get_json(f"/api/monitoring/vm/{VM}")["system"]["disk"]["percent"] == 93,
                 "serve to show the 93 % document", timeout=5)

    # Resolved: back to 50 %, again with check runs interleaved.
    t2 = max(int(time.time()), t1 + 1)
    write_doc(data, doc(50, t2))
    check(lookout_bin, data, config, smtp_server)
    smtp_server.wait_for_messages(2)
    check(lookout_bin, data, config, smtp_server)
    wait_for_passes(data, 3, hub)
    mails = smtp_server.messages()
    assert subjects(mails) == [OPEN_SUBJECT, RESOLVED_SUBJECT], hub.log()
    assert_open_email(mails[0])
    assert_resolved_email(mails[1])
    assert events(webhook) == ["opened", "resolved"], hub.log()
    assert outbox_entries(data) == []
    assert alerts_state(data)["alerts"] == [], hub.log()
    hub.wait_for(lambda: hub.get_json(f"/api/monitoring/vm/{VM}")["system"]["disk"]["percent"] == 50,
                 "serve to show the 50 % document", timeout=5)


# MARK: - 4. the outbox


def test_undeliverable_notice_waits_in_the_outbox_and_goes_out_once(
    lookout_bin: Path, tmp_path: Path, smtp_server: SMTPServer
) -> None:
    data = tmp_path / "data"
    config = write_config(tmp_path / "hub.json", alert_config(smtp_server))  # email only
    smtp_server.stop()
    write_doc(data, doc(93, int(time.time())))

    failed_at = int(time.time())
    output = check(lookout_bin, data, config, smtp_server, expect=75)
    assert "failed 1" in output, output
    entries = outbox_entries(data)
    assert len(entries) == 1, entries
    entry = json.loads(entries[0].read_text())
    assert entry["channel"] == "email"
    assert entry["attempts"] == 1
    assert entry["notice"]["kind"] == "opened" and entry["notice"]["alert"]["id"] == "web-1/disk"
    assert entry["last_error"], entry
    delay = parse_iso(entry["next_attempt"]) - failed_at
    assert 20 <= delay <= 40, f"first retry {delay} s after the failure, expected about 30 s: {entry}"

    # The server is back, but the retry is not due yet: nothing is sent, nothing is lost.
    smtp_server.start()
    output = check(lookout_bin, data, config, smtp_server)
    assert "waiting 1" in output, output
    assert smtp_server.messages() == []
    assert len(outbox_entries(data)) == 1
    assert json.loads(outbox_entries(data)[0].read_text())["attempts"] == 1

    # Time passes for the delivery schedule: the retry is due now.
    entry = json.loads(entries[0].read_text())
    entry["next_attempt"] = iso(time.time() - 5)
    tmp = entries[0].with_name(".rewrite.tmp")
    tmp.write_text(json.dumps(entry))
    tmp.replace(entries[0])

    output = check(lookout_bin, data, config, smtp_server)
    assert "sent 1" in output, output
    mails = smtp_server.wait_for_messages(1)
    assert subjects(mails) == [OPEN_SUBJECT]
    assert_open_email(mails[0])
    assert outbox_entries(data) == []

    check(lookout_bin, data, config, smtp_server)
    assert subjects(smtp_server.messages()) == [OPEN_SUBJECT]
    assert outbox_entries(data) == []


# MARK: - 5. the API


def test_api_shows_the_active_alert_then_the_history(
    lookout_bin: Path, tmp_path: Path, start_hub, smtp_server: SMTPServer
) -> None:
    data = tmp_path / "data"
    config = write_config(tmp_path / "hub.json", alert_config(smtp_server))
    hub = start_hub("--config", str(config), "--poll-interval", "1", "--alert-interval", "1",
                    data=data, env=smtp_server.env())
    t1 = int(time.time())
    write_doc(data, doc(93, t1))

    def active() -> list[dict[str, Any]]:
        return hub.get_json("/api/monitoring/alerts")["alerts"]

    alerts = hub.wait_for(active, "the disk alert in /api/monitoring/alerts")
    assert [a["id"] for a in alerts] == ["web-1/disk"], alerts
    alert = alerts[0]
    assert alert["vm_id"] == VM and alert["kind"] == "disk"
    assert alert["severity"] == "critical"
    assert alert["value"] == 93 and alert["threshold"] == 90
    assert parse_iso(alert["since"]) >= t1 - 1
    assert "resolved_at" not in alert or alert["resolved_at"] is None
    assert subjects(smtp_server.wait_for_messages(1)) == [OPEN_SUBJECT]

    write_doc(data, doc(50, max(int(time.time()), t1 + 1)))
    hub.wait_for(lambda: active() == [], "the alert to clear from /api/monitoring/alerts")
    history = hub.wait_for(lambda: hub.get_json("/api/monitoring/alerts/history")["alerts"],
                           "the resolved alert in /api/monitoring/alerts/history")
    assert [a["id"] for a in history] == ["web-1/disk"], history
    past = history[0]
    assert past["severity"] == "critical" and past["value"] == 93 and past["threshold"] == 90
    assert past["resolved_at"], past
    assert parse_iso(past["resolved_at"]) >= parse_iso(past["since"])
    assert subjects(smtp_server.wait_for_messages(2)) == [OPEN_SUBJECT, RESOLVED_SUBJECT]
    limited = hub.get_json("/api/monitoring/alerts/history?limit=1")["alerts"]
    assert [a["id"] for a in limited] == ["web-1/disk"]


# MARK: - 6. reboots and filesystems (issue 11)


def extras_doc(vm: str, ts: int, boot_id: str, uptime: float = 432000,
               filesystems: list[tuple[str, float]] | None = None) -> dict[str, Any]:
    """A document of an issue-11 agent: a boot id and, optionally, filesystems beyond the root."""
    document = make_doc(vm, ts, disk=25, uptime=uptime, interval_seconds=INTERVAL)
    document["system"]["boot_id"] = boot_id
    if filesystems is not None:
        document["system"]["filesystems"] = [
            {"path": path, "device": f"/dev/vd{chr(ord('a') + i)}", "fstype": "ext4", "total_gb": 100,
             "used_gb": percent, "percent": percent}
            for i, (path, percent) in enumerate([("/", 25.0)] + filesystems)
        ]
    return document


def test_a_new_boot_id_sends_exactly_one_rebooted_email(
    tmp_path: Path, start_hub, smtp_server: SMTPServer, webhook: WebhookReceiver
) -> None:
    data = tmp_path / "data"
    config = write_config(tmp_path / "hub.json", alert_config(smtp_server, webhook))
    first_boot, second_boot = "6f1c2a9e-0000-4000-8000-000000000001", "6f1c2a9e-0000-4000-8000-000000000002"
    t0 = int(time.time())
    write_doc(data, extras_doc(VM, t0, first_boot))
    hub = start_hub("--config", str(config), "--poll-interval", "1", "--alert-interval", "1",
                    data=data, env=smtp_server.env())
    # First sight of the VM: its boot id is remembered, and nothing is sent.
    hub.wait_for(lambda: alerts_state(data).get("boot_ids") == {VM: first_boot}, "the first boot id in alerts.json")
    wait_for_passes(data, 2, hub)
    assert smtp_server.messages() == [] and webhook.received() == [], hub.log()

    # The VM rebooted 3 minutes ago: a newer document with a new boot id.
    write_doc(data, extras_doc(VM, max(int(time.time()), t0 + 1), second_boot, uptime=180))
    mails = smtp_server.wait_for_messages(1)
    assert subjects(mails) == ["[Lookout] WARNING web-1: rebooted, up 3 minutes"], hub.log()
    lines = body_lines(mails[0])
    assert "Uptime:    3 minutes" in lines and "What:      reboot" in lines, mails[0].body
    assert f"Dashboard: {PUBLIC_URL}/#vm/web-1" in lines, mails[0].body
    posts = webhook.wait_for_posts(1)
    assert posts[0].json()["alert"]["id"] == "web-1/reboot" and posts[0].json()["alert"]["kind"] == "reboot"

    # Resolved by itself on the next pass, with no notice; more documents of the same boot send nothing.
    hub.wait_for(lambda: alerts_state(data)["alerts"] == [] and alerts_state(data)["boot_ids"] == {VM: second_boot},
                 "the reboot alert to resolve")
    write_doc(data, extras_doc(VM, max(int(time.time()), t0 + 2), second_boot, uptime=240))
    wait_for_passes(data, 3, hub)
    assert subjects(smtp_server.messages()) == ["[Lookout] WARNING web-1: rebooted, up 3 minutes"], hub.log()
    assert events(webhook) == ["opened"], hub.log()
    history = hub.get_json("/api/monitoring/alerts/history")["alerts"]
    assert [a["id"] for a in history] == ["web-1/reboot"], history
    assert outbox_entries(data) == []


def test_a_full_filesystem_sends_one_email_naming_its_path(
    tmp_path: Path, start_hub, smtp_server: SMTPServer
) -> None:
    data = tmp_path / "data"
    # backup-1's /srv/backup may run fuller (per-path override); web-1's uses the disk thresholds.
    config = write_config(tmp_path / "hub.json", alert_config(
        smtp_server, overrides={"backup-1": {"fs:/srv/backup": {"warning": 95, "critical": 98}}}))
    t0 = int(time.time())
    write_doc(data, extras_doc(VM, t0, "boot-web", filesystems=[("/srv/backup", 91.0)]))
    write_doc(data, extras_doc("backup-1", t0, "boot-backup", filesystems=[("/srv/backup", 91.0)]))
    hub = start_hub("--config", str(config), "--poll-interval", "1", "--alert-interval", "1",
                    data=data, env=smtp_server.env())
    subject = "[Lookout] CRITICAL web-1: filesystem /srv/backup 91%, critical at 90%"
    mails = smtp_server.wait_for_messages(1)
    assert subjects(mails) == [subject], hub.log()
    lines = body_lines(mails[0])
    assert "What:      fs /srv/backup" in lines and "Threshold: 90" in lines, mails[0].body
    # The root (25 %) is the disk alert and stays quiet; more passes send nothing more.
    write_doc(data, extras_doc(VM, max(int(time.time()), t0 + 1), "boot-web", filesystems=[("/srv/backup", 91.5)]))
    wait_for_passes(data, 3, hub)
    assert subjects(smtp_server.messages()) == [subject], hub.log()
    assert [a["id"] for a in alerts_state(data)["alerts"]] == ["web-1/fs/srv/backup"], hub.log()
    vm = hub.get_json(f"/api/monitoring/vm/{VM}")
    assert vm["system"]["filesystems"][1]["path"] == "/srv/backup", vm


@pytest.mark.parametrize(
    "monitoring, must_mention",
    [
        ({"thresholds": {"swap": {"warning": 90, "critical": 50}}}, "thresholds.swap.critical: 50.0 must be at least"),
        ({"thresholds": {"disk_util": {"warning": 90, "critical": 98, "sustained_samples": 0}}},
         "thresholds.disk_util.sustained_samples: 0 is not between 1 and 1000"),
        ({"overrides": {"backup-1": {"fs:srv/backup": {"warning": 95, "critical": 98}}}},
         'overrides.backup-1.fs:srv/backup: "srv/backup" is not an absolute path'),
        ({"overrides": {"lab-1": {"reboot": "no"}}}, "overrides.lab-1.reboot: expected true or false"),
        ({"overrides": {"lab-1": {"reboots": False}}}, "overrides.lab-1.reboots: unknown key"),
    ],
)
def test_check_refuses_a_bad_issue_11_threshold_naming_the_key(
    lookout_bin: Path, tmp_path: Path, monitoring: dict[str, Any], must_mention: str
) -> None:
    config = write_config(tmp_path / "hub.json", {"monitoring": monitoring})
    result = run_lookout(lookout_bin, "check", "--data", str(tmp_path / "data"), "--config", str(config))
    assert result.returncode == 78, f"exit {result.returncode}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    assert must_mention in result.stderr, result.stderr
