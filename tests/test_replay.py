"""`lookout replay` end to end: documents POSTed to a real `lookout serve`, then the real
binary replays the stored history beside the running hub (read-only) with the current and
a proposed config:

- the exact notices of a history with known crossings, and a proposed config that raises
  the cpu warning threshold removes exactly the notices of the crossing below it;
- (that it writes nothing, byte for byte, is ReplayHistoryTests': here the hub writes too);
- bad options and unusable files give a clear error and the documented exit code."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from conftest import iso, make_doc, run_lookout


def write_config(path: Path, cpu_warning: float) -> Path:
    path.write_text(
        json.dumps(
            {
                "thresholds": {"cpu": {"warning": cpu_warning, "critical": 95}},
                "notifications": {"cooldown_minutes": 10},
            }
        )
    )
    return path


def cpu_at(minute: int) -> float:
    """85 % for minutes 10-14 (a warning only), 97 % for 30-34 (critical), else 10 %."""
    if 10 <= minute < 15:
        return 85.0
    if 30 <= minute < 35:
        return 97.0
    return 10.0


@pytest.fixture
def history(start_hub, tmp_path: Path):
    """A running hub holding 61 one-minute documents of web-1, the last one now (so the
    replay, which runs to now, sees no stale gap at the end)."""
    hub = start_hub()
    start = (int(time.time()) // 60) * 60 - 3600
    for minute in range(61):
        doc = make_doc("web-1", start + minute * 60, cpu=cpu_at(minute), interval_seconds=60)
        status, body = hub.post_doc(doc)
        if status not in (200, 201, 202):
            pytest.fail(f"ingest of minute {minute} answered {status}: {body}")
    hub.wait_for(lambda: (hub.data / "lookout.sqlite").exists(), "the history database")
    return hub, start


def test_replay_lists_the_exact_notices_and_a_raised_threshold_drops_the_ones_below_it(
    lookout_bin: Path, history, tmp_path: Path
) -> None:
    hub, start = history
    current = write_config(tmp_path / "current.json", 80)
    proposed = write_config(tmp_path / "proposed.json", 90)
    result = run_lookout(
        lookout_bin, "replay", "--data", str(hub.data), "--since", "3h",
        "--current-config", str(current), "--config", str(proposed), "--json",
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)

    def lines(notices: list[dict]) -> list[str]:
        return [f"{n['at']} {n['alert']} {n['transition']} {n['severity']}" for n in notices]

    expected = [
        f"{iso(start + 600)} web-1/cpu opened warning",
        f"{iso(start + 900)} web-1/cpu resolved warning",
        f"{iso(start + 1800)} web-1/cpu opened critical",
        f"{iso(start + 2100)} web-1/cpu resolved critical",
    ]
    assert lines(report["current"]) == expected
    assert lines(report["proposed"]) == expected[2:]
    assert report["table"] == [
        {
            "vm_id": "web-1", "alert": "cpu", "alert_id": "web-1/cpu",
            "current": {"notices": 4, "firing_minutes": 10},
            "proposed": {"notices": 2, "firing_minutes": 5},
        }
    ]
    assert report["samples"] == 61

    text = run_lookout(
        lookout_bin, "replay", "--data", str(hub.data), "--since", "3h", "--vm", "web-1",
        "--current-config", str(current), "--config", str(proposed),
    )
    assert text.returncode == 0, text.stderr
    assert f"{iso(start + 1800)}  web-1  web-1/cpu  opened  critical  97  CPU 97%, critical at 95%" in text.stdout
    assert "notices with " + str(proposed) + ": 2" in text.stdout


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--since", "7x"], 64, '--since: "7x" is not a duration like 30m, 24h, 7d'),
        (["--since", "500d"], 64, "--since"),
        (["--vm", "bad id!"], 64, "--vm:"),
        (["--vm", "db-9"], 1, "no samples of db-9 in"),
        (["--config", "/nonexistent/proposed.json"], 78, "--config: "),
    ],
)
def test_bad_options_are_named(lookout_bin: Path, history, args: list[str], code: int, message: str) -> None:
    hub, _ = history
    result = run_lookout(lookout_bin, "replay", "--data", str(hub.data), *args)
    assert result.returncode == code, (result.stdout, result.stderr)
    assert message in result.stderr


def test_a_folder_without_a_history_is_named(lookout_bin: Path, tmp_path: Path) -> None:
    result = run_lookout(lookout_bin, "replay", "--data", str(tmp_path))
    assert result.returncode == 78
    assert f"no history database at {tmp_path}/lookout.sqlite" in result.stderr
    assert not (tmp_path / "lookout.sqlite").exists()


def test_a_bad_proposed_config_is_named(lookout_bin: Path, history, tmp_path: Path) -> None:
    hub, _ = history
    bad = tmp_path / "bad.json"
    bad.write_text('{"thresholds": {"cpu": {"warning": "high"}}}')
    result = run_lookout(lookout_bin, "replay", "--data", str(hub.data), "--config", str(bad))
    assert result.returncode == 78
    assert str(bad) in result.stderr
