"""US rules from outside: the do-not-call list through the API and the command line."""
import signal
import subprocess
import time

import pytest

from switchboard_client import api, serve_arguments


@pytest.fixture
def served(switchboard, tmp_path):
    process = subprocess.Popen(serve_arguments(switchboard, tmp_path / "c.sqlite"), stdout=subprocess.PIPE,
                               stderr=open(tmp_path / "server.log", "w"), text=True)
    base = "http://127.0.0.1:" + process.stdout.readline().split("127.0.0.1:")[1].split()[0]
    for _ in range(50):
        if api.get(base + "/healthz").status_code == 200:
            break
        time.sleep(0.1)
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
    for _ in range(50):
        group = api.get(f"{base}/v1/sessions/{session['sessionId']}").json()["currentGroupId"]
        if group:
            break
        time.sleep(0.1)
    assert [c["to"] for c in api.get(f"{base}/v1/calls/parallel/{group}").json()["calls"]] == ["+15125557002"]
    assert api.delete(f"{base}/v1/dnc/%2B15125557001").json() == {"phone": listed, "listed": False}
    assert api.delete(f"{base}/v1/dnc/%2B15125557001").status_code == 404


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
