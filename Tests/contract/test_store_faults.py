"""The store's files as a crash, a careless backup or a second server leaves them (issue 20: D1, D7,
D10 of the reliability probe): `serve` refuses a log shorter than what it acknowledged, saying what is
missing; `verify` fails on it without writing into the file; one store has one server, by any path."""
import hashlib
import os
import shutil
import signal
import subprocess

from switchboard_client import api, serve_arguments, wait_for


def start(switchboard, store, log):
    process = subprocess.Popen(serve_arguments(switchboard, store), stdout=subprocess.PIPE, stderr=open(log, "a"), text=True)
    banner = process.stdout.readline()
    return process, banner


def acknowledged_then_killed(switchboard, tmp_path, count=150):
    """`count` DNC additions, each answered 200 (durable), then `kill -9`; the files as it left them."""
    store = tmp_path / "s.sqlite"
    process, banner = start(switchboard, store, tmp_path / "server.log")
    assert "listening on http://127.0.0.1:" in banner, (tmp_path / "server.log").read_text()
    base = "http://127.0.0.1:" + banner.split("127.0.0.1:")[1].split()[0]
    wait_for(lambda: api.get(base + "/healthz").status_code == 200)
    for index in range(count):
        assert api.post(base + "/v1/dnc", json={"phones": [f"+1512555{2000 + index}"]}).status_code == 200
    head = api.get(base + "/healthz").json()["position"]
    process.kill()
    process.wait(timeout=10)
    return store, head


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_log_that_lost_its_wal_is_refused_by_serve_and_failed_by_verify(switchboard, run, tmp_path):
    store, head = acknowledged_then_killed(switchboard, tmp_path)
    assert run("verify", "--store", store).returncode == 0  # as the crash left it: whole
    for damage in ("deleted", "cut"):
        copy = tmp_path / f"{damage}.sqlite"
        shutil.copy(store, copy)
        shutil.copy(f"{store}-head", f"{copy}-head")
        if damage == "cut":
            wal = open(f"{store}-wal", "rb").read()
            open(f"{copy}-wal", "wb").write(wal[:len(wal) // 2])
        before = digest(copy)
        checked = run("verify", "--store", copy)
        assert checked.returncode == 1 and "DAMAGED" in checked.stdout, checked.stdout + checked.stderr
        assert digest(copy) == before, "verify wrote into the file it checks"
        process, banner = start(switchboard, copy, tmp_path / f"{damage}.log")
        assert process.wait(timeout=30) != 0 and "listening" not in banner
        said = (tmp_path / f"{damage}.log").read_text()
        assert "-wal" in said and (f"{head} events were committed" in said or "no Switchboard schema" in said), said
        assert digest(copy) == before, "a refused start changed the file"


def test_a_zero_length_store_is_refused_and_left_empty(switchboard, run, tmp_path):
    store = tmp_path / "empty.sqlite"
    store.write_bytes(b"")
    assert run("verify", "--store", store).returncode == 1
    process, _ = start(switchboard, store, tmp_path / "server.log")
    assert process.wait(timeout=30) != 0
    assert "empty (0 bytes)" in (tmp_path / "server.log").read_text()
    assert store.read_bytes() == b""


def test_an_altered_event_is_refused_at_start_with_its_position(switchboard, run, tmp_path):
    import sqlite3
    store, _ = acknowledged_then_killed(switchboard, tmp_path, count=20)
    with sqlite3.connect(store) as db:  # one digit of a listed number, as in the probe
        position, data = db.execute("SELECT position, data FROM events WHERE type = 'dnc.added' ORDER BY position LIMIT 1 OFFSET 5").fetchone()
        db.execute("UPDATE events SET data = ? WHERE position = ?", (bytes(data).replace(b"+1512555", b"+1512556"), position))
    process, _ = start(switchboard, store, tmp_path / "again.log")
    assert process.wait(timeout=30) != 0
    assert f"breaks at position {position}" in (tmp_path / "again.log").read_text()


def test_one_store_has_one_server_whatever_path_names_it(switchboard, run, tmp_path):
    store = tmp_path / "one.sqlite"
    first, banner = start(switchboard, store, tmp_path / "first.log")
    try:
        assert "listening" in banner
        link = tmp_path / "link.sqlite"
        link.symlink_to(store)
        second, _ = start(switchboard, link, tmp_path / "second.log")
        assert second.wait(timeout=30) != 0
        assert "in use by a running switchboard serve" in (tmp_path / "second.log").read_text()
        busy = run("tokens", "create", "--store", link, "--role", "auditor")
        assert busy.returncode != 0 and "in use by a running switchboard serve" in busy.stderr
        # A hard link is another name for the same file with no head record of its own: refused too.
        hard = tmp_path / "hard.sqlite"
        os.link(store, hard)
        third, _ = start(switchboard, hard, tmp_path / "third.log")
        assert third.wait(timeout=30) != 0
        said = (tmp_path / "third.log").read_text()
        assert "is corrupt or not a Switchboard store" in said and "Usage:" not in said, said
    finally:
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=20) == 0


def test_a_write_the_disk_refuses_is_answered_at_once_and_health_says_why(switchboard, tmp_path):
    """D6 as the probe ran it: a file-size limit (the process ignores SIGXFSZ, as a server should), so
    SQLite's write fails with an I/O error. The request that hit it is answered 503 then — before,
    a quiet server left it waiting for the next input — and /healthz says why."""
    import resource

    def small_files():
        resource.setrlimit(resource.RLIMIT_FSIZE, (400_000, 400_000))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    store = tmp_path / "small.sqlite"
    process = subprocess.Popen(serve_arguments(switchboard, store), stdout=subprocess.PIPE,
                               stderr=open(tmp_path / "server.log", "w"), text=True, preexec_fn=small_files)
    try:
        base = "http://127.0.0.1:" + process.stdout.readline().split("127.0.0.1:")[1].split()[0]
        wait_for(lambda: api.get(base + "/healthz").status_code == 200)
        answer = None
        for index in range(5000):
            answer = api.post(base + "/v1/dnc", json={"phones": [f"+1512{2_000_000 + index * 7}"]}, timeout=15)
            if answer.status_code != 200:
                break
        # The do-not-call list is the organisation's: with the engine stopped it is tried on the log itself,
        # which the disk still refuses. What dials answers that the engine has stopped.
        assert answer.status_code == 503 and answer.json()["error"]["code"] == "store-unavailable", answer.text
        dialling = api.post(base + "/v1/queues", json={"name": "Needs the engine"}, timeout=15)
        assert dialling.status_code == 503 and dialling.json()["error"]["code"] == "engine-stopped", dialling.text
        health = api.get(base + "/healthz")
        assert health.status_code == 503 and "engine" in health.json()["problems"]
        assert api.get(base + "/v1/dnc", params={"phone": "+15122000000"}).json()["listed"] is True  # reads go on
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
