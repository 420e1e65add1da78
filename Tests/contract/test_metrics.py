"""`GET /metrics`: Prometheus' text format, parsed by Prometheus' own Python client; the named families
present, moving with traffic, readable by readers only, and carrying no secret and no person's number."""
import re
import threading
import signal
import subprocess
import time

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from websockets.sync.client import connect as ws_connect

from switchboard_client import ADMIN_TOKEN, ADMIN_TOKEN_FILE, AUTH, CLOCK_SHIFT, api, bearer, plain, wait_for


@pytest.fixture(scope="module")
def demo(switchboard, tmp_path_factory):
    store = tmp_path_factory.mktemp("metrics") / "metrics.sqlite"
    log = store.parent / "server.log"
    process = subprocess.Popen([str(switchboard), "serve", *CLOCK_SHIFT, "--admin-token-file", ADMIN_TOKEN_FILE, "--port", "0",
                                "--store", str(store), "--demo"], stdout=subprocess.PIPE, stderr=open(log, "w"), text=True)
    line = process.stdout.readline()
    assert "listening on http://127.0.0.1:" in line, line + log.read_text()
    port = int(line.split("127.0.0.1:")[1].split()[0])
    base = f"http://127.0.0.1:{port}"
    wait_for(lambda: api.get(base + "/healthz", timeout=1).status_code == 200)
    auditor = api.post(base + "/v1/tokens", json={"role": "auditor", "label": "scraper"}).json()["token"]
    yield {"base": base, "ws": f"ws://127.0.0.1:{port}/v1/stream", "auditor": auditor, "log": log}
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=20)


def scrape(demo):
    response = requests.get(demo["base"] + "/metrics", headers=bearer(demo["auditor"]), timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/plain")
    return response.text


def samples(text):
    """{(sample name, frozenset(labels)): value} and the family names, as Prometheus' parser reads them."""
    found, families = {}, set()
    for family in text_string_to_metric_families(text):
        families.add(family.name)
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found, families


def total(found, name, **labels):
    """The sum of `name`'s samples whose labels include `labels`."""
    want = set(labels.items())
    return sum(value for (sample, have), value in found.items() if sample == name and want <= have)


def test_every_named_family_is_there_and_the_counters_move_with_traffic(demo):
    before, families = samples(scrape(demo))
    for family in ["switchboard_calls_dialed", "switchboard_write_conflicts", "switchboard_failed_authentications",
                   "switchboard_feed_slow_consumer_closes", "switchboard_append_seconds", "switchboard_commit_events",
                   "switchboard_answer_to_last_cancel_seconds", "switchboard_http_request_seconds",
                   "switchboard_feed_delivery_lag_seconds", "switchboard_feed_open_sockets", "switchboard_feed_queued_bytes",
                   "switchboard_work_seconds", "switchboard_feed_superseded_states"]:
        assert family in families, f"{family} missing from {sorted(families)}"

    # Traffic: the demo dials; a wall follows the feed (read on a thread) the whole time; three reads of a
    # queue by its pattern; two guesses with a wrong token.
    queues = {queue["queueId"] for queue in api.get(demo["base"] + "/v1/queues").json()["queues"]}
    with ws_connect(demo["ws"] + "?after=0&topics=all", additional_headers=AUTH, max_size=None) as wall:
        threading.Thread(target=lambda: [None for _ in wall], daemon=True).start()  # reads until closed
        for _ in range(3):
            assert api.get(demo["base"] + f"/v1/queues/{sorted(queues)[0]}").status_code == 200
        for _ in range(2):
            assert plain.get(demo["base"] + "/v1/queues", headers=bearer("0" * 64)).status_code == 401
        during, _ = samples(scrape(demo))
        assert total(during, "switchboard_feed_open_sockets") >= 1

        route = "/v1/queues/{queueId}"
        read = lambda found: total(found, "switchboard_http_request_seconds_count", method="GET", route=route, status="200")
        assert read(during) - read(before) >= 3
        assert total(during, "switchboard_failed_authentications_total") - total(before, "switchboard_failed_authentications_total") >= 2
        # No id in a route label: every route label is a pattern the API declares.
        routes = {dict(labels)["route"] for (name, labels) in during if name == "switchboard_http_request_seconds_count"}
        assert route in routes and not any(queue in r for r in routes for queue in queues), routes

        # The demo's agents keep dialling: calls dialled by queue, appends, commits and deliveries grow.
        names = ["switchboard_calls_dialed_total", "switchboard_append_seconds_count", "switchboard_commit_events_count",
                 "switchboard_feed_delivery_lag_seconds_count"]

        def moved():
            now, _ = samples(scrape(demo))
            return all(total(now, name) > total(during, name) for name in names) and now
        after = wait_for(moved, timeout=60, message="the demo's traffic did not move the counters")
    # Where the node's CPU went: every stage counted, and the ones the traffic drives moved.
    stages = {dict(labels)["stage"] for (name, labels) in after if name == "switchboard_work_seconds_total"}
    assert stages == {"engine", "writes", "projections", "feed", "transport"}, stages
    for stage in stages:
        assert total(after, "switchboard_work_seconds_total", stage=stage) > total(before, "switchboard_work_seconds_total", stage=stage), stage
    labelled = {dict(labels).get("queue") for (name, labels) in after if name == "switchboard_calls_dialed_total"}
    assert labelled and labelled <= queues, (labelled, queues)

    # A batch won by an answer cancels its losing lines: the answer → last cancel histogram fills. The
    # demo's answers are random, so a batch of our own is sure to have one: a person answers while
    # two lines still ring.
    contacts = [{"phone": "+15125559301", "script": {"ringMs": 1500, "answer": "human", "talkMs": 60_000}},
                {"phone": "+15125559302", "script": {"ringMs": 60_000, "answer": "none"}},
                {"phone": "+15125559303", "script": {"ringMs": 60_000, "answer": "none"}}]
    queue = api.post(demo["base"] + "/v1/queues", json={"name": "Metrics race", "contacts": contacts}).json()["queueId"]
    started = api.post(demo["base"] + "/v1/sessions", json={"agentId": "metrics-racer", "queueId": queue, "mode": "parallel",
                                                           "settings": {"maxLines": 3}})
    assert started.status_code == 201, started.text
    wait_for(lambda: total(samples(scrape(demo))[0], "switchboard_answer_to_last_cancel_seconds_count") > 0, timeout=60,
             message="no batch had a winner with lines to cancel")


def test_metrics_are_for_readers_and_hold_no_secret_and_no_number(demo):
    assert plain.get(demo["base"] + "/metrics").status_code == 401
    agent = api.post(demo["base"] + "/v1/tokens", json={"role": "agent", "agentId": "metrics-agent"}).json()["token"]
    forbidden = plain.get(demo["base"] + "/metrics", headers=bearer(agent))
    assert forbidden.status_code == 403 and forbidden.json()["error"]["code"] == "forbidden"
    text = scrape(demo)
    assert ADMIN_TOKEN not in text and demo["auditor"] not in text and agent not in text
    assert not re.search(r"\+?1?\d{10}\b", re.sub(r"\d+\.\d+(e[+-]?\d+)?", "", text)), "a phone number in /metrics"
