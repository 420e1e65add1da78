"""The `switchboard` command line, driven from outside on real SQLite files."""
import json
import os
import sqlite3

from schema_validation import Checker


def ndjson(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_demo_log_is_gapless_and_every_event_matches_its_schema(run, demo_store):
    events = ndjson(run("events", "--store", demo_store, check=True).stdout)
    assert [e["position"] for e in events] == list(range(1, len(events) + 1))
    checker = Checker()
    assert checker.metaschema_errors() == []
    for event in events:
        assert checker.errors_for(event) == [], event
    types = {line.split()[0] for line in run("event-types", check=True).stdout.splitlines()}
    assert {e["type"] for e in events} == types
    assert set(k for k, _ in checker.by_type) == types


def test_events_after_a_position_and_as_a_table(run, demo_store):
    later = ndjson(run("events", "--store", demo_store, "--after", 70, check=True).stdout)
    assert later and later[0]["position"] == 71
    table = run("events", "--store", demo_store, "--format", "table", check=True).stdout.splitlines()
    assert table[0].split()[:4] == ["POSITION", "TIME", "STREAM", "TYPE"]
    assert "queue.created" in table[1]


def test_verify_reports_an_intact_chain(run, demo_store):
    result = run("verify", "--store", demo_store)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("OK: 77 events")


def test_verify_names_the_first_edited_position(run, demo_store):
    with sqlite3.connect(demo_store) as db:
        data = db.execute("SELECT data FROM events WHERE position = 20").fetchone()[0]
        db.execute("UPDATE events SET data = ? WHERE position = 20", (bytes(data).replace(b"agent-1", b"agent-9"),))
    result = run("verify", "--store", demo_store)
    assert result.returncode == 1
    assert "first bad position 20" in result.stdout


def test_verify_names_a_deleted_position(run, demo_store):
    with sqlite3.connect(demo_store) as db:
        db.execute("DELETE FROM events WHERE position = 33")
    result = run("verify", "--store", demo_store)
    assert result.returncode == 1
    assert "first bad position 33" in result.stdout


def test_a_corrupt_store_file_is_a_clear_error_not_a_crash(run, tmp_path):
    store = tmp_path / "garbage.sqlite"
    store.write_bytes(os.urandom(16384))
    for command in ("events", "verify"):
        result = run(command, "--store", store)
        assert result.returncode not in (0,) and result.returncode > 0, result  # an exit, not a signal
        assert "corrupt" in result.stderr
        assert result.stdout == "" or result.stdout.startswith("POSITION")


def test_a_missing_store_is_a_clear_error(run, tmp_path):
    result = run("events", "--store", tmp_path / "nope.sqlite")
    assert result.returncode > 0
    assert "no event store" in result.stderr
    assert not (tmp_path / "nope.sqlite").exists()  # reading never creates an empty log


def test_the_demo_is_deterministic(run, tmp_path):
    first = run("demo", "--store", tmp_path / "a.sqlite", "--format", "ndjson", check=True).stdout
    second = run("demo", "--store", tmp_path / "b.sqlite", "--format", "ndjson", check=True).stdout
    assert first == second


def test_the_validator_catches_a_schema_violation(demo_store, run):
    events = ndjson(run("events", "--store", demo_store, check=True).stdout)
    checker = Checker()
    started = next(e for e in events if e["type"] == "session.started")
    started["data"]["settings"]["maxLines"] = 7
    assert checker.errors_for(started)
    unknown = dict(started, type="session.exploded")
    assert checker.errors_for(unknown) == ["no schema for ('session.exploded', 1)"]
