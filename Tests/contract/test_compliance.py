"""US rules from outside: do-not-call, abandonment and safe harbor, the 3 % guard, calling hours —
through the API, the simulated carrier and the command line."""
import json
import os
import signal
import subprocess
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import yaml

from schema_validation import Checker
from switchboard_client import SAFE_HARBOR_MESSAGE, api, serve_arguments, wait_for


@pytest.fixture
def served(switchboard, tmp_path):
    # Our requests take 200 ms to reach the simulated network, as a real carrier's API does: two people
    # answering together then always race our hang-up (with none, whichever timer fires first decides).
    process = subprocess.Popen(serve_arguments(switchboard, tmp_path / "c.sqlite", "--carrier-latency-ms", 200), stdout=subprocess.PIPE,
                               stderr=open(tmp_path / "server.log", "w"), text=True)
    base = "http://127.0.0.1:" + process.stdout.readline().split("127.0.0.1:")[1].split()[0]
    wait_for(lambda: api.get(base + "/healthz").status_code == 200, message="the server never became healthy")
    yield {"base": base, "store": tmp_path / "c.sqlite"}
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=20)


def test_a_listed_number_is_never_dialled_and_the_contact_says_why(served):
    base = served["base"]
    listed = "+15125557001"
    assert api.post(base + "/v1/dnc", json={"phones": [listed, listed]}).json() == {"added": 1, "count": 1}
    assert api.get(base + "/v1/dnc", params={"phone": listed}).json() == {"phone": listed, "listed": True}
    assert api.get(base + "/v1/dnc", params={"phone": "+15125557002"}).json()["listed"] is False
    queue = api.post(base + "/v1/queues", json={"name": "DNC", "contacts": [
        {"id": "blocked", "phone": listed}, {"id": "ok", "phone": "+15125557002", "script": {"answer": "none"}}]}).json()
    contacts = {c["contactId"]: c for c in queue["contacts"]}
    assert contacts["blocked"]["outcome"] == "do-not-call" and contacts["blocked"]["doNotCall"] is True
    assert queue["pending"] == 1
    session = api.post(base + "/v1/sessions", json={"agentId": "a", "queueId": queue["queueId"], "mode": "parallel"}).json()
    group = wait_for(lambda: api.get(f"{base}/v1/sessions/{session['sessionId']}").json()["currentGroupId"],
                     message="the session never dialled a batch")
    assert [c["to"] for c in api.get(f"{base}/v1/calls/parallel/{group}").json()["calls"]] == ["+15125557002"]
    assert api.delete(f"{base}/v1/dnc/%2B15125557001").json() == {"phone": listed, "listed": False}
    assert api.delete(f"{base}/v1/dnc/%2B15125557001").status_code == 404


def test_one_request_lists_as_many_numbers_as_the_openapi_says_and_no_more(served):
    """Issue 19: the limit is the one the OpenAPI documents (it once said 3000 while the server took 5000)."""
    base = served["base"]
    document = yaml.safe_load(api.get(base + "/openapi.yaml").text)
    schema = document["paths"]["/v1/dnc"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    limit = schema["properties"]["phones"]["maxItems"]
    numbers = [f"+1646{2_000_000 + i}" for i in range(limit + 1)]  # exchange 200: a valid US number
    refused = api.post(base + "/v1/dnc", json={"phones": numbers})
    assert refused.status_code == 422 and refused.json()["error"]["fields"][0]["field"] == "phones", refused.text
    assert api.get(base + "/v1/dnc", params={"phone": numbers[0]}).json()["listed"] is False, "nothing half-applied"
    assert api.post(base + "/v1/dnc", json={"phones": numbers[:limit]}).json() == {"added": limit, "count": limit}


def test_an_import_reads_csv_or_a_number_a_line_and_waits_for_the_store_to_be_free(run, served, tmp_path):
    listing = tmp_path / "dnc.csv"
    listing.write_text("phone,name\n+15125557101,Ann\n(512) 555-7102,Bo\n512-555-7103\n15125557104\nnot a number\n+15125557101\n")
    busy = run("dnc", "import", "--store", served["store"], listing)
    assert busy.returncode != 0 and "in use by a running switchboard serve" in busy.stderr


def test_an_import_on_a_free_store(run, tmp_path):
    listing = tmp_path / "dnc.txt"
    listing.write_text("phone\n+15125557101\n(512) 555-7102\n512-555-7103\n15125557104\nnot a number\n+15125557101\n")
    store = tmp_path / "free.sqlite"
    result = run("dnc", "import", "--store", store, listing, check=True)
    assert "added 4 numbers (1 already listed, 2 lines not a number); 4 on the list" in result.stdout
    again = run("dnc", "import", "--store", store, listing, check=True)
    assert "added 0 numbers" in again.stdout
    events = run("events", "--store", store, check=True).stdout
    assert '"source":"import"' in events



def test_an_import_reads_quoted_fields_as_csv_does(run, tmp_path):
    """Issue 22: a CRM export quotes a note that holds commas and line breaks. Its second line is not a row:
    a number inside the note is never listed, and a quoted first field is read whole."""
    listing = tmp_path / "crm.csv"
    listing.write_text('phone,note\r\n'
                       '+15125557201,"her cell, after 5pm:\n5125557299"\r\n'
                       '"(512) 555-7202","quoted, with a comma"\r\n'
                       '"512, 555 7203",a first field with a comma is no number\r\n')
    store = tmp_path / "crm.sqlite"
    result = run("dnc", "import", "--store", store, listing, check=True)
    assert "added 2 numbers (0 already listed, 2 lines not a number); 2 on the list" in result.stdout, result.stdout
    events = run("events", "--store", store, "--format", "ndjson", check=True).stdout
    assert "+15125557201" in events and "+15125557202" in events
    assert "+15125557299" not in events and "+15125557203" not in events


MESSAGE = "This is Acme calling about your quote. Call us back at 512 555 0100. Press 9 to stop our calls."


def test_queue_compliance_settings_are_set_on_create_and_patch_and_refused_by_field(served):
    base = served["base"]
    queue = api.post(base + "/v1/queues", json={"name": "Settings", "safeHarborMessage": MESSAGE,
                                                "abandonWarnPercent": 2, "abandonCapPercent": 2.75}).json()
    compliance = queue["compliance"]
    assert compliance["safeHarborMessage"] == MESSAGE and compliance["safeHarborSource"] == "queue"
    assert (compliance["abandonWarnPercent"], compliance["abandonCapPercent"]) == (2, 2.75)
    assert compliance["guard"]["level"] == "normal" and compliance["guard"]["maxLines"] is None
    assert compliance["abandonment"]["window"]["days"] == 30 and compliance["warnings"] == []
    qid = queue["queueId"]
    refused = api.patch(f"{base}/v1/queues/{qid}", json={"abandonCapPercent": 3.5})
    assert refused.status_code == 422 and refused.json()["error"]["fields"][0]["field"] == "abandonCapPercent"
    refused = api.patch(f"{base}/v1/queues/{qid}", json={"safeHarborMessage": "hi", "abandonWarnPercent": 1})
    assert refused.status_code == 422 and [f["field"] for f in refused.json()["error"]["fields"]] == ["safeHarborMessage"]
    assert api.get(f"{base}/v1/queues/{qid}").json()["compliance"]["abandonWarnPercent"] == 2, "nothing half-applied"
    cleared = api.patch(f"{base}/v1/queues/{qid}", json={"safeHarborMessage": None}).json()["compliance"]
    assert cleared["safeHarborMessage"] is None and cleared["warnings"] == ["no-safe-harbor-message"]
    assert cleared["guard"]["maxLines"] == 1 and cleared["guard"]["limitedBy"] == "no-safe-harbor-message"
    assert api.post(base + "/v1/queues", json={"name": "Bad", "abandonCapPercent": 4}).status_code == 422
    assert api.patch(f"{base}/v1/queues/{qid}", json={}).status_code == 400


def test_a_queue_without_a_safe_harbor_message_dials_one_line_until_one_is_set(served):
    """Issue 19: nobody may be abandoned without the message, so without one a batch is one line; the
    brief, the batch and the polling answer say why; a message set lifts it at the next batch."""
    base = served["base"]
    queue = api.post(base + "/v1/queues", json={"name": "Silent", "safeHarborMessage": None, "contacts": [
        {"id": f"s{i}", "phone": f"+1512555810{i}", "script": {"ringMs": 3000, "answer": "machine"}} for i in range(8)]}).json()
    qid = queue["queueId"]
    assert queue["profile"]["lines"] == 1 and queue["profile"]["linesLimitedBy"] == "no-safe-harbor-message"
    session = api.post(base + "/v1/sessions", json={"agentId": "silent", "queueId": qid, "mode": "parallel",
                                                     "settings": {"maxLines": 3, "staggerMs": 0, "cooldownMs": 0}}).json()
    first = wait_for(lambda: api.get(f"{base}/v1/sessions/{session['sessionId']}").json()["currentGroupId"])
    batch = api.get(f"{base}/v1/calls/parallel/{first}").json()
    assert len(batch["calls"]) == 1 and batch["fanout"] == 1 and batch["linesLimitedBy"] == "no-safe-harbor-message"
    set_at = api.patch(f"{base}/v1/queues/{qid}", json={"safeHarborMessage": MESSAGE}).json()
    assert set_at["profile"]["lines"] == 3 and set_at["profile"]["linesLimitedBy"] is None
    assert set_at["compliance"]["guard"]["maxLines"] is None

    def batches():
        events = api.get(base + "/v1/events", params={"limit": 1000}).json()["events"]
        return [e["data"] for e in events if e["type"] == "batch.started" and e["data"]["queueId"] == qid]
    # Every batch that started before the message was set dialled one line; the next ones dial three.
    lifted = wait_for(lambda: next((b for b in batches() if len(b["calls"]) > 1), None), timeout=60)
    assert len(lifted["calls"]) == 3 and "linesLimitedBy" not in lifted
    before = batches()[:batches().index(lifted)]
    assert before and all(len(b["calls"]) == 1 and b["linesLimitedBy"] == "no-safe-harbor-message" for b in before)


def test_two_people_answering_at_once_one_is_abandoned_hears_the_message_and_the_queue_is_capped(served):
    """End to end through the API and the simulated carrier: stagger 0, both pick up after 1 s."""
    base = served["base"]
    queue = api.post(base + "/v1/queues", json={"name": "Abandon", "safeHarborMessage": MESSAGE, "contacts": [
        {"id": "first", "phone": "+15125558001", "script": {"ringMs": 1000, "answer": "human", "talkMs": 2000}},
        {"id": "second", "phone": "+15125558002", "script": {"ringMs": 1000, "answer": "human", "talkMs": 2000}},
        {"id": "third", "phone": "+15125558003", "script": {"ringMs": 1000, "answer": "human", "talkMs": 2000}},
    ]}).json()
    qid = queue["queueId"]
    session = api.post(base + "/v1/sessions", json={"agentId": "abandoner", "queueId": qid, "mode": "parallel",
                                                     "settings": {"maxLines": 2, "staggerMs": 0}}).json()
    group = wait_for(lambda: api.get(f"{base}/v1/sessions/{session['sessionId']}").json()["currentGroupId"])

    def abandoned_call():
        calls = api.get(f"{base}/v1/calls/parallel/{group}").json()["calls"]
        return next((c for c in calls if c["abandoned"] and c["abandonment"]["safeHarborEndedAt"]), None)
    call = wait_for(abandoned_call, timeout=30)
    # Both answers are due at the same millisecond; on a real clock the second may reach us just after
    # our hang-up of its call was decided — then it raced the winner. Either way: abandoned, with its cause.
    assert call["abandonment"]["cause"] in ("after-winner", "raced-winner") and call["abandonment"]["safeHarbor"] == "requested"
    answered = call["answeredAt"]
    started = call["abandonment"]["safeHarborStartedAt"]
    assert started > answered and started < call["abandonment"]["safeHarborEndedAt"]
    compliance = wait_for(lambda: (q := api.get(f"{base}/v1/queues/{qid}").json())["compliance"]["guard"]["level"] == "capped" and q)["compliance"]
    assert compliance["guard"]["maxLines"] == 1 and "cap" in compliance["guard"]["why"]
    window = compliance["abandonment"]["rolling30"]  # the third contact may have connected by now
    assert window["abandoned"] == 1 and window["liveAnswers"] in (2, 3) and window["rate"] == 1 / window["liveAnswers"]
    assert "abandonment-capped" in compliance["warnings"]
    # The next batch dials one line, whatever the session asked for.
    def next_batch():
        now = api.get(f"{base}/v1/sessions/{session['sessionId']}").json()
        return next((g for g in (now["currentGroupId"], now["lastGroupId"]) if g and g != group), None)
    second = wait_for(next_batch, timeout=30)
    assert api.get(f"{base}/v1/calls/parallel/{second}").json()["fanout"] == 1
    overview = api.get(base + "/v1/overview").json()
    assert next(q for q in overview["queues"] if q["queueId"] == qid)["compliance"]["guard"]["level"] == "capped"
    report = api.get(base + "/v1/reports/compliance", params={"queue": qid}).json()["days"][0]
    assert report["abandoned"] == 1 and report["abandonedWithSafeHarborWithin2s"] == 1 and report["abandonedWithoutSafeHarbor"] == 0
    records = api.get(base + "/v1/audit/export", params={"format": "csv", "queue": qid})
    assert records.status_code == 200 and f",true,{call['abandonment']['cause']},true," in records.text


COMPLIANCE_SCENARIO = os.path.join(os.path.dirname(__file__), "..", "..", "scenarios", "compliance.json")
# The scenario's numbers and where they ring (checked here with Python's own tz database).
ZONES = {"212": "America/New_York", "312": "America/Chicago", "310": "America/Los_Angeles", "808": "Pacific/Honolulu"}


def test_simulate_shows_calling_hours_skips_and_the_guard_in_its_events_and_summary(run):
    lines = [json.loads(line) for line in run("simulate", "--scenario", COMPLIANCE_SCENARIO, check=True).stdout.splitlines()]
    events, summary = lines[:-1], lines[-1]["summary"]
    checker = Checker()
    for event in events:
        assert checker.errors_for(event) == [], event
    contacts = {c["contactId"]: c for c in events[1]["data"]["contacts"]} if events[1]["type"] == "contacts.added" else \
        {c["contactId"]: c for e in events if e["type"] == "contacts.added" for c in e["data"]["contacts"]}
    for dialed in (e for e in events if e["type"] == "call.dialed"):
        contact = contacts[dialed["data"]["contactId"]]
        # An explicit zone narrows the area code's zones or adds to them: inside the hours in both.
        for zone in {ZONES[contact["phone"][2:5]], contact.get("timeZone") or ZONES[contact["phone"][2:5]]}:
            when = datetime.fromisoformat(dialed["time"].replace("Z", "+00:00")).astimezone(ZoneInfo(zone))
            assert 8 <= when.hour < 21, f"{contact['contactId']} dialled at {when.isoformat()} in {zone}"
    waits = [e for e in events if e["type"] == "queue.waiting-for-hours"]
    assert [w["data"]["until"][11:16] for w in waits] == ["13:00", "14:00", "15:00", "16:00", "18:00"]
    assert [w["until"] for w in summary["compliance"]["callingHours"]["waits"]] == [w["data"]["until"] for w in waits]
    assert summary["compliance"]["callingHours"]["dialedOutsideHours"] == 0
    abandoned = [e for e in events if e["type"] == "call.abandoned"]
    assert [a["data"]["cause"] for a in abandoned] == ["raced-winner"]
    started = next(e for e in events if e["type"] == "call.safe-harbor-started")
    gap = datetime.fromisoformat(started["time"].replace("Z", "+00:00")) - datetime.fromisoformat(abandoned[0]["time"].replace("Z", "+00:00"))
    assert gap.total_seconds() <= 2
    guard = [e["data"] for e in events if e["type"] == "queue.abandonment-guard-changed"]
    assert [(g["level"], g["abandoned"], g["liveAnswers"]) for g in guard] == [("capped", 1, 2)]
    assert summary["compliance"]["guard"][0]["level"] == "capped"
    after = [e for e in events if e["type"] == "batch.started" and e["position"] > abandoned[0]["position"]]
    assert after and all(len(b["data"]["calls"]) == 1 for b in after), "one line at a time once capped"
    assert summary["compliance"]["abandoned"]["byCause"]["raced-winner"] == 1
    assert summary["queue"]["state"] == "completed"


def test_a_batch_formed_a_second_before_nine_dials_nobody_after_nine(run, tmp_path):
    """Issue 20, D2 as the probe ran it: five New York contacts, five lines 800 ms apart, the session
    starting at 20:59:59 local (virtual time). Before the fix three lines were dialled after 21:00."""
    scenario = tmp_path / "evening.json"
    scenario.write_text(json.dumps({
        "startAt": "2026-01-06T01:59:59Z",  # 20:59:59 in New York (EST)
        "queue": {"name": "Evening", "safeHarborMessage": SAFE_HARBOR_MESSAGE},
        "callerIds": ["+12125550100"],
        "session": {"agentId": "agent-1", "mode": "parallel", "profile": "auto",
                    "settings": {"maxLines": 5, "staggerMs": 800, "cooldownMs": 2000}},
        "contacts": [{"id": f"ny{i}", "phone": f"+1212555{1000 + i}", "timeZone": "America/New_York",
                      "script": {"answer": "none"}} for i in range(5)],
    }))
    lines = [json.loads(line) for line in run("simulate", "--scenario", scenario, check=True).stdout.splitlines()]
    dialled = [e for e in lines[:-1] if e["type"] == "call.dialed"]
    assert dialled, "nothing was dialled at all"
    local = [datetime.fromisoformat(e["time"].replace("Z", "+00:00")).astimezone(ZoneInfo("America/New_York")) for e in dialled]
    outside = [t.isoformat() for t in local if not 8 <= t.hour < 21]
    assert outside == [], f"dialled outside 08:00–21:00 in New York: {outside}"
    assert local[0].hour == 20 and len([t for t in local if t.hour == 20]) == 1  # the one line placeable before nine
    assert any(t.hour == 8 for t in local)  # the rest waited for the morning
