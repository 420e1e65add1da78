"""`serve --carrier twilio` against the fake Twilio (fake_twilio.py): requests held to Twilio's OpenAPI
description, webhooks signed by twilio-python, calls that follow per-number scripts on real time."""
import os
import signal
import socket
import subprocess
import time

import pytest
import requests

from fake_twilio import FakeTwilio
from schema_validation import Checker
from switchboard_client import SAFE_HARBOR_MESSAGE, api, serve_arguments, wait_for


def busiest_second(times):
    """The most requests any one-second window holds (each window starting at a request)."""
    times = sorted(times)
    return max(sum(1 for t in times if start <= t < start + 1.0) for start in times)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def twilio():
    fake = FakeTwilio()
    yield fake
    fake.close()


def start(switchboard, tmp_path, fake, *more, name="t", port=None, log=None):
    """A server on the fake Twilio; its public URL is its own address (the fake calls back there)."""
    port = port or free_port()
    environment = {**os.environ, "TWILIO_ACCOUNT_SID": fake.account_sid, "TWILIO_AUTH_TOKEN": fake.auth_token}
    log = tmp_path / f"{log or name}.log"
    process = subprocess.Popen(
        serve_arguments(switchboard, tmp_path / f"{name}.sqlite", "--carrier", "twilio", "--twilio-api-url", fake.url,
                        "--public-url", f"http://127.0.0.1:{port}", "--twilio-cps", 10, *more, port=port),
        stdout=subprocess.PIPE, stderr=open(log, "w"), text=True, env=environment)
    process.stdout.readline()
    base = f"http://127.0.0.1:{port}"
    wait_for(lambda: api.get(base + "/healthz").status_code == 200, message=lambda: log.read_text()[-2000:])
    return {"base": base, "process": process, "log": log, "store": tmp_path / f"{name}.sqlite"}


def stop(server):
    server["process"].send_signal(signal.SIGTERM)
    server["process"].wait(timeout=20)


@pytest.fixture
def served(switchboard, tmp_path, twilio):
    server = start(switchboard, tmp_path, twilio)
    yield server
    stop(server)


def work(base, contacts, agent="agent-1", profile=None, **settings):
    """A queue of `contacts` (id, phone) and a parallel session on it; the session's first batch id."""
    queue = api.post(base + "/v1/queues", json={"name": agent, "contacts": [{"id": c, "phone": p} for c, p in contacts]})
    assert queue.status_code == 201, queue.text
    body = {"agentId": agent, "queueId": queue.json()["queueId"], "mode": "parallel", "agentEndpoint": f"client:{agent}"}
    if profile:
        body["profile"] = profile
    else:
        body["settings"] = {"maxLines": max(2, len(contacts)), "staggerMs": 0, **settings}
    session = api.post(base + "/v1/sessions", json=body)
    assert session.status_code == 201, session.text
    group = wait_for(lambda: api.get(f"{base}/v1/sessions/{session.json()['sessionId']}").json()["currentGroupId"],
                     message="the session never dialled a batch")
    return queue.json()["queueId"], session.json()["sessionId"], group


def log_events(base):
    events, after = [], 0
    while page := api.get(f"{base}/v1/events", params={"after": after, "limit": 1000}).json()["events"]:
        events += page
        after = page[-1]["position"]
    return events


def calls_of(base, group):
    return {c["to"]: c for c in api.get(f"{base}/v1/calls/parallel/{group}").json()["calls"]}


def test_one_human_answers_joins_the_agents_room_and_the_other_two_are_cancelled(served, twilio):
    base = served["base"]
    twilio.script("+12125550101", ring_ms=8000, answer="none")
    twilio.script("+12125550102", ring_ms=800, answer="human", amd_ms=200, talk_ms=60_000)
    twilio.script("+12125550103", ring_ms=8000, answer="none")
    _, _, group = work(base, [("a", "+12125550101"), ("b", "+12125550102"), ("c", "+12125550103")])
    winner = wait_for(lambda: (c := calls_of(base, group)["+12125550102"])["status"] == "in-progress" and c, timeout=30)
    assert winner["answeredBy"] == "human"
    sids = {call.to: call for call in twilio.contact_calls().values()}
    wait_for(lambda: sids["+12125550102"].room == "switchboard-agent-agent-1", message="the winner never joined the agent's room")
    # The losers: Status=canceled, and Twilio's canceled callbacks change nothing more.
    wait_for(lambda: sids["+12125550101"].status == "canceled" and sids["+12125550103"].status == "canceled")
    cancels = [r for r in twilio.requests if r[3].get("Status") == ["canceled"]]
    assert sorted(r[2].rsplit("/", 1)[1] for r in cancels) == sorted(f"{sids[n].sid}.json" for n in ("+12125550101", "+12125550103"))
    # The account allows 10 calls a second: the batch's stagger is the pacer's 105 ms, not the session's 0.
    assert api.get(f"{base}/v1/calls/parallel/{group}").json()["staggerMs"] == 105
    statuses = {to: c["status"] for to, c in calls_of(base, group).items()}
    assert statuses == {"+12125550101": "terminated", "+12125550102": "in-progress", "+12125550103": "terminated"}
    # Each call's Twilio name is in the log, and every event keeps its schema.
    events = log_events(base)
    assigned = [e for e in events if e["type"] == "call.carrier-assigned"]
    assert sorted(e["data"]["carrierCallId"] for e in assigned) == sorted(c.sid for c in sids.values())
    checker = Checker()
    assert [error for event in events for error in checker.errors_for(event)] == []
    # Every request the server sent kept Twilio's description.
    assert twilio.violations == []
    create = twilio.creates()[0][3]
    assert create["StatusCallbackEvent"] == ["initiated", "ringing", "answered", "completed"]
    assert create["MachineDetection"] == ["Enable"] and create["AsyncAmd"] == ["true"]
    assert create["From"][0].startswith("+1")


def test_a_second_human_who_answers_after_the_winner_hears_the_safe_harbor_message(served, twilio):
    base = served["base"]
    twilio.script("+12125550201", ring_ms=800, answer="human", amd_ms=600, talk_ms=60_000)
    twilio.script("+12125550202", ring_ms=800, answer="human", amd_ms=1000, talk_ms=60_000)
    _, _, group = work(base, [("a", "+12125550201"), ("b", "+12125550202")])
    # Both pick up within the pacer's spacing (~0.1 s) of each other; the first verdict (0.6 s after its
    # answer) wins. The second is already answered when our cancel arrives (Twilio leaves a call in
    # progress alone), so when its verdict comes the engine abandons the person and they hear the
    # message, not silence.
    def abandoned():
        return next((c for c in calls_of(base, group).values() if c["abandoned"] and c["abandonment"]["safeHarborEndedAt"]), None)
    call = wait_for(abandoned, timeout=30, message=lambda: f"{calls_of(base, group)} {[(c.to, c.status, c.said, c.room) for c in twilio.contact_calls().values()]} {served['log'].read_text()[-3000:]}")
    assert call["to"] == "+12125550202" and call["abandonment"]["safeHarbor"] == "requested"
    fake_call = next(c for c in twilio.contact_calls().values() if c.to == call["to"])
    assert fake_call.said == [SAFE_HARBOR_MESSAGE] and fake_call.room is None
    assert twilio.violations == []


def test_a_forged_or_unsigned_webhook_is_refused_and_changes_nothing(served, twilio):
    base = served["base"]
    twilio.script("+12125550301", ring_ms=30_000, answer="none")
    _, _, group = work(base, [("a", "+12125550301")])
    wait_for(lambda: twilio.contact_calls())
    call = next(iter(twilio.contact_calls().values()))
    url = f"{base}/v1/carriers/twilio/calls/{group}/{calls_of(base, group)['+12125550301']['callId']}/status"
    params = {"AccountSid": twilio.account_sid, "CallSid": call.sid, "CallStatus": "busy", "SequenceNumber": "9"}
    before = api.get(f"{base}/healthz").json()["position"]
    assert requests.post(url, data=params).status_code == 403
    assert requests.post(url, data=params, headers={"X-Twilio-Signature": "AAAAAAAAAAAAAAAAAAAAAAAAAAA="}).status_code == 403
    from twilio.request_validator import RequestValidator
    forged = RequestValidator("not-the-token").compute_signature(url, params)
    refused = requests.post(url, data=params, headers={"X-Twilio-Signature": forged})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "bad-signature"
    assert api.get(f"{base}/healthz").json()["position"] == before
    assert calls_of(base, group)["+12125550301"]["status"] in ("dialing", "ringing")


def test_duplicate_and_out_of_order_callbacks_never_record_anything_twice_or_move_a_call_back(served, twilio):
    base = served["base"]
    twilio.duplicate_callbacks = True
    twilio.reorder_callbacks = True   # initiated and ringing arrive after the answer
    twilio.script("+12125550401", ring_ms=500, answer="human", amd_ms=100, talk_ms=1500)
    twilio.script("+12125550402", busy=True)
    _, session, group = work(base, [("a", "+12125550401"), ("b", "+12125550402")])
    wait_for(lambda: calls_of(base, group)["+12125550401"]["status"] == "completed", timeout=30)
    wait_for(lambda: all(c.status in ("completed", "busy") for c in twilio.contact_calls().values()))
    time.sleep(1.0)  # the late (reordered) deliveries land
    events = [e for e in log_events(base) if e["data"].get("groupId") == group]
    per_call = {}
    for event in events:
        if "callId" in event["data"]:
            per_call.setdefault(event["data"]["callId"], []).append(event["type"])
    for call_id, types in per_call.items():
        assert len(types) == len(set(types)), f"{call_id} recorded something twice: {types}"
    winner = calls_of(base, group)["+12125550401"]
    assert per_call[winner["callId"]].index("call.answered") < per_call[winner["callId"]].index("call.completed")
    assert "call.ringing" not in per_call[winner["callId"]][per_call[winner["callId"]].index("call.answered"):]
    assert calls_of(base, group)["+12125550402"]["endReason"] == "busy"
    # Every callback was delivered twice and taken: Twilio was answered 2xx each time.
    statuses = [w[3] for w in twilio.webhooks if w[1].endswith("/status")]
    assert statuses and all(s in (200, 204) for s in statuses), statuses


def test_a_create_that_times_out_after_placing_the_call_dials_nobody_twice(switchboard, tmp_path, twilio):
    server = start(switchboard, tmp_path, twilio, "--carrier-timeout-ms", 1000)
    try:
        base = server["base"]
        twilio.create_delay_s = 2.5   # placed at once, answered after our timeout
        twilio.script("+12125550501", ring_ms=3500, answer="human", amd_ms=100, talk_ms=60_000)
        twilio.script("+12125550502", ring_ms=60_000, answer="none")
        _, _, group = work(base, [("a", "+12125550501"), ("b", "+12125550502")])
        winner = wait_for(lambda: (c := calls_of(base, group)["+12125550501"])["status"] == "in-progress" and c, timeout=30,
                          message=lambda: "\n".join(l for l in server["log"].read_text().splitlines() if "GET /v1" not in l and "path=/v1/calls" not in l)[-3000:])
        assert len(twilio.creates()) == 2    # one per contact: nothing sent again
        lists = [r for r in twilio.requests if r[1] == "GET" and r[2].endswith("/Calls.json")]
        assert len(lists) >= 2               # each unanswered create was looked for
        adopted = [e for e in log_events(base) if e["type"] == "call.carrier-assigned"]
        assert sorted(e["data"]["carrierCallId"] for e in adopted) == sorted(twilio.contact_calls())
        assert winner["answeredBy"] == "human" and twilio.violations == []
    finally:
        stop(server)


def test_too_many_requests_backs_off_and_then_places_the_call(served, twilio):
    """The first creates (the agent's own call comes first) are refused 429: nothing is sent during each
    pause (1 s, then 2 s), the queue shows the carrier holding it back, then every call is placed once."""
    base = served["base"]
    twilio.create_answers = [429, 429]
    twilio.script("+12125550601", ring_ms=60_000, answer="none")
    twilio.script("+12125550602", ring_ms=60_000, answer="none")
    queue = api.post(base + "/v1/queues", json={"name": "throttled", "contacts": [
        {"id": "a", "phone": "+12125550601"}, {"id": "b", "phone": "+12125550602"}]}).json()["queueId"]
    assert api.post(base + "/v1/sessions", json={"agentId": "throttled", "queueId": queue, "mode": "parallel",
                                                  "agentEndpoint": "client:throttled"}).status_code == 201
    held = wait_for(lambda: (c := api.get(f"{base}/v1/queues/{queue}").json()["carrier"])["backingOffUntil"] and c)
    assert held["name"] == "twilio" and held["callsPerSecond"] == 10 and held["refusals"] >= 1
    wait_for(lambda: len(twilio.contact_calls()) == 2, timeout=30)
    creates = [r[0] for r in twilio.creates(agents=True)]
    assert len(creates) == 5 and len(twilio.calls) == 3   # two refused, then the agent's and both contacts', once each
    assert creates[1] - creates[0] >= 0.9 and creates[2] - creates[1] >= 1.9
    carrier = api.get(f"{base}/v1/queues/{queue}").json()["carrier"]
    assert carrier["refusals"] == 2 and carrier["backingOffUntil"] is None and carrier["waitingCalls"] == 0


def test_carrier_errors_end_the_call_failed_with_the_code_and_machines_are_hung_up(served, twilio):
    base = served["base"]
    twilio.script("+12125550701", fail=21211)
    twilio.script("+12125550702", ring_ms=400, answer="machine", amd_ms=100)
    _, session, group = work(base, [("a", "+12125550701"), ("b", "+12125550702")])
    wait_for(lambda: {c["status"] for c in calls_of(base, group).values()} == {"failed", "voicemail"}, timeout=30,
             message=lambda: str(calls_of(base, group)))
    failed = calls_of(base, group)["+12125550701"]
    assert failed["endReason"].startswith("twilio failed 21211")
    machine = next(c for c in twilio.contact_calls().values() if c.to == "+12125550702")
    wait_for(lambda: machine.status == "completed" and machine.room is None)
    # The session goes on to its next batch.
    wait_for(lambda: api.get(f"{base}/v1/sessions/{session}").json()["lastGroupId"] == group, timeout=30)


@pytest.mark.parametrize("profile,connected", [("balanced", True), ("conservative", False)])
def test_no_verdict_in_time_is_unknown_and_the_amd_policy_decides(switchboard, tmp_path, twilio, profile, connected):
    """balanced connects human-or-unknown, conservative (VIP) only a human."""
    server = start(switchboard, tmp_path, twilio, "--amd-wait-ms", 300)
    try:
        base = server["base"]
        twilio.script("+12125550801", ring_ms=500, answer="human", amd_ms=5000, talk_ms=60_000)
        twilio.script("+12125550802", ring_ms=60_000, answer="none")
        _, _, group = work(base, [("a", "+12125550801"), ("b", "+12125550802")], profile=profile)
        call = wait_for(lambda: (c := calls_of(base, group)["+12125550801"])["answeredBy"] and c, timeout=30)
        assert call["answeredBy"] == "unknown"
        fake = next(c for c in twilio.contact_calls().values() if c.to == "+12125550801")
        if connected:
            wait_for(lambda: fake.room == "switchboard-agent-agent-1")
        else:
            wait_for(lambda: fake.status == "completed" and fake.room is None)
            assert calls_of(base, group)["+12125550801"]["endReason"] == "amd-policy"
    finally:
        stop(server)


def test_a_webhook_for_a_call_we_do_not_know_is_hung_up(served, twilio):
    base = served["base"]
    from twilio.request_validator import RequestValidator
    url = f"{base}/v1/carriers/twilio/calls/nobody/nothing/answer"
    params = {"AccountSid": twilio.account_sid, "CallSid": "CA" + "f" * 32, "CallStatus": "in-progress"}
    signature = RequestValidator(twilio.auth_token).compute_signature(url, params)
    answer = requests.post(url, data=params, headers={"X-Twilio-Signature": signature})
    assert answer.status_code == 200 and "<Hangup/>" in answer.text


def test_no_secret_reaches_the_log_the_event_log_a_url_or_metrics(served, twilio):
    base = served["base"]
    twilio.script("+12125550901", ring_ms=400, answer="human", amd_ms=100, talk_ms=1000)
    twilio.script("+12125550902", ring_ms=60_000, answer="none")
    _, _, group = work(base, [("a", "+12125550901"), ("b", "+12125550902")])
    wait_for(lambda: calls_of(base, group)["+12125550901"]["status"] == "completed", timeout=30)
    token = twilio.auth_token
    assert token not in served["log"].read_text()
    assert token.encode() not in served["store"].read_bytes()
    metrics = api.get(base + "/metrics").text
    assert token not in metrics
    # The carrier's requests are counted by method and outcome, never by URL (which names the account).
    assert 'switchboard_carrier_requests_total{carrier="twilio",method="POST",outcome="2xx"}' in metrics
    # Our part of the hello gap, measured inside the server: the answer's webhook → the bridge leaving.
    assert 'switchboard_carrier_answer_to_bridge_seconds_count{carrier="twilio"} 1' in metrics
    assert twilio.account_sid not in metrics
    assert all(token not in r[2] for r in twilio.requests)                 # request paths and queries
    assert all(token not in w[1] for w in twilio.webhooks)                 # the callback URLs we gave
    assert token not in str(twilio.creates())                              # nor in a form field


def test_a_restart_keeps_the_live_calls_the_log_placed_and_hangs_up_the_others(switchboard, tmp_path, twilio):
    """SIGKILL while two calls ring; on start the account's live calls are listed: ours go on (one answers
    and wins, the other is cancelled), one the log does not know is hung up, nothing is dialled twice."""
    twilio.script("+12125551001", ring_ms=12_000, answer="human", amd_ms=100, talk_ms=60_000)
    twilio.script("+12125551002", ring_ms=60_000, answer="none")
    server = start(switchboard, tmp_path, twilio, name="r")
    port = int(server["base"].rsplit(":", 1)[1])
    _, _, group = work(server["base"], [("a", "+12125551001"), ("b", "+12125551002")])
    wait_for(lambda: len(twilio.contact_calls()) == 2 and all(c.status == "ringing" for c in twilio.contact_calls().values()))
    wait_for(lambda: len([e for e in log_events(server["base"]) if e["type"] == "call.carrier-assigned"]) == 2)
    server["process"].kill()
    server["process"].wait(timeout=20)
    stranger = twilio.inject("+13125550000")
    again = start(switchboard, tmp_path, twilio, name="r", port=port, log="r-again")   # the same public URL
    try:
        base = again["base"]
        wait_for(lambda: stranger.status == "completed", message="the unknown live call was not hung up")
        winner = wait_for(lambda: (c := calls_of(base, group)["+12125551001"])["status"] == "in-progress" and c, timeout=40,
                          message=lambda: str(calls_of(base, group)))
        assert winner["answeredBy"] == "human"
        loser = next(c for c in twilio.contact_calls().values() if c.to == "+12125551002")
        wait_for(lambda: loser.status == "canceled")
        assert len(twilio.creates()) == 2
    finally:
        stop(again)


def test_twenty_agents_never_exceed_the_accounts_calls_per_second(switchboard, tmp_path, twilio):
    """20 sessions of 3 lines on an account of 2 calls a second, for a minute: no second at Twilio's end
    ever holds more than 2 creates."""
    server = start(switchboard, tmp_path, twilio, "--twilio-cps", 2, name="cps")
    try:
        base = server["base"]
        for agent in range(20):
            contacts = [(f"c{n}", f"+1212555{agent:02d}{n:02d}") for n in range(12)]
            for _, phone in contacts:
                twilio.script(phone, busy=True)
            work(base, contacts, agent=f"cps-agent-{agent}", maxLines=3)
        started = time.monotonic()
        wait_for(lambda: time.monotonic() - started > 60 or len(twilio.creates()) >= 110, timeout=120)
        times = [r[0] for r in twilio.creates()]
        assert len(times) >= 60, f"only {len(times)} creates in a minute"
        busiest = busiest_second(times)
        assert busiest <= 2, f"{busiest} creates within one second"
        assert twilio.violations == []
    finally:
        stop(server)


def test_a_session_on_a_real_carrier_needs_the_agents_endpoint_and_dials_once_the_agent_is_in(served, twilio):
    base = served["base"]
    queue = api.post(base + "/v1/queues", json={"name": "leg", "contacts": [{"id": "a", "phone": "+12125551101"}]}).json()
    missing = api.post(base + "/v1/sessions", json={"agentId": "leg-agent", "queueId": queue["queueId"], "mode": "parallel"})
    assert missing.status_code == 422 and "agentEndpoint" in missing.text
    bad = api.post(base + "/v1/sessions", json={"agentId": "leg-agent", "queueId": queue["queueId"], "agentEndpoint": "tel:5"})
    assert bad.status_code == 422 and "agentEndpoint" in bad.text
    # The agent's phone rings for 2 s before they pick up: no contact is dialled meanwhile.
    twilio.script("+15125550177", ring_ms=2000, answer="human", talk_ms=3_600_000)
    twilio.script("+12125551101", ring_ms=60_000, answer="none")
    session = api.post(base + "/v1/sessions", json={"agentId": "leg-agent", "queueId": queue["queueId"], "mode": "parallel",
                                                     "agentEndpoint": "+15125550177"}).json()
    assert session["agentLeg"] == {"endpoint": "+15125550177", "state": "connecting"}
    agent_call = wait_for(lambda: next((c for c in twilio.calls.values() if c.to == "+15125550177"), None))
    assert agent_call.field("MachineDetection") is None
    def contact_creates():
        return [r for r in twilio.creates() if r[3]["To"] != ["+15125550177"]]
    time.sleep(1.0)
    assert contact_creates() == [] and agent_call.status == "ringing"
    wait_for(lambda: api.get(f"{base}/v1/sessions/{session['sessionId']}").json()["agentLeg"]["state"] == "connected", timeout=30)
    wait_for(lambda: agent_call.room == "switchboard-agent-leg-agent")
    wait_for(lambda: len(contact_creates()) == 1, timeout=30)
    created_after = min(r[0] for r in contact_creates())
    answered = next(w[0] for w in twilio.webhooks if w[1].endswith(f"/agents/{session['sessionId']}/answer"))
    assert created_after >= answered   # dialling started once the agent was in
    # The agent hangs up: the ringing batch ends, the session pauses and says why.
    agent_call.hangup_requested = True
    agent_call.interrupt.set()
    paused = wait_for(lambda: (s := api.get(f"{base}/v1/sessions/{session['sessionId']}").json())["state"] == "paused" and s, timeout=30)
    assert paused["agentLeg"]["state"] == "disconnected"
    contact = next(c for c in twilio.contact_calls().values() if c.to == "+12125551101")
    wait_for(lambda: contact.status == "canceled")
    # A resume calls the agent in again.
    assert api.post(f"{base}/v1/sessions/{session['sessionId']}/resume").status_code == 200
    wait_for(lambda: len([c for c in twilio.calls.values() if c.to == "+15125550177"]) == 2, timeout=30)


def test_stopping_the_session_hangs_up_the_agents_call(served, twilio):
    base = served["base"]
    twilio.script("+12125551201", ring_ms=60_000, answer="none")
    twilio.script("+12125551202", ring_ms=60_000, answer="none")
    _, session, _ = work(base, [("a", "+12125551201"), ("b", "+12125551202")], agent="stopper")
    agent_call = next(c for c in twilio.calls.values() if c.to == "client:stopper")
    assert api.post(f"{base}/v1/sessions/{session}/stop").status_code == 200
    wait_for(lambda: agent_call.status == "completed", message="the agent's call was not ended")
    wait_for(lambda: all(c.status == "canceled" for c in twilio.contact_calls().values()))


def test_a_dropped_verdict_still_answers_within_the_bound(served, twilio):
    """Twilio never delivers the AMD callback: the held answer becomes unknown after --amd-wait-ms (1.5 s)."""
    base = served["base"]
    twilio.drop_callbacks = {"amd", "ringing"}
    twilio.script("+12125551301", ring_ms=500, answer="human", amd_ms=100, talk_ms=60_000)
    twilio.script("+12125551302", ring_ms=60_000, answer="none")
    _, _, group = work(base, [("a", "+12125551301"), ("b", "+12125551302")])
    call = wait_for(lambda: (c := calls_of(base, group)["+12125551301"])["answeredBy"] and c, timeout=30)
    assert call["answeredBy"] == "unknown" and call["status"] == "in-progress"   # balanced connects unknown
    assert any(w[3] == "dropped" for w in twilio.webhooks)


def test_forged_webhooks_count_against_their_address(switchboard, tmp_path, twilio):
    """The webhook routes take no token, but a bad signature is a guess: the address is shut out (429)."""
    server = start(switchboard, tmp_path, twilio, "--auth-failure-limit", 3, name="limit")
    try:
        url = server["base"] + "/v1/carriers/twilio/calls/g/c/status"
        answers = [requests.post(url, data={"CallSid": "CA" + "0" * 32, "CallStatus": "busy"},
                                 headers={"X-Twilio-Signature": "AAAAAAAAAAAAAAAAAAAAAAAAAAA="}).status_code for _ in range(4)]
        assert answers == [403, 403, 403, 429]
    finally:
        stop(server)
