"""Silences end to end (issue 12, items 1 and 11): a real `lookout serve`, `lookout silence`,
a real SMTP server (aiosmtpd, STARTTLS + AUTH) and the dashboard in a real Chromium.

- a silenced alert sends nothing while the silence lasts, is shown silenced (reason, end) in
  alerts.json and the API, and sends exactly one notice once the silence ends; an alert that
  opened and cleared during the silence sends nothing;
- the CLI and the API add, list and remove silences in DATA/silences.json, refuse bad input by
  name, and leave a damaged file as it is;
- the dashboard marks silenced alerts, silences an alert and a VM (needs the token), lists the
  active silences with their end and removes one.

The silence of the SMTP test lasts an hour and is ended with `lookout silence remove` (the
hub has no injectable clock; a natural end is covered at injected times in the Swift tests);
every wait is bounded polling, and the "nothing is sent" checks count alert passes."""

from __future__ import annotations

import json
import re
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from alert_support import (  # noqa: F401 (smtp_cert and smtp_server are fixtures)
    SMTPServer,
    alert_config,
    alerts_state,
    outbox_entries,
    smtp_cert,
    smtp_server,
    write_config,
    write_doc,
)
from conftest import make_doc, run_lookout
from test_alerts import OPEN_SUBJECT, subjects, wait_for_passes

TOKEN = "silence-test-token-0123456789"


def rfc3339(ts: float) -> str:
    return datetime.fromtimestamp(int(ts), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def doc(vm: str, disk: float, ts: float) -> dict[str, Any]:
    return make_doc(vm, int(ts), disk=disk, interval_seconds=300)


def silence(lookout_bin: Path, data: Path, *args: str, expect: int = 0) -> str:
    result = run_lookout(lookout_bin, "silence", *args, "--data", str(data))
    output = result.stdout + result.stderr
    assert result.returncode == expect, f"lookout silence {' '.join(args)}: exit {result.returncode}\n{output}"
    return output


def alert_by_id(data: Path, alert_id: str) -> dict[str, Any] | None:
    return next((a for a in alerts_state(data).get("alerts", []) if a["id"] == alert_id), None)


def test_a_silenced_alert_sends_nothing_and_one_notice_once_the_silence_ends(
    lookout_bin: Path, tmp_path: Path, start_hub, smtp_server: SMTPServer
) -> None:
    data = tmp_path / "data"
    config = write_config(tmp_path / "hub.json", alert_config(smtp_server))
    now = time.time()
    write_doc(data, doc("web-1", 25, now))
    write_doc(data, doc("db-1", 25, now))
    hub = start_hub("--config", str(config), "--poll-interval", "1", "--alert-interval", "1",
                    data=data, env=smtp_server.env())
    wait_for_passes(data, 1, hub)

    # An hour: the silence is ended by `remove`, which the hub treats as its end, so no part of
    # the test races a clock (a natural end is covered at injected times in SilencePassTests).
    output = silence(lookout_bin, data, "add", "--vm", "*", "--for", "1h", "--reason", "kernel upgrade")
    match = re.search(r"^added silence ([0-9a-f]{8}): vm \*, alert all, until (\S+): kernel upgrade$", output, re.M)
    assert match, output
    silence_id, end = match.groups()
    assert f"{silence_id}  vm *, alert all, until {end}: kernel upgrade" in silence(lookout_bin, data, "list")

    # Both VMs cross the critical threshold during the silence; db-1 recovers before it ends.
    # Each document is a second after the last of its VM: an equal timestamp is the same sample
    # to the hub (a duplicate, ignored), and a fast pass can see two writes in one second.
    t1 = max(int(time.time()), int(now) + 1)
    write_doc(data, doc("web-1", 93, t1))
    write_doc(data, doc("db-1", 93, t1))
    hub.wait_for(lambda: (alert_by_id(data, "web-1/disk") or {}).get("silenced")
                 and (alert_by_id(data, "db-1/disk") or {}).get("silenced"), "both alerts marked silenced")
    held = alert_by_id(data, "web-1/disk")
    assert held["silenced"] == {"silence_id": silence_id, "reason": "kernel upgrade", "until": end}, held
    api = hub.get_json("/api/monitoring/alerts")
    assert {a["id"]: a.get("silenced", {}).get("reason") for a in api["alerts"]} == {
        "web-1/disk": "kernel upgrade", "db-1/disk": "kernel upgrade"}, api
    write_doc(data, doc("db-1", 50, max(int(time.time()), t1 + 1)))
    hub.wait_for(lambda: alert_by_id(data, "db-1/disk") is None, "db-1's alert to clear")
    wait_for_passes(data, 2, hub)
    assert smtp_server.messages() == [], "a notice went out during the silence"
    assert outbox_entries(data) == []

    # The silence ends: web-1, still critical, is told once; db-1, cleared meanwhile, never.
    assert f"removed silence {silence_id}" in silence(lookout_bin, data, "remove", silence_id)
    smtp_server.wait_for_messages(1, timeout=60)
    wait_for_passes(data, 3, hub)
    mails = smtp_server.messages()
    assert subjects(mails) == [OPEN_SUBJECT], hub.log()
    assert alert_by_id(data, "web-1/disk").get("silenced") is None
    # The ended silence is no longer listed.
    assert "no active silence" in silence(lookout_bin, data, "list")


def test_the_cli_adds_lists_and_removes_and_refuses_bad_input_by_name(lookout_bin: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    output = silence(lookout_bin, data, "add", "--vm", "backup-*", "--alert", "service/api", "--for", "2h",
                     "--reason", "restore test")
    silence_id = re.search(r"added silence ([0-9a-f]{8})", output).group(1)
    listed = json.loads(silence(lookout_bin, data, "list", "--json"))["silences"]
    assert [(s["id"], s["vm"], s["alert"], s["reason"]) for s in listed] == [
        (silence_id, "backup-*", "service/api", "restore test")]
    ends = datetime.strptime(listed[0]["ends_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()
    assert abs(ends - (time.time() + 7200)) < 120, listed

    for args, expected in [
        (["--vm", "web 1", "--for", "2h"], "is not a vm_id or a pattern"),
        (["--vm", "web-1", "--alert", "disks", "--for", "2h"], "is not all, an alert kind"),
        (["--vm", "web-1", "--for", "2 hours"], "--for: \"2 hours\" is not a duration"),
        (["--vm", "web-1", "--until", "tomorrow"], "--until: \"tomorrow\" is not an RFC 3339 time"),
        (["--vm", "web-1"], "exactly one of --for"),
        (["--vm", "web-1", "--for", "1h", "--until", rfc3339(time.time() + 60)], "exactly one of --for"),
        (["--vm", "web-1", "--until", "2001-01-01T00:00:00Z"], "is not in the future"),
    ]:
        output = silence(lookout_bin, data, "add", *args, "--reason", "r", expect=64)
        assert expected in output, (args, output)

    assert "no active silence has the id \"ffffffff\"" in silence(lookout_bin, data, "remove", "ffffffff", expect=64)
    assert f"removed silence {silence_id}" in silence(lookout_bin, data, "remove", silence_id)
    assert "no active silence" in silence(lookout_bin, data, "list")

    help_text = run_lookout(lookout_bin, "silence", "add", "--help").stdout
    for option in ("--vm", "--alert", "--for", "--until", "--reason", "service/web"):
        assert option in help_text, help_text

    # A damaged file: a clear error naming it, exit 1, the file left as it was.
    (data / "silences.json").write_text('{"silences": [{"id": 1}')
    for args in (["list"], ["add", "--vm", "web-1", "--for", "1h", "--reason", "r"], ["remove", silence_id]):
        output = silence(lookout_bin, data, *args, expect=1)
        assert "silences.json is damaged" in output and "Traceback" not in output, output
    assert (data / "silences.json").read_text() == '{"silences": [{"id": 1}'


def test_the_api_adds_lists_and_removes_with_the_main_token(start_hub) -> None:
    hub = start_hub(token=TOKEN)

    def call(method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
        raw = json.dumps(body).encode() if body is not None else None
        status, _, answer = hub.request(method, path, raw, token=token, headers={"Content-Type": "application/json"})
        return status, json.loads(answer) if answer else None

    status, _ = call("POST", "/api/monitoring/silences", {"vm": "web-1", "for": "1h", "reason": "r"}, token="")
    assert status == 401
    status, added = call("POST", "/api/monitoring/silences", {"vm": "new-vm-9", "for": "30m", "reason": "install"})
    assert status == 201 and added["vm"] == "new-vm-9" and added["alert"] == "all", added
    status, body = call("GET", "/api/monitoring/silences")
    assert status == 200 and [s["id"] for s in body["silences"]] == [added["id"]], body
    for bad, expected in [
        ({"vm": "web-1", "reason": "r"}, "exactly one of for"),
        ({"vm": "web-1", "for": "soon", "reason": "r"}, "not a duration"),
        ({"vm": "web-1", "for": "1h", "reason": "r", "extra": 1}, "extra"),
        ({"vm": "web-1", "alert": "nope", "for": "1h", "reason": "r"}, "is not all, an alert kind"),
    ]:
        status, answer = call("POST", "/api/monitoring/silences", bad)
        assert status == 400 and expected in answer["error"], (bad, status, answer)
    assert call("DELETE", "/api/monitoring/silences/ffffffff")[0] == 404
    status, removed = call("DELETE", f"/api/monitoring/silences/{added['id']}")
    assert status == 200 and removed["removed"]["id"] == added["id"], removed
    assert call("GET", "/api/monitoring/silences")[1] == {"silences": []}
    saved = json.loads((hub.data / "silences.json").read_text())
    assert saved == {"silences": []}


# MARK: - dashboard


def test_the_dashboard_marks_adds_lists_and_removes_silences(start_hub) -> None:
    from dashboard_support import PUBLIC, UI_TIMEOUT, chromium, shot

    hub = start_hub("--poll-interval", "1", "--alert-interval", "1", "--dashboard", str(PUBLIC), token=TOKEN)
    status, body = hub.post_doc(doc("web-1", 93, time.time() - 5))
    assert status == 201, body
    hub.wait_for(lambda: hub.get_json("/api/monitoring/alerts")["alerts"], "web-1's disk alert")

    def silences() -> list[dict[str, Any]]:
        return hub.get_json("/api/monitoring/silences")["silences"]

    with chromium() as browser:
        ctx = browser.new_context(viewport={"width": 1280, "height": 900})
        ctx.add_init_script(f"localStorage.setItem('lookout.token', {json.dumps(TOKEN)})")
        errors: list[str] = []
        page = ctx.new_page()
        page.set_default_timeout(UI_TIMEOUT)
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(hub.url("/?refresh=2#alerts"))
        page.wait_for_function("window.__lookoutReady === true")
        row = page.locator("#alerts-body table.alerts tbody tr").first
        assert "No active silences." in page.locator("#alerts-body").inner_text()

        # Silence the alert: duration and reason, sent with the token.
        row.locator("button.silence-action").click()
        form = page.locator("#silence-form")
        assert form.locator("h2").inner_text() == "Silence disk on web-1"
        page.select_option("#silence-for", "1h")
        page.fill("#silence-reason", "kernel upgrade")
        shot(page, "silence-form")
        form.locator('button[type="submit"]').click()
        form.wait_for(state="detached")
        added = hub.wait_for(silences, "the silence in the API")
        assert [(s["vm"], s["alert"], s["reason"]) for s in added] == [("web-1", "disk", "kernel upgrade")]
        ends = datetime.strptime(added[0]["ends_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()
        assert abs(ends - (time.time() + 3600)) < 120, added

        # Listed with its end; the alert is marked silenced once a pass has judged it.
        listed = page.locator("#alerts-body table.silences tbody tr")
        listed.first.wait_for()
        cells = [c.strip() for c in listed.first.locator("td").all_inner_texts()]
        assert cells[0] == "web-1" and cells[1] == "disk" and cells[3] == "kernel upgrade", cells
        assert cells[2], cells
        mark = row.locator(".silenced")
        mark.wait_for()
        assert re.fullmatch(r"silenced until .+ · kernel upgrade", mark.inner_text()), mark.inner_text()
        assert row.locator("button.silence-action").count() == 0
        shot(page, "silenced-alert")

        # Silence the whole VM from its view.
        page.goto(hub.url("/?refresh=2#vm/web-1"))
        page.locator(".detail-head button.silence-action").click()
        assert page.locator("#silence-form h2").inner_text() == "Silence every alert on web-1"
        page.fill("#silence-reason", "rack move")
        page.locator('#silence-form button[type="submit"]').click()
        hub.wait_for(lambda: len(silences()) == 2, "the VM's silence in the API")
        assert {(s["vm"], s["alert"]) for s in silences()} == {("web-1", "disk"), ("web-1", "all")}

        # Refused without a valid token: the form says so and nothing is added.
        page.route("**/api/monitoring/silences", lambda route: route.fulfill(
            status=403, content_type="application/json", body='{"error":"Forbidden"}')
            if route.request.method == "POST" else route.continue_())
        page.locator(".detail-head button.silence-action").click()
        page.fill("#silence-reason", "no token")
        page.locator('#silence-form button[type="submit"]').click()
        page.wait_for_function("document.querySelector('#silence-form .token-error').textContent.includes('token')")
        assert "Not silenced: Forbidden (needs the token)" in page.locator("#silence-form").inner_text()
        assert len(silences()) == 2
        page.unroute("**/api/monitoring/silences")

        # Remove the VM's silence from the list.
        page.goto(hub.url("/?refresh=2#alerts"))
        page.wait_for_function("window.__lookoutReady === true")
        listed = page.locator("#alerts-body table.silences tbody tr")
        page.wait_for_function("document.querySelectorAll('#alerts-body table.silences tbody tr').length === 2")
        listed.filter(has_text="rack move").locator("button.silence-remove").click()
        hub.wait_for(lambda: [s["reason"] for s in silences()] == ["kernel upgrade"], "the silence removed")
        page.wait_for_function("document.querySelectorAll('#alerts-body table.silences tbody tr').length === 1")
        ctx.close()
    assert not errors, errors


# MARK: - quiet hours and reminders in the config


def test_the_hub_reads_quiet_hours_in_an_iana_zone_and_names_a_bad_one(lookout_bin: Path, tmp_path: Path) -> None:
    def check_config(monitoring: dict[str, Any]) -> Any:
        config = write_config(tmp_path / "hub.json", {"monitoring": monitoring})
        return run_lookout(lookout_bin, "serve", "--data", str(tmp_path / "data"), "--config", str(config),
                           "--no-local-agent", "--check-config")

    good = check_config({
        "quiet_hours": [{"vms": ["backup-*"], "alerts": ["cpu", "disk_util"], "days": ["mon", "sun"],
                         "from": "23:00", "to": "04:30", "timezone": "Europe/Berlin"}],
        "notifications": {"repeat_minutes": {"critical": 240, "warning": 1440}},
    })
    assert good.returncode == 0, good.stdout + good.stderr
    bad = check_config({"quiet_hours": [{"from": "02:00", "to": "04:30", "timezone": "Europe/Atlantis"}]})
    assert bad.returncode == 78, bad.stdout + bad.stderr
    assert "quiet_hours" in bad.stderr + bad.stdout and "Europe/Atlantis" in bad.stderr + bad.stdout, bad.stderr
    bad = check_config({"notifications": {"repeat_minutes": {"urgent": 60}}})
    assert bad.returncode == 78 and "repeat_minutes" in bad.stderr + bad.stdout, bad.stderr
