"""Helpers of the alert tests: a real SMTP server (tests/smtp_server.py, aiosmtpd) with a
self-signed certificate, STARTTLS and AUTH required, on a fixed port so it can be stopped
and started again; a tiny webhook receiver; the hub config pointing at both; and atomic
writes of metrics documents into the data folder, as a collector or a sync tool does.

Every wait is bounded polling of a condition, never a fixed sleep."""

from __future__ import annotations

import email
import email.message
import email.policy
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from conftest import find_free_port

HERE = Path(__file__).resolve().parent
SMTP_SERVER = HERE / "smtp_server.py"

SMTP_USER = "alert-bot"
SMTP_PASSWORD = "s3cret-Passw0rd"
FROM = "lookout@test.example"
RECIPIENT = "ops@test.example"
PUBLIC_URL = "http://lookout.test"

#: Longest wait for the SMTP server to print READY, or for mail / webhook posts to arrive.
WAIT = 20.0


def wait_until(condition: Callable[[], Any], what: str, timeout: float = WAIT, interval: float = 0.05,
               log: Callable[[], str] = lambda: "") -> Any:
    """Polls `condition` until it returns something truthy (returned); AssertionError after `timeout`,
    with `log()` (a server's log, say) in the message. Exceptions a file or a server between writes
    raises count as not yet. The one polling loop of the system tests but `Hub.wait_for`."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            last = condition()
        except (OSError, ValueError, KeyError) as error:
            last = error
        else:
            if last:
                return last
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})\n{log()}")
        time.sleep(interval)


# MARK: - certificate


@dataclass(frozen=True)
class Cert:
    cert: Path
    key: Path


def make_self_signed_cert(folder: Path) -> Cert:
    """A self-signed certificate for localhost / 127.0.0.1 (the hub trusts it via ca_file)."""
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    result = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "2",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        capture_output=True, text=True, timeout=60,
    )
    if result.returncode != 0:
        pytest.fail(f"openssl could not make a test certificate:\n{result.stderr}", pytrace=False)
    return Cert(cert, key)


# MARK: - SMTP server


@dataclass
class Mail:
    """One message the SMTP server accepted: the sidecar (envelope, login, tls, subject,
    body as Python's email parser decodes them) and the parsed message for its headers."""

    path: Path
    sidecar: dict[str, Any]
    message: email.message.EmailMessage

    @property
    def subject(self) -> str:
        return self.sidecar["subject"] or ""

    @property
    def body(self) -> str:
        return self.sidecar["body"] or ""


class SMTPServer:
    """tests/smtp_server.py with STARTTLS and AUTH required, on a fixed port.

    Each start gets its own mailbox subfolder (the server numbers messages from 0001 on
    every start), and `messages()` reads them all in the order they arrived."""

    def __init__(self, folder: Path, cert: Cert, port: int | None = None,
                 user: str = SMTP_USER, password: str = SMTP_PASSWORD) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.cert = cert
        self.port = port if port is not None else find_free_port()
        self.user = user
        self.password = password
        self.mailbox = folder / "mailbox"
        self.process: subprocess.Popen[str] | None = None
        self.starts = 0
        self.stderr_path = folder / "smtp.stderr"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> "SMTPServer":
        assert not self.running, "the SMTP server is already running"
        self.starts += 1
        box = self.mailbox / f"run{self.starts:02d}"
        box.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + WAIT
        while True:
            with open(self.stderr_path, "a") as err:
                self.process = subprocess.Popen(
                    [sys.executable, str(SMTP_SERVER), "--port", str(self.port),
                     "--cert", str(self.cert.cert), "--key", str(self.cert.key), "--require-starttls",
                     "--auth-user", self.user, "--auth-password", self.password, "--mailbox", str(box)],
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, text=True,
                )
            line = self._ready_line(deadline)
            if line is not None:
                assert line.strip() == f"READY {self.port}", f"unexpected first line from smtp_server.py: {line!r}"
                return self
            # Exited before READY: the port may still be held by the previous run; retry briefly.
            self.process.wait()
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"smtp_server.py did not start on port {self.port}:\n{self.stderr_path.read_text(errors='replace')}")
            time.sleep(0.1)

    def _ready_line(self, deadline: float) -> str | None:
        assert self.process is not None and self.process.stdout is not None
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.process.kill()
                self.process.wait()
                raise AssertionError(
                    f"smtp_server.py printed no READY within {WAIT:.0f} s:\n{self.stderr_path.read_text(errors='replace')}")
            ready, _, _ = select.select([self.process.stdout], [], [], min(remaining, 0.2))
            if ready:
                line = self.process.stdout.readline()
                return line or None  # "" = EOF: the server exited
            if self.process.poll() is not None:
                return None

    def stop(self) -> None:
        """SIGTERM and wait (bounded); afterwards the port refuses connections."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=WAIT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()

    def messages(self) -> list[Mail]:
        """Every accepted message, in arrival order (runs, then numbers)."""
        mails = []
        for sidecar in sorted(self.mailbox.glob("run*/*.json")):
            eml = sidecar.with_suffix(".eml")
            raw = eml.read_bytes()
            mails.append(Mail(eml, json.loads(sidecar.read_text()),
                              email.message_from_bytes(raw, policy=email.policy.default)))
        return mails

    def wait_for_messages(self, count: int, timeout: float = WAIT) -> list[Mail]:
        """Waits until at least `count` messages arrived; returns all of them."""
        return wait_until(lambda: (lambda m: m if len(m) >= count else None)(self.messages()),
                          f"{count} message(s) in {self.mailbox}", timeout)

    def env(self, password: str | None = None) -> dict[str, str]:
        """The hub's environment for SMTP AUTH."""
        return {"LOOKOUT_SMTP_USER": self.user,
                "LOOKOUT_SMTP_PASSWORD": self.password if password is None else password}


# MARK: - webhook receiver


@dataclass
class Post:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    """An HTTP server on 127.0.0.1 in a thread that records every POST and answers 200."""

    server: ThreadingHTTPServer
    posts: list[Post] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: The status every POST is answered with.
    status: int = 200
    #: What the server logged: each request line it answered and each it refused, with why
    #: (a malformed request is answered by http.server's error path, never reaching do_POST).
    events: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.url_for("/hook")

    def url_for(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def received_at(self, path: str) -> list[Post]:
        return [post for post in self.received() if post.path == path]

    def received(self) -> list[Post]:
        with self.lock:
            return list(self.posts)

    def wait_for_posts(self, count: int, timeout: float = WAIT, log: Callable[[], str] = lambda: "") -> list[Post]:
        return wait_until(lambda: (lambda p: p if len(p) >= count else None)(self.received()),
                          f"{count} webhook POST(s)", timeout,
                          log=lambda: f"receiver: {self.logged()}\n{log()}")

    def logged(self) -> list[str]:
        with self.lock:
            return list(self.events)


def start_webhook_receiver() -> WebhookReceiver:
    receiver: WebhookReceiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            with receiver.lock:
                receiver.posts.append(Post(self.path, dict(self.headers.items()), body))
            answer = b"{}" if receiver.status < 400 else b'{"error": "no such hook"}'
            self.send_response(receiver.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (http.server's name)
            with receiver.lock:
                receiver.events.append(format % args)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver = WebhookReceiver(server)
    threading.Thread(target=server.serve_forever, name="webhook-receiver", daemon=True).start()
    return receiver


class SilentRelay:
    """A TCP server on 127.0.0.1 that accepts every connection and never sends a byte: a
    relay that drops packets after the handshake, or a hung SMTP server."""

    def __init__(self) -> None:
        import socket

        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(64)
        self.port = self.socket.getsockname()[1]
        self.connections: list[Any] = []
        self.lock = threading.Lock()
        self.closed = False
        threading.Thread(target=self._accept, name="silent-relay", daemon=True).start()

    def _accept(self) -> None:
        while not self.closed:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                return
            with self.lock:
                self.connections.append(connection)

    @property
    def accepted(self) -> int:
        with self.lock:
            return len(self.connections)

    def close(self) -> None:
        self.closed = True
        self.socket.close()
        with self.lock:
            for connection in self.connections:
                connection.close()


# MARK: - fixtures (import them into the test module)


@pytest.fixture(scope="session")
def smtp_cert(tmp_path_factory: pytest.TempPathFactory) -> Cert:
    return make_self_signed_cert(tmp_path_factory.mktemp("smtp-cert"))


@pytest.fixture
def smtp_server(tmp_path: Path, smtp_cert: Cert) -> Iterator[SMTPServer]:
    """A running SMTP server (STARTTLS + AUTH required); stopped at teardown."""
    server = SMTPServer(tmp_path / "smtp", smtp_cert)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    receiver = start_webhook_receiver()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


# MARK: - config and documents


def alert_config(smtp: SMTPServer, webhook: WebhookReceiver | None = None, **monitoring: Any) -> dict[str, Any]:
    """The hub config of the alert tests: disk 80 / 90, email through `smtp` (STARTTLS,
    trusting the test certificate), the generic webhook, a 30-minute cooldown."""
    config: dict[str, Any] = {
        "thresholds": {"disk": {"warning": 80, "critical": 90}},
        "notifications": {
            "email": {"enabled": True, "smtp_host": "localhost", "smtp_port": smtp.port, "security": "starttls",
                      "from": FROM, "recipients": [RECIPIENT], "ca_file": str(smtp.cert.cert)},
            "webhooks": [{"kind": "generic", "url": webhook.url}] if webhook is not None else [],
            "cooldown_minutes": 30,
        },
        "public_url": PUBLIC_URL,
    }
    config.update(monitoring)
    return {"monitoring": config}


def write_config(path: Path, config: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config, indent=2))
    return path


def write_doc(data: Path, doc: dict[str, Any]) -> Path:
    """DATA/<vm_id>/metrics.json written atomically (temp file in the same folder, fsync, rename)."""
    folder = data / doc["vm_id"]
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / ".metrics.json.tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f)
        f.flush()
        os.fsync(f.fileno())
    target = folder / "metrics.json"
    os.replace(tmp, target)
    return target


def outbox_entries(data: Path) -> list[Path]:
    folder = data / "outbox"
    return sorted(p for p in folder.glob("*.json") if not p.name.startswith(".")) if folder.is_dir() else []


def alerts_state(data: Path) -> dict[str, Any]:
    """DATA/alerts.json ({} before the first pass)."""
    try:
        return json.loads((data / "alerts.json").read_text())
    except FileNotFoundError:
        return {}
