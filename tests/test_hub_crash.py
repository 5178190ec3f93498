"""Crash safety of the hub's history: a sample the hub acknowledged is in SQLite, even
when the process is killed with SIGKILL in the middle of a stream of pushes.

4 threads push documents of 4 VMs (increasing timestamps within the past hour) to a real
`lookout serve --no-local-agent`; every answer 201/200 is recorded as acknowledged.
After ~300 acknowledgements the hub is SIGKILLed while the threads keep sending (they
then get connection errors). The database must pass `PRAGMA integrity_check` and hold
every acknowledged (vm_id, ts); a restarted hub must serve each VM's newest acknowledged
sample (or a newer one that was committed but whose answer was lost) and answer a
re-sent acknowledged document with `duplicate`.
"""

from __future__ import annotations

import signal
import sqlite3
import threading
import time
from typing import Any

from conftest import make_doc, parse_iso

THREADS = 4
ACKS_BEFORE_KILL = 300
#: Bound on how long reaching ACKS_BEFORE_KILL may take (a broken hub, not a slow one).
ACK_TIMEOUT = 120.0
#: Bound on how long the senders may take to notice the hub is gone.
SENDER_TIMEOUT = 60.0


class Sender(threading.Thread):
    def __init__(self, hub: Any, vm_id: str, first_ts: int, killed: threading.Event, shared: "Shared") -> None:
        super().__init__(name=f"sender-{vm_id}", daemon=True)
        self.hub = hub
        self.vm_id = vm_id
        self.first_ts = first_ts
        self.killed = killed
        self.shared = shared
        self.acked: dict[int, dict[str, Any]] = {}
        self.unexpected: list[str] = []
        self.errors_after_kill = 0
        self.sent = 0

    def run(self) -> None:
        # One second apart, all in the past hour (the hub refuses the future).
        for i in range(3400):
            if self.shared.stop.is_set():
                return
            ts = self.first_ts + i
            doc = make_doc(self.vm_id, ts, cpu=float(i % 100), memory=float((i * 7) % 100), interval_seconds=60)
            self.sent += 1
            try:
                status, body = self.hub.post_doc(doc, timeout=10)
            except OSError:
                # Refused, reset, or the answer lost with the process: not acknowledged.
                if self.killed.is_set():
                    self.errors_after_kill += 1
                    if self.errors_after_kill >= 3:
                        return
                    continue
                self.unexpected.append(f"ts {ts}: connection error before the kill")
                continue
            if status in (200, 201):
                self.acked[ts] = doc
                self.shared.ack()
                if status == 200 and body != {"status": "duplicate"}:
                    self.unexpected.append(f"ts {ts}: HTTP 200 {body!r}")
                if status == 201 and body not in ({"status": "stored"}, {"status": "stored_older"}):
                    self.unexpected.append(f"ts {ts}: HTTP 201 {body!r}")
            else:
                self.unexpected.append(f"ts {ts}: HTTP {status} {body!r}")


class Shared:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.acks = 0
        self.stop = threading.Event()

    def ack(self) -> None:
        with self.lock:
            self.acks += 1

    def count(self) -> int:
        with self.lock:
            return self.acks


def test_sigkill_mid_stream_loses_no_acknowledged_sample(start_hub):
    hub = start_hub(name="crash")
    db_path = hub.data / "lookout.sqlite"
    killed = threading.Event()
    shared = Shared()
    first_ts = int(time.time()) - 3590
    senders = [Sender(hub, f"crash-{n}", first_ts, killed, shared) for n in range(THREADS)]
    for sender in senders:
        sender.start()
    try:
        deadline = time.monotonic() + ACK_TIMEOUT
        while shared.count() < ACKS_BEFORE_KILL:
            assert hub.poll() is None, f"the hub exited on its own ({hub.poll()})\n{hub.log()}"
            assert any(s.is_alive() for s in senders), "every sender stopped before the kill"
            assert time.monotonic() < deadline, (
                f"only {shared.count()} acknowledgements after {ACK_TIMEOUT:.0f} s\n"
                + "\n".join(u for s in senders for u in s.unexpected[:5])
            )
            time.sleep(0.005)
        # Mid-stream: the senders are still going.
        assert all(s.is_alive() for s in senders), "a sender finished before the kill"
        killed.set()
        code = hub.stop(signal.SIGKILL)
        assert code == -signal.SIGKILL
        for sender in senders:
            sender.join(SENDER_TIMEOUT)
            assert not sender.is_alive(), f"{sender.name} still running {SENDER_TIMEOUT:.0f} s after the kill"
    finally:
        shared.stop.set()

    unexpected = [f"{s.vm_id}: {u}" for s in senders for u in s.unexpected]
    assert not unexpected, "unexpected answers while the hub was up:\n" + "\n".join(unexpected[:20])
    for sender in senders:
        assert sender.errors_after_kill >= 1, f"{sender.name} never saw the hub go away"
    acked = {(s.vm_id, ts) for s in senders for ts in s.acked}
    assert len(acked) >= ACKS_BEFORE_KILL

    # The database as the killed process left it (WAL included).
    assert db_path.is_file(), f"{db_path} missing"
    connection = sqlite3.connect(str(db_path), timeout=10)
    try:
        integrity = connection.execute("PRAGMA integrity_check").fetchall()
        assert integrity == [("ok",)], f"integrity_check: {integrity}"
        stored = set(connection.execute("SELECT vm_id, ts FROM samples").fetchall())
    finally:
        connection.close()
    print(f"sent {sum(s.sent for s in senders)}, acknowledged {len(acked)}, in samples {len(stored)} "
          f"(committed but unacknowledged: {len(stored - acked)})")
    lost = sorted(acked - stored)
    assert not lost, f"{len(lost)} of {len(acked)} acknowledged samples are not in samples, e.g. {lost[:10]}"

    # Restarted on the same folder: the newest acknowledged sample (or newer) per VM.
    hub.start()
    summary = hub.get_json("/api/monitoring/summary")
    vms = summary["vms"]
    assert sorted(vms) == sorted(s.vm_id for s in senders), f"summary VMs: {sorted(vms)}"
    for sender in senders:
        newest = max(sender.acked)
        served = parse_iso(vms[sender.vm_id]["timestamp"])
        assert served >= newest, f"{sender.vm_id}: summary has {served}, newest acknowledged {newest}"
        assert (sender.vm_id, served) in stored, f"{sender.vm_id}: summary serves {served}, not in samples"

    # Re-sending an acknowledged document is recognised.
    for sender in senders:
        ts = min(sender.acked)
        status, body = hub.post_doc(sender.acked[ts])
        assert (status, body) == (200, {"status": "duplicate"}), f"{sender.vm_id} ts {ts}: {status} {body!r}"
        newest = max(sender.acked)
        status, body = hub.post_doc(sender.acked[newest])
        assert (status, body) == (200, {"status": "duplicate"}), f"{sender.vm_id} ts {newest}: {status} {body!r}"

    assert hub.stop(signal.SIGTERM) == 0
