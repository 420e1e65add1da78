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
    assert "caller-ids.added" in table[1] and any("queue.created" in line for line in table[1:8])


def test_verify_reports_an_intact_chain(run, demo_store):
    result = run("verify", "--store", demo_store)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("OK: 118 events")  # the demo day (queue acts, assignments, a disposition, access, caller IDs, safe harbor, the guard, calling hours, an agent on a real carrier)


def test_verify_names_the_first_edited_position(run, demo_store):
    with sqlite3.connect(demo_store) as db:
        position, data = db.execute("SELECT position, data FROM events WHERE type = 'session.started' ORDER BY position").fetchone()
        assert b"agent-1" in bytes(data)
        db.execute("UPDATE events SET data = ? WHERE position = ?", (bytes(data).replace(b"agent-1", b"agent-9"), position))
    result = run("verify", "--store", demo_store)
    assert result.returncode == 1
    assert f"first bad position {position}" in result.stdout


def test_verify_names_a_deleted_position(run, demo_store):
    with sqlite3.connect(demo_store) as db:
        db.execute("DELETE FROM events WHERE position = 33")
    result = run("verify", "--store", demo_store)
    assert result.returncode == 1
    assert "first bad position 33" in result.stdout


def test_a_corrupt_store_file_is_a_clear_error_not_a_crash(run, tmp_path):
    store = tmp_path / "garbage.sqlite"
    store.write_bytes(os.urandom(16384))
    result = run("events", "--store", store)
    assert result.returncode > 0, result  # an exit, not a signal
    assert "corrupt" in result.stderr
    assert result.stdout == "" or result.stdout.startswith("POSITION")
    # verify reports what it found, read-only, and fails.
    checked = run("verify", "--store", store)
    assert checked.returncode == 1 and checked.stdout.startswith("DAMAGED:") and "not a database" in checked.stdout, checked


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


EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "scenarios", "example.json")


def test_simulate_is_byte_identical_for_a_seed_and_valid_against_the_schemas(run):
    first = run("simulate", "--scenario", EXAMPLE, "--seed", 7, check=True).stdout
    second = run("simulate", "--scenario", EXAMPLE, "--seed", 7, check=True).stdout
    assert first == second
    other = run("simulate", "--scenario", EXAMPLE, "--seed", 8, check=True).stdout
    assert other != first
    lines = ndjson(first)
    summary = lines[-1]["summary"]
    events = lines[:-1]
    checker = Checker()
    for event in events:
        assert checker.errors_for(event) == [], event
    assert [e["position"] for e in events] == list(range(1, len(events) + 1))
    groups = summary["groups"]
    assert groups[0]["status"] == "cancelled"
    assert groups[1]["winner"]["contactId"] == "c1"
    for group in groups:
        assert set(group) == {"groupId", "sessionId", "queueId", "status", "profile", "profileReason", "fanout", "linesLimitedBy", "linesWhy", "staggerMs",
                              "amdPolicy", "winner", "disposition", "calls", "position"}
        for call in group["calls"]:
            assert call["status"] in {"dialing", "ringing", "in-progress", "completed", "failed", "terminated", "voicemail"}
            assert call["outcome"] in {"pending", "winner", "terminated", "voicemail", "no-answer", "failed"}


def test_simulate_keeps_the_log_when_asked_and_refuses_a_used_store(run, tmp_path):
    store = tmp_path / "sim.sqlite"
    run("simulate", "--scenario", EXAMPLE, "--store", store, check=True)
    assert run("verify", "--store", store).returncode == 0
    again = run("simulate", "--scenario", EXAMPLE, "--store", store)
    assert again.returncode > 0 and "not empty" in again.stderr


def test_simulate_reports_a_bad_scenario_clearly(run, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"callerIds": ["+15125550100"], "contacts": [{"phone": "5551234"}]}')
    result = run("simulate", "--scenario", bad)
    assert result.returncode > 0
    assert "contacts[0]" in result.stderr and "E.164" in result.stderr
    bad.write_text("{not json")
    assert "invalid scenario" in run("simulate", "--scenario", bad).stderr


def test_an_export_verifies_on_its_own_and_an_edit_is_found_at_its_line(run, demo_store, tmp_path):
    export = tmp_path / "slice.ndjson"
    run("export", "--store", demo_store, "--from", 10, "--to", 40, "--out", export, check=True)
    lines = export.read_text().splitlines()
    assert len(lines) == 32 and '"trailer"' in lines[-1]
    assert json.loads(lines[-1])["trailer"]["count"] == 31
    ok = run("verify", "--export", export)
    assert ok.returncode == 0 and ok.stdout.startswith("OK: 31 events"), ok.stdout + ok.stderr
    edited = lines[:]
    edited[6] = edited[6].replace('"type":"', '"type":"x', 1)
    export.write_text("\n".join(edited) + "\n")
    bad = run("verify", "--export", export)
    assert bad.returncode == 1 and bad.stdout.startswith("TAMPERED: line 7"), bad.stdout


def test_replay_tells_a_sessions_story_and_its_state_at_a_position(run, demo_store):
    table = run("replay", "--store", demo_store, "--session", "s1", check=True).stdout.splitlines()
    assert table[0].startswith("+0:00.000") and "session.started" in table[0]
    assert any("WINS: contact c1" in line for line in table)
    assert any("ended: lost-race" in line for line in table)
    assert any("disposition: interested" in line for line in table)
    ndjson = [json.loads(line) for line in run("replay", "--store", demo_store, "--session", "s1", "--format", "ndjson",
                                               check=True).stdout.splitlines()]
    assert [e["position"] for e in ndjson] == sorted(e["position"] for e in ndjson)
    assert len(ndjson) == len(table)
    dialed = next(e for e in ndjson if e["type"] == "call.dialed")
    at = json.loads(run("replay", "--store", demo_store, "--session", "s1", "--at", dialed["position"], check=True).stdout)
    assert at["position"] == dialed["position"] and at["session"]["state"] == "active"
    assert any(c["callId"] == dialed["data"]["callId"] and c["status"] == "dialing" for c in at["batch"]["calls"])
    missing = run("replay", "--store", demo_store, "--session", "nobody")
    assert missing.returncode != 0
