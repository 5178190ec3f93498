"""Certificate expiry end to end (issue 12 item 4), all real parts:

- `openssl req -x509 -days 2|10|60` makes the certificates; real TLS servers serve them:
  aiosmtpd with STARTTLS (tests/smtp_server.py, 2 days), a small IMAP server
  that speaks `a STARTTLS` (10 days), and an implicit-TLS server (60 days);
- the real `lookout-agent collect` checks all three (`"tls"` checks, `"starttls": "smtp"` and
  `"imap"`) and writes `cert_expires_at` / `cert_days_left` into its document;
- the real `lookout check` judges that document: the 2-day certificate is critical, the
  10-day one a warning, the 60-day one nothing, and the mails name host, issuer and date;
- the agent's errors for a server that never answers, a refused port and an untrusted
  certificate, and its config errors for the new keys.

Every wait is a bounded poll or a socket timeout (failure bounds only)."""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from alert_support import (  # noqa: F401 (smtp_cert and smtp_server are fixtures)
    Cert,
    SMTPServer,
    alert_config,
    smtp_cert,
    smtp_server,
    write_config,
)
from conftest import COMMAND_TIMEOUT, REPO, clean_env, run_lookout

PROC = REPO / "Tests" / "LookoutCollectorTests" / "Fixtures" / "proc" / "x86_64-1cpu"
VM = "web-1"
#: A failure bound for one server-side read or handshake.
SOCKET_TIMEOUT = 20.0


def make_cert(folder: Path, days: int) -> Cert:
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = folder / f"cert-{days}.pem", folder / f"key-{days}.pem"
    result = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-days", str(days), "-keyout", str(key), "-out", str(cert), "-subj", f"/O=Lookout Test {days}/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        capture_output=True, text=True, timeout=60,
    )
    if result.returncode != 0:
        pytest.fail(f"openssl could not make a test certificate:\n{result.stderr}", pytrace=False)
    return Cert(cert, key)


class LineServer:
    """A TCP server on 127.0.0.1 running `handle(conn)` for each connection on a thread."""

    def __init__(self, handle: Callable[[socket.socket], None]) -> None:
        self.handle = handle
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.errors: list[str] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(SOCKET_TIMEOUT)
        try:
            self.handle(conn)
        except (OSError, ssl.SSLError) as error:
            self.errors.append(repr(error))
        finally:
            conn.close()

    def close(self) -> None:
        self.listener.close()


def server_context(cert: Cert) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert.cert), str(cert.key))
    return context


def implicit_tls(cert: Cert) -> Callable[[socket.socket], None]:
    context = server_context(cert)

    def handle(conn: socket.socket) -> None:
        with context.wrap_socket(conn, server_side=True) as tls:
            tls.recv(1)  # until the client closes

    return handle


def imap_starttls(cert: Cert) -> Callable[[socket.socket], None]:
    """RFC 3501: greeting, `a STARTTLS`, `a OK`, then the handshake."""
    context = server_context(cert)

    def handle(conn: socket.socket) -> None:
        conn.sendall(b"* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] test IMAP ready\r\n")
        line = b""
        while not line.endswith(b"\n"):
            chunk = conn.recv(1)
            if not chunk:
                return
            line += chunk
        if line.strip().upper() != b"A STARTTLS":
            conn.sendall(b"a BAD expected STARTTLS\r\n")
            return
        conn.sendall(b"a OK Begin TLS negotiation now\r\n")
        with context.wrap_socket(conn, server_side=True) as tls:
            tls.recv(1)

    return handle


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """The three servers the agent checks (the hub's own mail relay is `smtp_server`)."""
    c2, c10, c60 = (make_cert(tmp_path / "certs", days) for days in (2, 10, 60))
    mx = SMTPServer(tmp_path / "mx", c2)
    mx.start()
    imap, imaps = LineServer(imap_starttls(c10)), LineServer(implicit_tls(c60))
    bundle = tmp_path / "certs" / "trusted.pem"
    bundle.write_text("".join(c.cert.read_text() for c in (c2, c10, c60)))
    yield {"smtp": mx.port, "imap": imap.port, "imaps": imaps.port, "bundle": bundle}
    imap.close()
    imaps.close()
    mx.stop()


def collect(tmp_path: Path, agent: Path, services: list[dict[str, Any]], ca_file: Path | None,
            expect: int = 0) -> subprocess.CompletedProcess[str]:
    config: dict[str, Any] = {"services": services}
    if ca_file is not None:
        config["ca_file"] = str(ca_file)
    path = tmp_path / "agent.json"
    path.write_text(json.dumps(config))
    result = subprocess.run(
        [str(agent), "collect", "--vm-id", VM, "--procfs", str(PROC), "--disk-path", str(tmp_path),
         "--state", str(tmp_path / "state.json"), "--docker-socket", str(tmp_path / "no-docker.sock"),
         "--config", str(path), "--data", str(tmp_path / "data"), "--log-level", "warning"],
        env=clean_env(), stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=COMMAND_TIMEOUT,
    )
    assert result.returncode == expect, f"lookout-agent exited {result.returncode}\n{result.stderr}"
    return result


def document(tmp_path: Path) -> dict[str, Any]:
    return json.loads((tmp_path / "data" / VM / "metrics.json").read_text())


def parse(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def test_tls_checks_report_the_certificates_and_the_hub_mails_their_expiry(
    lookout_bin: Path, bin_dir: Path, tmp_path: Path, servers: dict[str, Any], smtp_server: SMTPServer
) -> None:
    agent = bin_dir / "lookout-agent"
    before = datetime.now(timezone.utc)
    collect(tmp_path, agent, [
        {"id": "submission", "tls": f"localhost:{servers['smtp']}", "starttls": "smtp", "timeout_ms": 20000},
        {"id": "imap", "tls": f"localhost:{servers['imap']}", "starttls": "imap", "timeout_ms": 20000},
        {"id": "imaps", "tls": f"localhost:{servers['imaps']}", "timeout_ms": 20000},
    ], servers["bundle"])
    checks = {s["id"]: s for s in document(tmp_path)["services"]}
    for check_id, days in (("submission", 2), ("imap", 10), ("imaps", 60)):
        status = checks[check_id]
        assert status["healthy"] is True and "error" not in status, status
        assert status["cert_days_left"] == days - 1, status
        ends = parse(status["cert_expires_at"])
        assert abs((ends - before).total_seconds() - days * 86400) < 600, status
        assert status["cert_host"] == "localhost" and status["cert_subject"] == "localhost", status
        assert status["response_ms"] > 0, status
    assert checks["imap"]["cert_issuer"] == "localhost, Lookout Test 10"
    assert checks["submission"]["cert_issuer"] == "localhost, Lookout Test 2"

    # Only the certificates may alert: every figure of the fixture tree is far under these.
    never = {"warning": 1000, "critical": 1000}
    config = alert_config(smtp_server, thresholds={
        key: never for key in ("cpu", "memory", "disk", "load", "swap", "disk_util")})
    hub_config = write_config(tmp_path / "hub.json", config)
    result = run_lookout(lookout_bin, "check", "--data", str(tmp_path / "data"), "--config", str(hub_config),
                         env=smtp_server.env())
    assert result.returncode == 0, f"lookout check exited {result.returncode}\n{result.stdout}\n{result.stderr}"
    state = json.loads((tmp_path / "data" / "alerts.json").read_text())
    certs = {a["id"]: a["severity"] for a in state["alerts"] if a["kind"] == "cert"}
    assert certs == {f"{VM}/cert/submission": "critical", f"{VM}/cert/imap": "warning"}, state["alerts"]
    mails = smtp_server.wait_for_messages(2)
    subjects = sorted(m.subject for m in mails if "certificate" in m.subject)
    submission_end = checks["submission"]["cert_expires_at"]
    imap_end = checks["imap"]["cert_expires_at"]
    assert subjects == [
        f"[Lookout] CRITICAL {VM}: certificate of localhost (issuer localhost, Lookout Test 2) expires "
        f"{submission_end}, in 1 day, critical at 3 days",
        f"[Lookout] WARNING {VM}: certificate of localhost (issuer localhost, Lookout Test 10) expires {imap_end}, "
        "in 9 days, warning at 14 days",
    ], subjects


def test_a_silent_peer_a_closed_port_and_an_untrusted_certificate_are_clear_errors(
    bin_dir: Path, tmp_path: Path, servers: dict[str, Any]
) -> None:
    silent = socket.create_server(("127.0.0.1", 0))  # listens, never accepts, never answers
    closed = socket.create_server(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()
    try:
        collect(tmp_path, bin_dir / "lookout-agent", [
            {"id": "silent", "tls": f"127.0.0.1:{silent.getsockname()[1]}", "starttls": "smtp", "timeout_ms": 500},
            {"id": "closed", "tls": f"127.0.0.1:{closed_port}"},
            {"id": "untrusted", "tls": f"localhost:{servers['imaps']}", "timeout_ms": 20000},
        ], None)
    finally:
        silent.close()
    checks = {s["id"]: s for s in document(tmp_path)["services"]}
    assert checks["silent"]["healthy"] is False and checks["silent"]["error"] == "timed out after 500 ms"
    assert checks["closed"]["error"] == "connection refused"
    untrusted = checks["untrusted"]
    assert untrusted["healthy"] is False
    assert untrusted["error"].startswith("TLS: certificate rejected: self"), untrusted
    # Rejected, yet named: the certificate the server sent is still reported.
    assert untrusted["cert_days_left"] == 59, untrusted


@pytest.mark.parametrize("entry, mentions", [
    ({"id": "m", "tls": "mail.example.com"}, ["services[0].tls", "no port"]),
    ({"id": "m", "tls": "mail.example.com:993", "starttls": "pop3"}, ["services[0].starttls", "pop3", "smtp, imap"]),
    ({"id": "m", "tcp": "mail.example.com:25", "starttls": "smtp"}, ["services[0].starttls", "needs a \"tls\""]),
    ({"id": "m", "tls": "mail.example.com:993", "keyword": "OK"}, ["services[0].keyword", "url"]),
    ({"id": "m", "tls": "mail.example.com:993", "expect_status": [200, 299]}, ["services[0].expect_status"]),
    ({"id": "m", "tls": "mail.example.com:993", "url": "https://mail.example.com"}, ["both", "url", "tls"]),
])
def test_bad_tls_check_configs_name_the_entry(
    bin_dir: Path, tmp_path: Path, entry: dict[str, Any], mentions: list[str]
) -> None:
    result = collect(tmp_path, bin_dir / "lookout-agent", [entry], None, expect=78)
    for text in mentions:
        assert text in result.stderr, f"{text!r} not in:\n{result.stderr}"


def scripted(lines: list[bytes]) -> Callable[[socket.socket], None]:
    """A plain-text server that sends `lines[0]`, then one line of `lines` per line it reads."""

    def handle(conn: socket.socket) -> None:
        conn.sendall(lines[0])
        reader = conn.makefile("rb")
        for answer in lines[1:]:
            if not reader.readline():
                return
            conn.sendall(answer)
        reader.readline()  # until the client closes

    return handle


@pytest.mark.parametrize("starttls, lines, error", [
    ("smtp", [b"220 mx ESMTP\r\n", b"250-mx\r\n250 SIZE 1000\r\n", b"502 5.5.1 STARTTLS not supported\r\n"],
     'SMTP STARTTLS answered "502 5.5.1 STARTTLS not supported", expected 220 (does the server offer STARTTLS?)'),
    ("smtp", [b"554 5.7.1 no service for you\r\n"], 'SMTP greeting "554 5.7.1 no service for you", expected 220'),
    ("imap", [b"* BYE too busy\r\n"], 'IMAP greeting "* BYE too busy", expected "* OK"'),
    ("imap", [b"* OK ready\r\n", b"a NO STARTTLS disabled\r\n"],
     'IMAP STARTTLS answered "a NO STARTTLS disabled", expected "a OK"'),
    # Plain text sent after agreeing to STARTTLS would be read as if it came over TLS.
    ("imap", [b"* OK ready\r\n", b"a OK begin TLS\r\n* injected\r\n"],
     "the server sent plain text after agreeing to STARTTLS; refusing the connection"),
])
def test_starttls_dialogues_that_go_wrong_say_what_the_server_said(
    bin_dir: Path, tmp_path: Path, starttls: str, lines: list[bytes], error: str
) -> None:
    server = LineServer(scripted(lines))
    try:
        collect(tmp_path, bin_dir / "lookout-agent", [
            {"id": "mail", "tls": f"127.0.0.1:{server.port}", "starttls": starttls, "timeout_ms": 20000}], None)
    finally:
        server.close()
    status = document(tmp_path)["services"][0]
    assert status["healthy"] is False
    assert status["error"] == error, status
    assert "cert_expires_at" not in status
