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


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def twilio():
    fake = FakeTwilio()
    yield fake
    fake.close()


def start(switchboard, tmp_path, fake, *more, name="t"):
    """A server on the fake Twilio; its public URL is its own address (the fake calls back there)."""
    port = free_port()
    environment = {**os.environ, "TWILIO_ACCOUNT_SID": fake.account_sid, "TWILIO_AUTH_TOKEN": fake.auth_token}
    log = tmp_path / f"{name}.log"
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


def work(base, contacts, agent="agent-1", **settings):
    """A queue of `contacts` (id, phone) and a parallel session on it; the session's first batch id."""
    queue = api.post(base + "/v1/queues", json={"name": agent, "contacts": [{"id": c, "phone": p} for c, p in contacts]})
    assert queue.status_code == 201, queue.text
    session = api.post(base + "/v1/sessions", json={"agentId": agent, "queueId": queue.json()["queueId"], "mode": "parallel",
                                                     "settings": {"maxLines": max(2, len(contacts)), "staggerMs": 0, **settings}})
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
    sids = {call.to: call for call in twilio.calls.values()}
    wait_for(lambda: sids["+12125550102"].room == "switchboard-agent-agent-1", message="the winner never joined the agent's room")
    # The losers: Status=canceled, and Twilio's canceled callbacks change nothing more.
    wait_for(lambda: sids["+12125550101"].status == "canceled" and sids["+12125550103"].status == "canceled")
    cancels = [r for r in twilio.requests if r[3].get("Status") == ["canceled"]]
    assert sorted(r[2].rsplit("/", 1)[1] for r in cancels) == sorted(f"{sids[n].sid}.json" for n in ("+12125550101", "+12125550103"))
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
    twilio.script("+12125550201", ring_ms=800, answer="human", amd_ms=100, talk_ms=60_000)
    twilio.script("+12125550202", ring_ms=800, answer="human", amd_ms=900, talk_ms=60_000)
    _, _, group = work(base, [("a", "+12125550201"), ("b", "+12125550202")])
    # Both pick up together; the first verdict wins. The second is already answered when our cancel
    # arrives (Twilio leaves a call in progress alone), so when its verdict comes the engine abandons
    # the person and they hear the message, not silence.
    def abandoned():
        return next((c for c in calls_of(base, group).values() if c["abandoned"] and c["abandonment"]["safeHarborEndedAt"]), None)
    call = wait_for(abandoned, timeout=30, message=lambda: f"{calls_of(base, group)} {[(c.to, c.status, c.said, c.room) for c in twilio.calls.values()]} {served['log'].read_text()[-3000:]}")
    assert call["to"] == "+12125550202" and call["abandonment"]["safeHarbor"] == "requested"
    fake_call = next(c for c in twilio.calls.values() if c.to == call["to"])
    assert fake_call.said == [SAFE_HARBOR_MESSAGE] and fake_call.room is None
    assert twilio.violations == []


def test_a_forged_or_unsigned_webhook_is_refused_and_changes_nothing(served, twilio):
    base = served["base"]
    twilio.script("+12125550301", ring_ms=30_000, answer="none")
    _, _, group = work(base, [("a", "+12125550301")])
    wait_for(lambda: twilio.calls)
    call = next(iter(twilio.calls.values()))
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
