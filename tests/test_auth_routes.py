"""The route-by-route token table against a real `lookout serve` over loopback (issue 10,
item 1). Raw sockets send the path spellings that a client library would normalise.

`ROUTES` is the one list of the hub's routes and the rule each follows; the first test
compares it with the routes the hub's router reports (`serve --print-routes`), so a route
added without a row here fails the suite instead of going unchecked."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from conftest import REPO, make_doc, run_lookout
from raw_http import raw_request

MAIN = "main-token-for-the-route-table-0123"
WEB1 = "web-1-token-for-the-route-table-0123"
WRONG = "wrong-token-for-the-route-table-0123"

#: Open by design (DESIGN §4): any caller, any token.
OPEN = "open"
#: Main token only: 401 without or with an unknown token, 403 with a per-VM token.
MAIN_ONLY = "main"
#: Main token, or a per-VM token for that VM's own documents.
INGEST = "ingest"

#: Every route of the router: (rule, the status the main token gets on the concrete path).
ROUTES: dict[str, tuple[str, int]] = {
    "GET /healthz": (OPEN, 200),
    "GET /metrics": (MAIN_ONLY, 200),
    "GET /api/monitoring/summary": (MAIN_ONLY, 200),
    "GET /api/monitoring/vm/{vm_id}": (MAIN_ONLY, 200),
    "GET /api/monitoring/alerts": (MAIN_ONLY, 200),
    "GET /api/monitoring/alerts/history": (MAIN_ONLY, 200),
    "GET /api/monitoring/status": (MAIN_ONLY, 200),
    "GET /api/monitoring/config": (MAIN_ONLY, 200),
    "GET /api/monitoring/services": (MAIN_ONLY, 200),
    "GET /api/monitoring/history/{vm_id}": (MAIN_ONLY, 200),
    "GET /api/monitoring/history/{vm_id}/series": (MAIN_ONLY, 200),
    "GET /api/monitoring/traffic": (MAIN_ONLY, 200),
    "GET /api/monitoring/sparklines": (MAIN_ONLY, 200),
    "GET /api/monitoring/forecast": (MAIN_ONLY, 200),
    "GET /api/monitoring/daily": (MAIN_ONLY, 200),
    # No daily file exists for that day: the handler runs and answers 404.
    "GET /api/monitoring/daily/{date}": (MAIN_ONLY, 404),
    "POST /api/monitoring/ingest": (INGEST, 201),
    "GET /api/monitoring/silences": (MAIN_ONLY, 200),
    # The table's POST body is a metrics document, no silence: the handler runs and answers 400.
    "POST /api/monitoring/silences": (MAIN_ONLY, 400),
    # No silence has that id: the handler runs and answers 404.
    "DELETE /api/monitoring/silences/{id}": (MAIN_ONLY, 404),
    # The table's POST body is a metrics document, no enrollment request: 400.
    "POST /api/monitoring/enrollments": (MAIN_ONLY, 400),
    # The installer (issue 13): open by design, the code is the credential. The table's hub has
    # the repo's dashboard folder and an empty agent binaries folder.
    "GET /install/agent.sh": (OPEN, 200),
    "GET /install/agents.json": (OPEN, 200),
    "GET /install/SHA256SUMS": (OPEN, 404),
    "GET /install/lookout-agent/{arch}": (OPEN, 404),
    # A metrics document is no {"code": ...}: 400 whoever sends it.
    "POST /install/enroll": (OPEN, 400),
    # The public status page (issue 14): open by design, in its own router group. The table's
    # hub lists web-1 in `status_page` (unconfigured, all three answer 404).
    "GET /api/status": (OPEN, 200),
    "GET /status": (OPEN, 200),
    "GET /status.html": (OPEN, 200),
}

CREDENTIALS = {"none": None, "wrong": WRONG, "vm": WEB1, "main": MAIN}


def expected(rule: str, main_status: int, who: str) -> int:
    if rule == OPEN:
        return main_status
    if who in ("none", "wrong"):
        return 401
    if who == "vm":
        return 201 if rule == INGEST else 403
    return main_status


def concrete(path: str) -> str:
    return (
        path.replace("{vm_id}", "web-1").replace("{date}", "2025-12-09").replace("{id}", "0000abcd")
        .replace("{arch}", "x86_64")
    )


class Clock:
    """Timestamps for documents that are always new (each ingest must be stored)."""

    def __init__(self) -> None:
        self.t = int(time.time()) - 3000

    def next(self) -> int:
        self.t += 1
        return self.t


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    tokens = tmp_path / "vm-tokens.json"
    tokens.write_text(json.dumps({"web-1": WEB1}))
    config = tmp_path / "hub.json"
    page = {"title": "Route table", "vms": {"web-1": "Web"}}
    config.write_text(json.dumps({"monitoring": {"vm_tokens_file": str(tokens), "status_page": page}}))
    return config


@pytest.fixture
def hub(start_hub, config_file):
    agents = config_file.parent / "agents"
    agents.mkdir(exist_ok=True)
    hub = start_hub(
        "--config", str(config_file), "--dashboard", str(REPO / "Public"), "--agent-binaries", str(agents), token=MAIN
    )
    clock = Clock()
    status = raw_request(hub.port, "POST", "/api/monitoring/ingest", token=MAIN, body=doc("web-1", clock)).status
    assert status == 201
    hub.clock = clock
    return hub


def doc(vm_id: str, clock: Clock) -> bytes:
    return json.dumps(make_doc(vm_id, clock.next())).encode()


def stored_vms(hub) -> set[str]:
    return set(raw_request(hub.port, "GET", "/api/monitoring/summary", token=MAIN).json()["vms"])


def test_the_table_covers_every_route_of_the_router(lookout_bin, tmp_path, config_file):
    result = run_lookout(
        lookout_bin, "serve", "--data", str(tmp_path / "routes-data"), "--config", str(config_file),
        "--no-local-agent", "--print-routes", env={"LOOKOUT_TOKEN": MAIN},
    )
    assert result.returncode == 0, result.stderr
    routes = {line.strip() for line in result.stdout.splitlines() if line.strip()}
    assert routes, "serve --print-routes printed nothing"
    assert routes - set(ROUTES) == set(), "routes without a row in ROUTES (add one with its token rule)"
    assert set(ROUTES) - routes == set(), "rows in ROUTES for routes the router does not have"


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_each_route_answers_by_its_token_rule(hub, route):
    rule, main_status = ROUTES[route]
    method, path = route.split(" ", 1)
    target = concrete(path)
    for who, token in CREDENTIALS.items():
        body = doc("web-1", hub.clock) if method == "POST" else None
        answer = raw_request(hub.port, method, target, token=token, body=body)
        want = expected(rule, main_status, who)
        assert answer.status == want, f"{route} with {who} token: {answer.status} {answer.body[:200]!r}"
        if answer.status == 401:
            assert answer.headers.get("www-authenticate", "").startswith("Bearer"), route
        if method == "GET":
            head = raw_request(hub.port, "HEAD", target, token=token)
            assert head.status == want, f"HEAD {target} with {who} token"
            assert head.body == b"", f"HEAD {target} sent a body"
    wrong_method = "PATCH" if method == "DELETE" else "DELETE"
    answer = raw_request(hub.port, wrong_method, target, token=MAIN)
    assert answer.status == 405, f"{wrong_method} {target}: {answer.status}"
    allow = {m.strip() for m in answer.headers.get("allow", "").split(",")}
    assert method in allow and (method != "GET" or "HEAD" in allow), answer.headers


#: Spellings the router resolves to a route: they must get that route's answers.
SAME_AS_ROUTE = [
    ("GET", "//api/monitoring/summary", "GET /api/monitoring/summary"),
    ("GET", "/api//monitoring///summary", "GET /api/monitoring/summary"),
    ("GET", "/api/monitoring/summary/", "GET /api/monitoring/summary"),
    ("GET", "/api/monitoring/summary?x=1", "GET /api/monitoring/summary"),
    ("GET", "/api/monitoring/summary/?token=" + MAIN, "GET /api/monitoring/summary"),
    ("GET", "//metrics", "GET /metrics"),
    ("GET", "/metrics/", "GET /metrics"),
    ("GET", "//metrics/?x=1", "GET /metrics"),
    ("GET", "//api/monitoring/vm/web-1/", "GET /api/monitoring/vm/{vm_id}"),
    ("GET", "/api/monitoring//alerts//history", "GET /api/monitoring/alerts/history"),
    ("POST", "//api/monitoring/ingest", "POST /api/monitoring/ingest"),
    ("POST", "/api/monitoring/ingest/", "POST /api/monitoring/ingest"),
    ("POST", "/api/monitoring/ingest?x=1", "POST /api/monitoring/ingest"),
    ("POST", "//api//monitoring//ingest//", "POST /api/monitoring/ingest"),
]

#: Spellings no route matches (the router neither decodes, folds case, nor resolves dot
#: segments): 404 for every caller, so nothing is reached without the check either.
NO_ROUTE = [
    ("GET", "/api/monitoring/%73ummary"),
    ("GET", "/api/./monitoring/summary"),
    ("GET", "/api/monitoring/../monitoring/summary"),
    ("GET", "/API/monitoring/summary"),
    ("GET", "/Metrics"),
    ("GET", "/%6detrics"),
    ("POST", "/api/monitoring/%69ngest"),
    ("POST", "/api/./monitoring/ingest"),
    ("POST", "/API/MONITORING/INGEST"),
]


@pytest.mark.parametrize("method,target,route", SAME_AS_ROUTE)
def test_spellings_the_router_folds_get_the_routes_answer(hub, method, target, route):
    rule, main_status = ROUTES[route]
    for who, token in CREDENTIALS.items():
        body = doc("web-1", hub.clock) if method == "POST" else None
        answer = raw_request(hub.port, method, target, token=token, body=body)
        assert answer.status == expected(rule, main_status, who), f"{method} {target} with {who}: {answer.status}"


@pytest.mark.parametrize("method,target", NO_ROUTE)
def test_spellings_no_route_matches_reach_nothing(hub, method, target):
    for who, token in CREDENTIALS.items():
        body = doc("web-1", hub.clock) if method == "POST" else None
        answer = raw_request(hub.port, method, target, token=token, body=body)
        assert answer.status == 404, f"{method} {target} with {who}: {answer.status} {answer.body[:200]!r}"


def test_a_forged_ingest_is_never_stored(hub):
    n = 0
    spellings = [t for m, t, _ in SAME_AS_ROUTE if m == "POST"] + [t for m, t in NO_ROUTE if m == "POST"]
    for target in spellings:
        for token in (None, WRONG, WEB1):
            n += 1
            forged = json.dumps(make_doc(f"forged-{n}", hub.clock.next())).encode()
            answer = raw_request(hub.port, "POST", target, token=token, body=forged)
            assert answer.status in (401, 403, 404), f"POST {target}: {answer.status}"
    assert stored_vms(hub) == {"web-1"}
    for i in range(1, n + 1):
        assert raw_request(hub.port, "GET", f"/api/monitoring/vm/forged-{i}", token=MAIN).status == 404
    # The forged VMs did not reach the data folder or the store either.
    assert not any(p.name.startswith("forged-") for p in hub.data.iterdir())


def test_a_short_main_token_is_refused_at_start(lookout_bin, tmp_path):
    result = run_lookout(
        lookout_bin, "serve", "--data", str(tmp_path / "d"), "--no-local-agent", env={"LOOKOUT_TOKEN": "too-short"}
    )
    assert result.returncode == 78
    assert "shorter than 16 characters" in result.stderr
    assert "too-short" not in result.stderr


def test_vm_tokens_without_a_main_token_need_insecure_listen(lookout_bin, start_hub, tmp_path, config_file):
    port = 1  # never bound: serve must refuse before it listens
    result = run_lookout(
        lookout_bin, "serve", "--data", str(tmp_path / "d"), "--config", str(config_file), "--no-local-agent",
        "--listen", f"127.0.0.1:{port}",
    )
    assert result.returncode == 78, result.stderr
    assert "vm_tokens_file is set but there is no main token" in result.stderr
    assert "--insecure-listen" in result.stderr

    hub = start_hub("--config", str(config_file), "--insecure-listen")
    clock = Clock()
    # The original walk-around: a trailing slash and no token stored a document.
    assert raw_request(hub.port, "POST", "/api/monitoring/ingest/", body=doc("web-1", clock)).status == 401
    assert raw_request(hub.port, "POST", "/api/monitoring/ingest", token=WRONG, body=doc("web-1", clock)).status == 401
    assert raw_request(hub.port, "POST", "/api/monitoring/ingest", token=WEB1, body=doc("db-1", clock)).status == 403
    assert raw_request(hub.port, "POST", "/api/monitoring/ingest", token=WEB1, body=doc("web-1", clock)).status == 201
    # Reads are open in this mode; that is what --insecure-listen accepts.
    assert set(raw_request(hub.port, "GET", "/api/monitoring/summary").json()["vms"]) == {"web-1"}


@pytest.mark.parametrize("missing", ["vm_tokens_file", "token_file", "credentials_file"])
def test_check_config_reads_every_file_the_config_names(lookout_bin, tmp_path, missing):
    files = {}
    for key in ("vm_tokens_file", "token_file", "credentials_file"):
        path = tmp_path / key
        files[key] = path
        if key != missing:
            path.write_text({"vm_tokens_file": json.dumps({"web-1": WEB1}), "token_file": MAIN + "\n",
                             "credentials_file": "user\npassword\n"}[key])
    config = {
        "monitoring": {
            "token_file": str(files["token_file"]),
            "vm_tokens_file": str(files["vm_tokens_file"]),
            "notifications": {"email": {"enabled": False, "credentials_file": str(files["credentials_file"])}},
        }
    }
    path = tmp_path / "hub.json"
    path.write_text(json.dumps(config))
    result = run_lookout(lookout_bin, "serve", "--config", str(path), "--check-config")
    assert result.returncode == 78, result.stdout + result.stderr
    assert str(files[missing]) in result.stderr or missing in result.stderr, result.stderr

    files[missing].write_text({"vm_tokens_file": json.dumps({"web-1": WEB1}), "token_file": MAIN + "\n",
                               "credentials_file": "user\npassword\n"}[missing])
    result = run_lookout(lookout_bin, "serve", "--config", str(path), "--check-config")
    assert result.returncode == 0, result.stderr
    assert "per-VM tokens: 1" in result.stdout


def test_the_dashboard_files_are_open_and_answer_head_and_405(start_hub, config_file):
    from conftest import REPO

    hub = start_hub("--config", str(config_file), "--dashboard", str(REPO / "Public"), token=MAIN)
    for target in ("/", "/monitoring.html", "/js/main.js", "/style.css"):
        for who, token in CREDENTIALS.items():
            assert raw_request(hub.port, "GET", target, token=token).status == 200, f"{target} with {who}"
        head = raw_request(hub.port, "HEAD", target)
        assert head.status == 200 and head.body == b"", target
        answer = raw_request(hub.port, "POST", target, body=b"{}")
        assert answer.status == 405, target
        assert answer.headers.get("allow") == "GET, HEAD", answer.headers



# MARK: - changes a browser sends on another site's behalf


SILENCE = json.dumps({"vm": "*", "alert": "all", "for": "1w", "reason": "cross-site"}).encode()


def silences_file(data: Path) -> list:
    path = data / "silences.json"
    return json.loads(path.read_text())["silences"] if path.exists() else []


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", "application/jsonx"])
def test_a_change_without_a_json_body_type_is_refused_even_with_the_token(hub, content_type):
    """A cross-site `fetch` or form may send text/plain (or a form) without a preflight."""
    answer = raw_request(hub.port, "POST", "/api/monitoring/silences", token=MAIN, body=SILENCE,
                         content_type=content_type)
    assert answer.status == 415, (content_type, answer.status, answer.body)
    assert "application/json" in answer.json()["error"]
    assert silences_file(hub.data) == []
    assert raw_request(hub.port, "POST", "/api/monitoring/silences", token=MAIN, body=SILENCE,
                       content_type="Application/JSON; charset=utf-8").status == 201


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8080", "127.0.0.1.evil.example",
                                  "localhost.evil.example", "[::2]:8080", ""])
def test_a_hub_without_a_token_takes_changes_only_from_a_loopback_host(start_hub, host):
    """DNS rebinding: a page that points its own name at 127.0.0.1 sends that name as Host."""
    open_hub = start_hub()
    answer = raw_request(open_hub.port, "POST", "/api/monitoring/silences", body=SILENCE, host=host)
    assert answer.status in (400, 403), (host, answer.status, answer.body)
    assert silences_file(open_hub.data) == []
    deleted = raw_request(open_hub.port, "DELETE", "/api/monitoring/silences/0000abcd", host=host)
    assert deleted.status in (400, 403), (host, deleted.status)
    # Reads stay open on a hub without a token, as before, and loopback names may change.
    assert raw_request(open_hub.port, "GET", "/api/monitoring/silences", host=host).status in (200, 400)
    for loopback in (f"127.0.0.1:{open_hub.port}", f"localhost:{open_hub.port}", "[::1]", "LOCALHOST"):
        assert raw_request(open_hub.port, "POST", "/api/monitoring/silences", body=SILENCE,
                           host=loopback).status == 201, loopback
