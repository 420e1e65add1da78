"""`serve --carrier telnyx` against the fake Telnyx (fake_telnyx.py): requests held to the note's rules,
webhooks signed with Ed25519 (PyNaCl), calls that follow per-number scripts on real time."""
import json
import os
import signal
import subprocess
import time

import pytest
import requests

from fake_telnyx import FakeTelnyx
from schema_validation import Checker
from switchboard_client import SAFE_HARBOR_MESSAGE, api, serve_arguments, wait_for
from test_twilio import busiest_second, calls_of, free_port, log_events, stop


@pytest.fixture
def telnyx():
    fake = FakeTelnyx()
    yield fake
    fake.close()


def start(switchboard, tmp_path, telnyx, *more, port=None, log_name="telnyx"):
    port = port or free_port()
    environment = {**os.environ, "TELNYX_API_KEY": telnyx.api_key, "TELNYX_CONNECTION_ID": telnyx.connection_id,
                   "TELNYX_PUBLIC_KEY": telnyx.public_key}
    log = tmp_path / f"{log_name}.log"
    process = subprocess.Popen(
        serve_arguments(switchboard, tmp_path / "x.sqlite", "--carrier", "telnyx", "--telnyx-api-url", telnyx.url,
                        "--public-url", f"http://127.0.0.1:{port}", "--telnyx-cps", 10, *more, port=port),
        stdout=subprocess.PIPE, stderr=open(log, "w"), text=True, env=environment)
    process.stdout.readline()
    base = f"http://127.0.0.1:{port}"
    wait_for(lambda: api.get(base + "/healthz").status_code == 200, message=lambda: log.read_text()[-2000:])
    return {"base": base, "process": process, "log": log, "store": tmp_path / "x.sqlite", "port": port}


@pytest.fixture
def served(switchboard, tmp_path, telnyx):
    server = start(switchboard, tmp_path, telnyx)
    yield server
    stop(server)


def work(base, contacts, agent="agent-1"):
    queue = api.post(base + "/v1/queues", json={"name": agent, "contacts": [{"id": c, "phone": p} for c, p in contacts]})
    assert queue.status_code == 201, queue.text
    session = api.post(base + "/v1/sessions", json={
        "agentId": agent, "queueId": queue.json()["queueId"], "mode": "parallel", "agentEndpoint": f"sip:{agent}@agents.example.com",
        "settings": {"maxLines": max(2, len(contacts)), "staggerMs": 0}})
    assert session.status_code == 201, session.text
    group = wait_for(lambda: api.get(f"{base}/v1/sessions/{session.json()['sessionId']}").json()["currentGroupId"],
                     message="the session never dialled a batch")
    return session.json()["sessionId"], group


def test_one_human_is_bridged_to_the_agents_call_and_the_others_are_hung_up(served, telnyx):
    base = served["base"]
    telnyx.script("+12125552101", ring_ms=8000, answer="none")
    telnyx.script("+12125552102", ring_ms=800, answer="human", amd_ms=200)
    telnyx.script("+12125552103", ring_ms=8000, answer="none")
    _, group = work(base, [("a", "+12125552101"), ("b", "+12125552102"), ("c", "+12125552103")])
    winner = wait_for(lambda: (c := calls_of(base, group)["+12125552102"])["status"] == "in-progress" and c, timeout=30)
    assert winner["answeredBy"] == "human"
    calls = {c.to: c for c in telnyx.contact_calls().values()}
    agent = next(c for c in telnyx.calls.values() if c.to == "sip:agent-1@agents.example.com")
    wait_for(lambda: agent.bridged_to == calls["+12125552102"].ccid, message=lambda: "not bridged: " + str([(r[2], r[3]) for r in telnyx.requests if "actions" in r[2]]) + str(telnyx.violations))
    bridge = next(r[3] for r in telnyx.requests if r[2].endswith("/actions/bridge"))
    assert bridge["prevent_double_bridge"] is True and bridge["park_after_unbridge"] == "self"
    wait_for(lambda: calls["+12125552101"].cause == ("originator_cancel", "caller") and calls["+12125552103"].cause == ("originator_cancel", "caller"))
    dial = next(r[3] for r in telnyx.dials() if r[3]["to"] == "+12125552102")
    assert dial["answering_machine_detection"] == "detect" and dial["command_id"].startswith("dial-")
    assert telnyx.violations == []
    events = log_events(base)
    assert sorted(e["data"]["carrierCallId"] for e in events if e["type"] == "call.carrier-assigned") == sorted(c.ccid for c in calls.values())
    checker = Checker()
    assert [error for event in events for error in checker.errors_for(event)] == []


def test_a_loser_who_answers_as_our_hang_up_lands_is_cut_off_and_counted(served, telnyx):
    """Telnyx's hang-up is a BYE once answered: the person is cut off, no message possible (raced-hangup)."""
    base = served["base"]
    telnyx.script("+12125552201", ring_ms=700, answer="human", amd_ms=100)
    telnyx.script("+12125552202", ring_ms=30_000, answer="human", answer_on_hangup=True)
    _, group = work(base, [("a", "+12125552201"), ("b", "+12125552202")])
    def cut_off():
        return next((c for c in calls_of(base, group).values() if c["abandoned"]), None)
    call = wait_for(cut_off, timeout=30, message=lambda: str(calls_of(base, group)))
    assert call["to"] == "+12125552202"
    assert call["abandonment"]["cause"] == "raced-hangup" and call["abandonment"]["safeHarbor"] == "cut-off"
    queue = api.get(f"{base}/v1/queues").json()["queues"][0]["queueId"]
    report = api.get(base + "/v1/reports/compliance", params={"queue": queue}).json()["days"][0]
    assert report["abandoned"] == 1 and report["abandonedWithoutSafeHarbor"] == 1
    assert telnyx.violations == []


def test_a_person_answering_after_the_winner_hears_the_message_spoken_then_is_hung_up(served, telnyx):
    base = served["base"]
    telnyx.script("+12125552301", ring_ms=800, answer="human", amd_ms=600)
    telnyx.script("+12125552302", ring_ms=800, answer="human", amd_ms=1000)
    _, group = work(base, [("a", "+12125552301"), ("b", "+12125552302")])
    def abandoned():
        return next((c for c in calls_of(base, group).values() if c["abandoned"] and c["abandonment"]["safeHarborEndedAt"]), None)
    call = wait_for(abandoned, timeout=30, message=lambda: str(calls_of(base, group)))
    assert call["to"] == "+12125552302" and call["abandonment"]["cause"] == "raced-winner"
    spoken = next(c for c in telnyx.contact_calls().values() if c.to == "+12125552302")
    assert spoken.said == [SAFE_HARBOR_MESSAGE] and spoken.cause == ("normal_clearing", "caller")
    speak = next(r[3] for r in telnyx.requests if r[2].endswith("/actions/speak"))
    assert speak["voice"] and speak["payload"] == SAFE_HARBOR_MESSAGE


def test_forged_stale_and_duplicate_webhooks(served, telnyx):
    base = served["base"]
    telnyx.duplicate_webhooks = True
    telnyx.script("+12125552401", busy=True)
    telnyx.script("+12125552402", ring_ms=30_000, answer="none")
    _, group = work(base, [("a", "+12125552401"), ("b", "+12125552402")])
    wait_for(lambda: calls_of(base, group)["+12125552401"]["status"] == "completed", timeout=30)
    assert calls_of(base, group)["+12125552401"]["endReason"] == "busy"
    per_call = {}
    for event in log_events(base):
        if event["data"].get("groupId") == group and "callId" in event["data"]:
            per_call.setdefault(event["data"]["callId"], []).append(event["type"])
    assert all(len(types) == len(set(types)) for types in per_call.values()), per_call
    url = base + "/v1/carriers/telnyx/events"
    ringing = next(c for c in telnyx.contact_calls().values() if c.to == "+12125552402")
    body = json.dumps({"data": {"event_type": "call.hangup", "id": "forged-1", "payload": {
        "call_control_id": ringing.ccid, "client_state": ringing.client_state, "hangup_cause": "user_busy"}}}).encode()
    before = api.get(base + "/healthz").json()["position"]
    assert requests.post(url, data=body).status_code == 403
    stale = telnyx.sign(body, timestamp=int(time.time()) - 301)
    assert requests.post(url, data=body, headers=stale).status_code == 403
    forged = {**telnyx.sign(body), "telnyx-signature-ed25519": telnyx.sign(b"something else")["telnyx-signature-ed25519"]}
    assert requests.post(url, data=body, headers=forged).status_code == 403
    assert api.get(base + "/healthz").json()["position"] == before
    assert calls_of(base, group)["+12125552402"]["status"] in ("dialing", "ringing")


def test_no_secret_reaches_the_log_the_event_log_or_metrics(served, telnyx):
    base = served["base"]
    telnyx.script("+12125552501", ring_ms=400, answer="human", amd_ms=100, talk_ms=800)
    telnyx.script("+12125552502", ring_ms=30_000, answer="none")
    _, group = work(base, [("a", "+12125552501"), ("b", "+12125552502")])
    wait_for(lambda: calls_of(base, group)["+12125552501"]["status"] == "completed", timeout=30)
    assert telnyx.api_key not in served["log"].read_text()
    assert telnyx.api_key.encode() not in served["store"].read_bytes()
    assert telnyx.api_key not in api.get(base + "/metrics").text
    assert all(telnyx.api_key not in r[2] for r in telnyx.requests)


def test_a_dial_without_an_answer_is_sent_again_with_its_command_id_and_rings_once(switchboard, tmp_path, telnyx):
    server = start(switchboard, tmp_path, telnyx, "--carrier-timeout-ms", 1000)
    try:
        base = server["base"]
        telnyx.script("+12125552601", ring_ms=4000, answer="human", amd_ms=100)
        telnyx.script("+12125552602", ring_ms=60_000, answer="none")
        wait_for(lambda: True)
        telnyx.dial_delay_s = 2.5   # placed at once, answered after our timeout (the agent's dial too)
        _, group = work(base, [("a", "+12125552601"), ("b", "+12125552602")])
        wait_for(lambda: calls_of(base, group)["+12125552601"]["status"] == "in-progress", timeout=40,
                 message=lambda: str(calls_of(base, group)))
        contact_dials = [r for r in telnyx.dials() if r[3]["to"].startswith("+1212")]
        assert len(contact_dials) == 4 and len({r[3]["command_id"] for r in contact_dials}) == 2   # each sent twice, same id
        assert len(telnyx.contact_calls()) == 2                                                    # each rang once
    finally:
        stop(server)


def test_a_restart_keeps_the_connections_calls_the_log_placed_and_hangs_up_the_others(switchboard, tmp_path, telnyx):
    telnyx.script("+12125552701", ring_ms=12_000, answer="human", amd_ms=100)
    telnyx.script("+12125552702", ring_ms=60_000, answer="none")
    server = start(switchboard, tmp_path, telnyx)
    _, group = work(server["base"], [("a", "+12125552701"), ("b", "+12125552702")])
    wait_for(lambda: len([e for e in log_events(server["base"]) if e["type"] == "call.carrier-assigned"]) == 2)
    server["process"].kill()
    server["process"].wait(timeout=20)
    stranger = telnyx.inject("+13125550000")
    again = start(switchboard, tmp_path, telnyx, port=server["port"], log_name="again")
    try:
        base = again["base"]
        wait_for(lambda: any(r[2] == f"/v2/calls/{stranger.ccid.replace(':', '%3A')}/actions/hangup" for r in telnyx.requests),
                 message="the unknown active call was not hung up")
        winner = wait_for(lambda: (c := calls_of(base, group)["+12125552701"])["status"] == "in-progress" and c, timeout=40,
                          message=lambda: str(calls_of(base, group)))
        assert winner["answeredBy"] == "human"
        agent = next(c for c in telnyx.calls.values() if c.to == "sip:agent-1@agents.example.com")
        wait_for(lambda: agent.bridged_to is not None)
        assert len([r for r in telnyx.dials() if r[3]["to"].startswith("+1212")]) == 2
    finally:
        stop(again)


def test_a_machine_is_hung_up_and_the_agents_dropped_call_pauses_the_session(served, telnyx):
    base = served["base"]
    telnyx.script("+12125552801", ring_ms=400, answer="machine", amd_ms=100)
    telnyx.script("+12125552802", ring_ms=60_000, answer="none")
    session, group = work(base, [("a", "+12125552801"), ("b", "+12125552802")])
    wait_for(lambda: calls_of(base, group)["+12125552801"]["status"] == "voicemail", timeout=30)
    machine = next(c for c in telnyx.contact_calls().values() if c.to == "+12125552801")
    wait_for(lambda: machine.cause == ("normal_clearing", "caller"))
    agent = next(c for c in telnyx.calls.values() if c.to == "sip:agent-1@agents.example.com")
    agent.cause = ("normal_clearing", "callee")
    agent.hangup_requested.set()
    paused = wait_for(lambda: (s := api.get(f"{base}/v1/sessions/{session}").json())["state"] == "paused" and s, timeout=30)
    assert paused["agentLeg"]["state"] == "disconnected"


def test_twenty_agents_never_exceed_the_connections_dials_per_second(switchboard, tmp_path, telnyx):
    """20 sessions of 3 lines on a connection of 2 dials a second, for a minute: no second at Telnyx's
    end ever holds more than 2 dials (the agents' own calls count too)."""
    server = start(switchboard, tmp_path, telnyx, "--telnyx-cps", 2, log_name="cps")
    try:
        base = server["base"]
        for agent in range(20):
            contacts = [(f"c{n}", f"+1212555{agent:02d}{n:02d}") for n in range(12)]
            for _, phone in contacts:
                telnyx.script(phone, busy=True)
            queue = api.post(base + "/v1/queues", json={"name": f"cps-{agent}", "contacts": [{"id": c, "phone": p} for c, p in contacts]})
            assert api.post(base + "/v1/sessions", json={
                "agentId": f"cps-agent-{agent}", "queueId": queue.json()["queueId"], "mode": "parallel",
                "agentEndpoint": f"sip:cps-agent-{agent}@agents.example.com", "settings": {"maxLines": 3}}).status_code == 201
        started = time.monotonic()
        wait_for(lambda: time.monotonic() - started > 60 or len(telnyx.dials()) >= 110, timeout=120)
        times = [r[0] for r in telnyx.dials()]
        assert len(times) >= 60, f"only {len(times)} dials in a minute"
        busiest = busiest_second(times)
        assert busiest <= 2, f"{busiest} dials within one second"
        assert telnyx.violations == []
    finally:
        stop(server)


def test_reordered_dropped_and_refused_deliveries_change_nothing_they_should_not(served, telnyx):
    """call.initiated arrives after the answer, the AMD result never arrives, and the first dials are
    refused (429, then 500): each call is still placed once and answered once, and the held answer
    becomes unknown after the bound."""
    base = served["base"]
    telnyx.reorder_webhooks = True
    telnyx.drop_webhooks = {"call.machine.detection.ended"}
    telnyx.dial_answers = [429, 500]   # the agent's dial takes them: refused, then resent
    telnyx.script("+12125552901", ring_ms=500, answer="human", amd_ms=100, talk_ms=60_000)
    telnyx.script("+12125552902", ring_ms=60_000, answer="none")
    _, group = work(base, [("a", "+12125552901"), ("b", "+12125552902")])
    call = wait_for(lambda: (c := calls_of(base, group)["+12125552901"])["answeredBy"] and c, timeout=30)
    assert call["answeredBy"] == "unknown" and call["status"] == "in-progress"
    time.sleep(1.0)   # the late call.initiated lands
    per_call = {}
    for event in log_events(base):
        if event["data"].get("groupId") == group and "callId" in event["data"]:
            per_call.setdefault(event["data"]["callId"], []).append(event["type"])
    assert all(len(types) == len(set(types)) for types in per_call.values()), per_call
    assert calls_of(base, group)["+12125552901"]["status"] == "in-progress"
    assert len(telnyx.contact_calls()) == 2 and telnyx.violations == []
    assert any(w[3] == "dropped" for w in telnyx.webhooks)
