"""Routing and the chat channels (issue 12, items 6 and 7) with real processes and a real
HTTP server standing in for the Telegram Bot API and a Matrix homeserver:

- `lookout serve` delivers to Telegram (token from a file) and Matrix (token from the
  environment): the documented path, method, headers and body, VM-supplied text escaped;
- a `critical`-only route: the channel hears an episode from its escalation to its end,
  and nothing of one that stayed at warning;
- `check --explain` and `serve --check-config` say per channel what it receives;
- a secret in the JSON is refused (exit 78) without echoing it; `notify-test` reaches a
  routed channel.

Waits are bounded polling (failure bounds, not speed requirements)."""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import pytest

from alert_support import wait_until, write_config, write_doc
from conftest import make_doc, run_lookout

VM = "web-1"
BOT_TOKEN = "123456:ABC-secret_token"
MATRIX_TOKEN = "syt_matrix_secret"
ROOM = "!ops:example.org"
HOSTILE = "<b>boom</b> & <a href=x>y</a>"


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class ChatServer:
    """One HTTP server answering as the Telegram Bot API (`POST /bot<token>/sendMessage`)
    and as a Matrix homeserver (`PUT /_matrix/client/v3/rooms/.../send/...`) do."""

    server: ThreadingHTTPServer
    requests: list[Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def received(self, prefix: str) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if r.path.startswith(prefix)]

    def wait_for(self, prefix: str, count: int) -> list[Request]:
        return wait_until(lambda: (lambda r: r if len(r) >= count else None)(self.received(prefix)),
                          f"{count} request(s) to {prefix}", timeout=30)


@pytest.fixture
def chat() -> Iterator[ChatServer]:
    holder: list[ChatServer] = []

    class Handler(BaseHTTPRequestHandler):
        def handle_any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            server = holder[0]
            with server.lock:
                server.requests.append(Request(self.command, self.path, dict(self.headers.items()), body))
            answer = json.dumps({"ok": True, "result": {}} if self.path.startswith("/bot")
                                else {"event_id": "$event"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        do_POST = handle_any  # noqa: N815 (http.server's naming)
        do_PUT = handle_any  # noqa: N815

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    holder.append(ChatServer(server))
    threading.Thread(target=server.serve_forever, name="chat-server", daemon=True).start()
    yield holder[0]
    server.shutdown()
    server.server_close()


def config(chat: ChatServer, token_file: Path, telegram_route: dict[str, Any] | None = None) -> dict[str, Any]:
    telegram: dict[str, Any] = {"kind": "telegram", "chat_id": "-100123", "token_file": str(token_file),
                                "api_url": chat.url}
    if telegram_route is not None:
        telegram["route"] = telegram_route
    return {"monitoring": {
        "thresholds": {"disk": {"warning": 80, "critical": 90}},
        "public_url": "https://lookout.example.com",
        "notifications": {"cooldown_minutes": 0, "channels": [
            telegram,
            {"kind": "matrix", "api_url": chat.url, "room_id": ROOM, "token_env": "MATRIX_TOKEN"},
        ]},
    }}


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "telegram-token"
    path.write_text(BOT_TOKEN + "\n")
    path.chmod(0o600)
    return path


def doc(disk: float, ts: int, service_error: str | None = None) -> dict[str, Any]:
    services = [] if service_error is None else [{"id": "api", "healthy": False, "response_ms": 5, "error": service_error}]
    return make_doc(VM, ts, disk=disk, interval_seconds=300, services=services)


def test_serve_delivers_to_telegram_and_matrix_as_their_apis_document(
    tmp_path: Path, start_hub, chat: ChatServer, token_file: Path
) -> None:
    data = tmp_path / "data"
    path = write_config(tmp_path / "hub.json", config(chat, token_file))
    t1 = int(time.time())
    write_doc(data, doc(95, t1, service_error=HOSTILE))
    hub = start_hub("--config", str(path), "--poll-interval", "1", "--alert-interval", "1", data=data,
                    env={"MATRIX_TOKEN": MATRIX_TOKEN})

    telegram = chat.wait_for("/bot", 2)
    for request in telegram:
        assert request.method == "POST", request
        assert request.path == f"/bot{BOT_TOKEN}/sendMessage", request
        assert request.headers["Content-Type"] == "application/json", request.headers
        assert request.headers["X-Lookout-Delivery"].startswith("lookout."), request.headers
        body = request.json()
        assert body["chat_id"] == "-100123" and body["parse_mode"] == "HTML", body
        assert body["text"].startswith("<b>[Lookout] CRITICAL web-1: "), body
    texts = " ".join(r.json()["text"] for r in telegram)
    assert "Dashboard: https://lookout.example.com/#vm/web-1" in texts, texts
    service = [r.json()["text"] for r in telegram if "service" in r.json()["text"]]
    assert service, texts
    # The check's error text (VM-supplied) as text, never markup.
    assert "service api is unhealthy: &lt;b&gt;boom&lt;/b&gt; &amp; &lt;a href=x&gt;y&lt;/a&gt;" in service[0], service[0]
    assert "<b>boom" not in service[0] and "<a " not in service[0], service[0]

    matrix = chat.wait_for("/_matrix/", 2)
    txn_ids = set()
    for request in matrix:
        assert request.method == "PUT", request
        match = re.fullmatch(r"/_matrix/client/v3/rooms/%21ops%3Aexample\.org/send/m\.room\.message/([A-Za-z0-9._-]+)",
                             request.path)
        assert match, request.path
        txn_ids.add(match.group(1))
        assert request.headers["Authorization"] == f"Bearer {MATRIX_TOKEN}", request.headers
        body = request.json()
        assert body["msgtype"] == "m.text" and body["format"] == "org.matrix.custom.html", body
        assert body["formatted_body"].startswith("<strong>[Lookout] CRITICAL web-1"), body
        assert "<b>boom" not in body["formatted_body"] and "<a " not in body["formatted_body"], body
    assert any("&lt;b&gt;boom&lt;/b&gt; &amp;" in r.json()["formatted_body"] for r in matrix), matrix
    assert any(HOSTILE in r.json()["body"] for r in matrix), matrix
    assert len(txn_ids) == len(matrix), "each notice has its own transaction id"

    # /api/monitoring/status lists both channels, each ok.
    status, _, raw = hub.request("GET", "/api/monitoring/status")
    assert status == 200, raw
    channels = {c["id"].split(":")[0]: c for c in json.loads(raw)["channels"]}
    assert set(channels) == {"telegram", "matrix"}, channels
    assert all(c["status"] == "ok" for c in channels.values()), channels

    # Neither secret is in the log or in an outbox file name.
    log = hub.log()
    assert BOT_TOKEN not in log and MATRIX_TOKEN not in log
    assert re.search(r"delivering notices via telegram:127\.0\.0\.1:[0-9a-f]{8}, matrix:127\.0\.0\.1:[0-9a-f]{8}",
                     log), log


def test_a_critical_only_route_hears_the_episode_from_its_escalation_on(
    tmp_path: Path, start_hub, chat: ChatServer, token_file: Path
) -> None:
    data = tmp_path / "data"
    path = write_config(tmp_path / "hub.json", config(chat, token_file, {"min_severity": "critical"}))
    t1 = int(time.time())
    write_doc(data, doc(85, t1))
    start_hub("--config", str(path), "--poll-interval", "1", "--alert-interval", "1", data=data,
              env={"MATRIX_TOKEN": MATRIX_TOKEN})

    def subjects(prefix: str) -> list[str]:
        key = "text" if prefix == "/bot" else "body"
        return [r.json()[key].split("\n")[0] for r in chat.received(prefix)]

    # Warning: Matrix (no route) hears it, Telegram does not.
    chat.wait_for("/_matrix/", 1)
    write_doc(data, doc(95, t1 + 1))
    chat.wait_for("/bot", 1)
    chat.wait_for("/_matrix/", 2)
    write_doc(data, doc(50, t1 + 2))
    chat.wait_for("/bot", 2)
    chat.wait_for("/_matrix/", 3)
    telegram = subjects("/bot")
    assert len(telegram) == 2, telegram
    assert "CRITICAL web-1: disk" in telegram[0] and "RESOLVED web-1: disk" in telegram[1], telegram
    assert [s.split(" ")[1] for s in subjects("/_matrix/")] == ["WARNING", "CRITICAL", "RESOLVED"], subjects("/_matrix/")


def test_check_explain_and_check_config_say_what_each_channel_receives(
    lookout_bin: Path, tmp_path: Path, chat: ChatServer, token_file: Path
) -> None:
    data = tmp_path / "data"
    path = write_config(tmp_path / "hub.json", config(
        chat, token_file, {"vms": ["web-*"], "min_severity": "critical", "alerts": ["disk", "service/*"]}))
    env = {"MATRIX_TOKEN": MATRIX_TOKEN}
    t1 = int(time.time())
    write_doc(data, doc(95, t1))
    write_doc(data, make_doc("db-1", t1, disk=95, interval_seconds=300))
    result = run_lookout(lookout_bin, "check", "--data", str(data), "--config", str(path), env=env)
    assert result.returncode == 0, result.stderr
    sent = len(chat.received("/bot"))

    result = run_lookout(lookout_bin, "check", "--explain", "--data", str(data), "--config", str(path), env=env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "channels (2), and what each receives:", result.stdout
    assert re.fullmatch(r"  telegram:127\.0\.0\.1:[0-9a-f]{8}: VMs web-\*; critical only; alerts disk, service/\*",
                        lines[1]), result.stdout
    assert lines[2] == "    of the 2 active alert(s): web-1/disk (critical)", result.stdout
    assert re.fullmatch(r"  matrix:127\.0\.0\.1:[0-9a-f]{8}: every notice", lines[3]), result.stdout
    assert lines[4] == "    of the 2 active alert(s): db-1/disk (critical), web-1/disk (critical)", result.stdout
    # --explain sends nothing.
    assert len(chat.received("/bot")) == sent

    result = run_lookout(lookout_bin, "serve", "--check-config", "--config", str(path), env=env)
    assert result.returncode == 0, result.stderr
    assert re.search(r"^  telegram:127\.0\.0\.1:[0-9a-f]{8}: VMs web-\*; critical only; alerts disk, service/\*$",
                     result.stdout, re.M), result.stdout


@pytest.mark.parametrize("command", [["check"], ["serve", "--check-config"], ["notify-test"]])
def test_a_secret_in_the_config_is_refused_without_being_echoed(
    lookout_bin: Path, tmp_path: Path, command: list[str]
) -> None:
    path = write_config(tmp_path / "hub.json", {"notifications": {"channels": [
        {"kind": "telegram", "chat_id": "1", "bot_token": BOT_TOKEN}]}})
    result = run_lookout(lookout_bin, *command, "--data", str(tmp_path / "data"), "--config", str(path))
    assert result.returncode == 78, (result.returncode, result.stdout, result.stderr)
    assert "notifications.channels[0].bot_token: secrets are not kept in the config" in result.stderr, result.stderr
    assert BOT_TOKEN not in result.stderr + result.stdout


@pytest.mark.parametrize("command", [["check"], ["serve", "--check-config"]])
def test_a_secret_is_never_sent_over_plain_http_to_another_host(
    lookout_bin: Path, tmp_path: Path, token_file: Path, command: list[str]
) -> None:
    path = write_config(tmp_path / "hub.json", {"notifications": {"channels": [
        {"kind": "gotify", "api_url": "http://gotify.example.com", "token_file": str(token_file)}]}})
    result = run_lookout(lookout_bin, *command, "--data", str(tmp_path / "data"), "--config", str(path))
    assert result.returncode == 78, (result.returncode, result.stdout, result.stderr)
    assert ('notifications.channels[0].api_url: "http://gotify.example.com" would send the gotify secret in '
            "clear text; use https://") in result.stderr, result.stderr


def test_a_missing_token_variable_is_named(lookout_bin: Path, tmp_path: Path, chat: ChatServer, token_file: Path) -> None:
    path = write_config(tmp_path / "hub.json", config(chat, token_file))
    result = run_lookout(lookout_bin, "serve", "--check-config", "--config", str(path))
    assert result.returncode == 78, result.stderr
    assert "notifications.channels[1].token_env: the environment variable MATRIX_TOKEN is not set or empty" \
        in result.stderr, result.stderr


def test_notify_test_reaches_a_routed_channel(
    lookout_bin: Path, tmp_path: Path, chat: ChatServer, token_file: Path
) -> None:
    path = write_config(tmp_path / "hub.json", config(chat, token_file, {"vms": ["nothing-matches-*"]}))
    result = run_lookout(lookout_bin, "notify-test", "--data", str(tmp_path / "data"), "--config", str(path),
                         env={"MATRIX_TOKEN": MATRIX_TOKEN})
    assert result.returncode == 0, (result.stdout, result.stderr)
    assert re.search(r"^telegram:127\.0\.0\.1:[0-9a-f]{8}: sent$", result.stdout, re.M), result.stdout
    assert len(chat.received("/bot")) == 1 and len(chat.received("/_matrix/")) == 1


def test_check_explain_with_a_damaged_alert_state_says_so_and_still_explains(
    lookout_bin: Path, tmp_path: Path, chat: ChatServer, token_file: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "alerts.json").write_text("{damaged")
    path = write_config(tmp_path / "hub.json", config(chat, token_file, {"min_severity": "critical"}))
    result = run_lookout(lookout_bin, "check", "--explain", "--data", str(data), "--config", str(path),
                         env={"MATRIX_TOKEN": MATRIX_TOKEN})
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("(the active alerts are not shown: alert state "), result.stdout
    assert re.search(r"^  telegram:127\.0\.0\.1:[0-9a-f]{8}: every VM; critical only; every alert$",
                     result.stdout, re.M), result.stdout
    assert (data / "alerts.json").read_text() == "{damaged"
