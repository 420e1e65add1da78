"""Who gets in where: every route × every role (and no token, a revoked one, an expired one) as the
route table's x-roles say; the feed's topics by role; revocation closing sockets; foreign origins;
ten bad tokens; TLS; and no token in clear anywhere the server writes."""
import asyncio
import json
import pathlib
import re
import signal
import ssl
import subprocess
import time
from datetime import datetime

import pytest
import requests
import websockets
import yaml

from switchboard_client import ADMIN_TOKEN, Session, bearer, connect, healthz_timer, percentile, plain, serve_arguments, server_now, tcp_sockets, wait_for


class FromAddress(requests.adapters.HTTPAdapter):  # noqa: E302
    """Requests from another loopback address (127.x.y.z): the server counts bad tokens per address."""

    def __init__(self, address):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **options):
        options["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **options)


_addresses = iter(f"127.0.{n // 200 + 1}.{n % 200 + 2}" for n in range(40000))


def from_a_fresh_address():
    session = Session()
    adapter = FromAddress(next(_addresses))
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class Served:
    def __init__(self, switchboard, folder, *more, scheme="http", verify=True, store="access.sqlite"):
        self.store = folder / store
        self.log = folder / "server.log"
        self.process = subprocess.Popen(serve_arguments(switchboard, self.store, *more), stdout=subprocess.PIPE,
                                        stderr=open(self.log, "w"), text=True)
        self.banner = self.process.stdout.readline()
        port = int(re.search(r"listening on https?://\S+:(\d+)", self.banner).group(1))
        self.base = f"{scheme}://127.0.0.1:{port}"
        self.ws = f"{'wss' if scheme == 'https' else 'ws'}://127.0.0.1:{port}/v1/stream"
        self.port = port
        self.verify = verify
        wait_for(lambda: requests.get(self.base + "/healthz", verify=verify).status_code == 200)

    def call(self, method, path, token=None, session=plain, **options):
        headers = bearer(token) if token else {}
        return session.request(method, self.base + path, headers=headers, timeout=10, verify=self.verify, **options)

    def admin(self, method, path, **options):
        response = self.call(method, path, ADMIN_TOKEN, **options)
        assert response.status_code < 300, response.text
        return response.json()

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=20)
        return self.process.stdout.read()


@pytest.fixture
def served(switchboard, tmp_path):
    server = Served(switchboard, tmp_path)
    yield server
    server.stop()


def new_token(server, role, agent=None, **more):
    body = {"role": role, **({"agentId": agent} if agent else {}), **more}
    return server.admin("POST", "/v1/tokens", json=body)


def operations():
    spec = yaml.safe_load(open(pathlib.Path(__file__).resolve().parents[2] / "Sources/SwitchboardServer/Resources/openapi.yaml"))
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "patch", "delete"):
                yield method.upper(), path, operation["x-roles"]


def test_every_route_admits_exactly_the_roles_its_table_names(served):
    """Generated from openapi.yaml's x-roles, which a Swift test keeps equal to the route table."""
    queue = served.admin("POST", "/v1/queues", json={"name": "Matrix", "contacts": [
        {"id": f"m{i}", "phone": f"+1512553{1000 + i}", "script": {"answer": "none"}} for i in range(20)]})["queueId"]
    other_queue = served.admin("POST", "/v1/queues", json={"name": "Elsewhere"})["queueId"]
    tokens = {role: new_token(served, role)["token"] for role in ("supervisor", "auditor")}
    tokens["agent"] = new_token(served, "agent", "agent-a")["token"]
    served.admin("PUT", f"/v1/queues/{queue}/agents/agent-a")  # agents work only the queues they are assigned to
    mine = served.call("POST", "/v1/sessions", tokens["agent"], json={"agentId": "agent-a", "queueId": queue, "mode": "parallel"})
    assert mine.status_code == 201, mine.text
    theirs = served.admin("POST", "/v1/sessions", json={"agentId": "agent-b", "queueId": queue, "mode": "parallel"})
    my_session, their_session = mine.json()["sessionId"], theirs["sessionId"]
    my_group = wait_for(lambda: served.admin("GET", f"/v1/sessions/{my_session}")["currentGroupId"])
    their_group = wait_for(lambda: served.admin("GET", f"/v1/sessions/{their_session}")["currentGroupId"])
    revoked = new_token(served, "admin")
    served.admin("DELETE", f"/v1/tokens/{revoked['tokenId']}")
    expiring = new_token(served, "admin", expiresInSeconds=1)
    expired = expiring["token"]
    # The server's clock is this machine's (shifted by the tests' whole hours): wait until it has passed the token's own expiry.
    expires_at = datetime.fromisoformat(expiring["expiresAt"].replace("Z", "+00:00")).timestamp()
    wait_for(lambda: server_now() > expires_at + 0.05, message="the token's expiry never came")

    def request(method, path, who, own=True):
        """The request `who` makes: ids and bodies of its own (or, with own=False, another agent's)."""
        session, group = (my_session, my_group) if own else (their_session, their_group)
        values = {"groupId": group, "sessionId": session, "queueId": queue if own else other_queue,
                  "tokenId": "tok-none", "agentId": "agent-z", "phone": "+19995550100", "version": "0", "file": "live.js", "action": "pause",
                  "carrier": "twilio", "callId": "none", "hook": "status"}
        url = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)
        agent = "agent-a" if own else "agent-b"
        body = {
            ("POST", "/v1/sessions"): {"agentId": agent, "queueId": queue},
            ("POST", "/v1/queues"): {"name": "x"}, ("PATCH", "/v1/queues/{queueId}"): {"callerIds": None},
            ("POST", "/v1/queues/{queueId}/contacts"): {"contacts": [{"phone": "+15125550999"}]},
            ("PATCH", "/v1/sessions/{sessionId}"): {"mode": "parallel"},
            ("POST", "/v1/sessions/{sessionId}/disposition"): {"callId": "none", "outcome": "other"},
            ("POST", "/v1/tokens"): {"role": "auditor"}, ("POST", "/v1/caller-ids"): {"phones": ["+15125550100"]},
        }.get((method, path))
        params = {"agent": agent} if (method, path) == ("GET", "/v1/sessions") else None
        token = {"none": None, "revoked": revoked["token"], "expired": expired, "admin": ADMIN_TOKEN}.get(who, tokens.get(who))
        # Tokens that open nothing count against their address: each such request comes from another one.
        session = from_a_fresh_address() if who in ("revoked", "expired") else requests
        return served.call(method, url, token, session=session, json=body, params=params, allow_redirects=False)

    checked = 0
    for method, path, roles in operations():
        if "public" in roles:
            for who in ("none", "agent", "auditor"):
                assert request(method, path, who).status_code not in (401, 403), (method, path, who)
            continue
        for who in ("none", "revoked", "expired"):
            response = request(method, path, who)
            assert response.status_code == 401, (method, path, who, response.text)
            assert response.headers["www-authenticate"].startswith("Bearer")
        for who in ("admin", "supervisor", "auditor", "agent"):
            scoped = next((r.split(":")[1] for r in roles if r.startswith("agent:")), None) if who == "agent" else None
            admitted = who in roles or scoped is not None
            response = request(method, path, who)
            if admitted:
                assert response.status_code not in (401, 403), (method, path, who, response.status_code, response.text)
            else:
                assert response.status_code == 403, (method, path, who, response.status_code, response.text)
            if scoped:  # an agent's token, on another agent's things
                other = request(method, path, who, own=False)
                assert other.status_code == 403, (method, path, "another agent's", other.status_code, other.text)
            checked += 1
    assert checked >= 4 * 25


def test_an_agent_follows_only_its_own_topics_and_a_revoked_token_is_closed_within_a_second(served):
    queue = served.admin("POST", "/v1/queues", json={"name": "Feed", "contacts": [
        {"phone": f"+1512554{1000 + i}", "script": {"ringMs": 300, "answer": "machine"}} for i in range(40)]})["queueId"]
    agent = new_token(served, "agent", "agent-f")
    served.admin("PUT", f"/v1/queues/{queue}/agents/agent-f")
    session = served.call("POST", "/v1/sessions", agent["token"], json={"agentId": "agent-f", "queueId": queue}).json()["sessionId"]
    other = served.admin("POST", "/v1/sessions", json={"agentId": "agent-g", "queueId": queue})["sessionId"]
    mine = bearer(agent["token"])

    async def closed_with(url, headers, subprotocols=None):
        async with websockets.connect(url, additional_headers=headers, subprotocols=subprotocols) as ws:
            with pytest.raises(websockets.ConnectionClosed) as closed:
                for _ in range(50):
                    await asyncio.wait_for(ws.recv(), 5)
            return closed.value.rcvd.code, closed.value.rcvd.reason

    async def run():
        for topics in ("all", f"queue:{queue}", f"session:{other}", "agent:agent-g"):
            code, reason = await closed_with(f"{served.ws}?after=0&topics={topics}", mine)
            assert code == 4003 and reason, (topics, code, reason)
        assert (await closed_with(f"{served.ws}?after=0&topics=all", {}))[0] == 4001
        # Its own session: the events come; through the browsers' subprotocol as well as the header.
        async with websockets.connect(served.ws, subprotocols=["switchboard", f"bearer.{agent['token']}"]) as ws:
            assert ws.subprotocol == "switchboard"
            await ws.send(json.dumps({"subscribe": {"after": 0, "topics": f"session:{session},agent:agent-f"}}))
            first = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert first["type"] == "event" and first["event"]["correlationId"] == session
            # Revoked: closed with 4001 by the revocation itself, not at some later check (a generous
            # limit, so that a slow machine still passes and a feed that stays open still fails).
            served.admin("DELETE", f"/v1/tokens/{agent['tokenId']}")
            with pytest.raises(websockets.ConnectionClosed) as closed:
                async with asyncio.timeout(10):
                    while True:
                        await ws.recv()
            assert closed.value.rcvd.code == 4001
        # A supervisor follows everything.
        supervisor = new_token(served, "supervisor")["token"]
        async with connect(f"{served.ws}?after=0&topics=all", headers=bearer(supervisor)) as ws:
            assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "event"
    asyncio.run(run())


def test_a_feed_socket_is_closed_when_its_token_expires(served):
    """Issue 20, D9: messages kept flowing past `expiresAt` while HTTP already answered 401."""
    expiring = new_token(served, "auditor", expiresInSeconds=2)
    expires_at = datetime.fromisoformat(expiring["expiresAt"].replace("Z", "+00:00")).timestamp()
    served.admin("POST", "/v1/queues", json={"name": "Traffic", "contacts": [{"phone": "+15125553001"}]})

    async def run():
        async with connect(f"{served.ws}?after=0&topics=all", headers=bearer(expiring["token"])) as ws:
            assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "event"
            with pytest.raises(websockets.ConnectionClosed) as closed:
                async with asyncio.timeout(30):  # generous: a socket that outlives its token fails here
                    while True:
                        await ws.recv()
            return closed.value.rcvd, server_now()
    received, at = asyncio.run(run())
    assert received is not None and received.code == 4001 and "expired" in received.reason
    assert at >= expires_at - 0.05  # not before it expired (the server's clock is this machine's, shifted by whole hours)


def test_an_agent_works_and_reads_only_the_queues_it_is_assigned_to(served):
    """Issue 20, D8: an agent started a session on the VIP queue and so read its hundred names and numbers,
    and kept reading after it stopped. Now a supervisor's assignment (an event) decides."""
    vip = served.admin("POST", "/v1/queues", json={"name": "VIP", "contacts": [
        {"name": "Ada Lovelace", "phone": "+15125553101", "script": {"answer": "none"}}]})["queueId"]
    agent = new_token(served, "agent", "agent-9")["token"]
    start = {"agentId": "agent-9", "queueId": vip}
    assert served.call("POST", "/v1/sessions", agent, json=start).status_code == 403
    assert served.call("GET", f"/v1/queues/{vip}", agent).status_code == 403
    supervisor = new_token(served, "supervisor")["token"]
    assigned = served.call("PUT", f"/v1/queues/{vip}/agents/agent-9", supervisor)
    assert assigned.status_code == 200 and assigned.json()["agents"] == ["agent-9"]
    assert served.call("PUT", f"/v1/queues/{vip}/agents/agent-9", supervisor).json()["agents"] == ["agent-9"]  # idempotent
    assert served.call("PUT", f"/v1/queues/{vip}/agents/agent-9", agent).status_code == 403  # not its own to grant
    session = served.call("POST", "/v1/sessions", agent, json=start)
    assert session.status_code == 201, session.text
    assert served.call("GET", f"/v1/queues/{vip}", agent).json()["contacts"][0]["name"] == "Ada Lovelace"
    assert served.call("DELETE", f"/v1/queues/{vip}/agents/agent-9", supervisor).json()["agents"] == []
    assert served.call("GET", f"/v1/queues/{vip}", agent).status_code == 403  # access ends with the assignment
    served.admin("POST", f"/v1/sessions/{session.json()['sessionId']}/stop")
    assert served.call("POST", "/v1/sessions", agent, json=start).status_code == 403
    types = [e["type"] for e in served.admin("GET", "/v1/events", params={"limit": 1000})["events"]]
    assert types.count("queue.agent-assigned") == 1 and types.count("queue.agent-unassigned") == 1


def test_one_name_typed_two_ways_is_one_agent_with_one_spelling(served):
    """Issue 20, D14: "josé" composed and decomposed were one agent to the server but two in the log."""
    composed, decomposed = "jos\u00e9", "jose\u0301"
    first, second = new_token(served, "agent", composed), new_token(served, "agent", decomposed)
    mine = [served.call("GET", "/v1/me", token["token"]).json()["agentId"] for token in (first, second)]
    assert mine == [composed, composed]  # the same bytes, composed
    issued = [e["data"].get("agentId") for e in served.admin("GET", "/v1/events", params={"limit": 1000})["events"]
              if e["type"] == "token.issued" and (e["data"].get("agentId") or "").startswith("jos")]
    assert issued == [composed, composed]


def test_a_browser_feed_from_a_foreign_origin_is_refused(switchboard, tmp_path):
    # Repeatable, or a list (issue 20, D19).
    server = Served(switchboard, tmp_path, "--allow-origin", "https://wall.example, https://tv.example")
    try:
        async def run():
            with pytest.raises(websockets.InvalidStatus) as refused:
                async with connect(server.ws, origin="https://evil.example"):
                    pass
            assert refused.value.response.status_code == 403
            for origin in (f"http://127.0.0.1:{server.port}", "https://wall.example", "https://tv.example"):
                async with connect(f"{server.ws}?after=0&topics=all", origin=origin) as ws:
                    assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "event"
        asyncio.run(run())
    finally:
        server.stop()


def test_ten_bad_tokens_from_one_address_shut_its_guesses_out_for_a_minute_but_never_a_valid_token(served):
    wrong = "0" * 64
    for _ in range(10):
        assert served.call("GET", "/v1/overview", wrong).status_code == 401
    blocked = served.call("GET", "/v1/overview", "1" * 64)
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 50
    # Issue 20, D11: the operator's own token from the same address still gets in, over HTTP and the feed.
    assert served.call("GET", "/v1/overview", ADMIN_TOKEN).status_code == 200

    async def feed():
        async with connect(f"{served.ws}?after=0&topics=all") as ws:
            return json.loads(await asyncio.wait_for(ws.recv(), 10))["type"]
    assert asyncio.run(feed()) == "event"
    assert served.call("GET", "/v1/overview").status_code == 401  # no token: nothing guessed, the usual answer
    assert served.call("GET", "/healthz").status_code == 200  # open routes stay open


def test_tls_serves_https_and_wss_on_one_port(switchboard, tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    server = Served(switchboard, tmp_path, "--tls-cert", cert, "--tls-key", key, "--demo", scheme="https", verify=str(cert))
    try:
        assert "https://127.0.0.1" in server.banner
        assert server.admin("GET", "/v1/me")["role"] == "admin"
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.get(f"http://127.0.0.1:{server.port}/healthz", timeout=3)  # no plain HTTP on a TLS port
        context = ssl.create_default_context(cafile=str(cert))

        async def run():
            async with connect(f"{server.ws}?after=0&topics=all", ssl=context) as ws:
                assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "event"
        asyncio.run(run())
    finally:
        server.stop()


def test_no_token_appears_in_clear_in_the_logs_the_output_or_the_event_log(switchboard, run, tmp_path):
    server = Served(switchboard, tmp_path, "--demo", "--log-level", "trace")
    demo_tokens = json.loads((tmp_path / "access.sqlite.demo-tokens.json").read_text())
    assert set(demo_tokens) == {"agent-1", "agent-2", "agent-3", "supervisor", "auditor"}
    issued = [new_token(server, "supervisor")["token"], new_token(server, "agent", "agent-z")["token"]]
    for token in [*demo_tokens.values(), *issued]:
        assert server.call("GET", "/v1/me", token).status_code == 200
    server.call("GET", "/v1/overview", "f" * 64)

    async def feed():
        async with connect(f"{server.ws}?after=0&topics=all", headers={}, subprotocols=["switchboard", f"bearer.{issued[0]}"]) as ws:
            await asyncio.wait_for(ws.recv(), 5)
    asyncio.run(feed())
    output = server.stop()
    events = run("events", "--store", server.store, check=True).stdout
    listed = run("tokens", "list", "--store", server.store, check=True).stdout
    written = [server.log.read_text(), server.banner + output, events, listed, (server.store.parent / "access.sqlite").read_bytes().decode("latin-1")]
    for secret in [ADMIN_TOKEN, *demo_tokens.values(), *issued]:
        for text in written:
            assert secret not in text
    assert "token.issued" in events and "hashPrefix" in events


def test_tokens_from_the_command_line(switchboard, run, tmp_path):
    store = tmp_path / "cli.sqlite"
    created = run("tokens", "create", "--store", store, "--role", "agent", "--agent", "agent-9", "--label", "night", check=True).stdout
    token_id, token = created.split()
    assert re.fullmatch(r"[0-9a-f]{64}", token)
    assert run("tokens", "create", "--store", store, "--role", "agent").returncode != 0  # an agent's token names its agent
    listed = run("tokens", "list", "--store", store, check=True).stdout
    assert token_id in listed and "agent-9" in listed and "valid" in listed and token not in listed
    server = Served(switchboard, tmp_path, store="cli.sqlite")
    try:
        assert server.call("GET", "/v1/me", token).json() == {"tokenId": token_id, "role": "agent", "agentId": "agent-9"}
        # The store has one writing process: while it is served, the command line points at the API.
        busy = run("tokens", "revoke", "--store", store, token_id)
        assert busy.returncode != 0 and "in use by a running switchboard serve" in busy.stderr
    finally:
        server.stop()
    assert run("tokens", "revoke", "--store", store, token_id, check=True).returncode == 0
    assert "revoked" in run("tokens", "list", "--store", store, check=True).stdout
    server = Served(switchboard, tmp_path, store="cli.sqlite")
    try:
        assert server.call("GET", "/v1/me", token).status_code == 401
    finally:
        server.stop()


def test_caller_id_pools_are_managed_by_an_admin_and_a_queue_calls_from_its_subset(served):
    assert served.admin("POST", "/v1/caller-ids", json={"phones": ["+15125550100", "+17135550100"]})["callerIds"] == [
        "+15125550100", "+17135550100"]
    supervisor = new_token(served, "supervisor")["token"]
    assert served.call("POST", "/v1/caller-ids", supervisor, json={"phones": ["+12125550100"]}).status_code == 403
    refused = served.call("POST", "/v1/queues", ADMIN_TOKEN, json={"name": "Q", "callerIds": ["+14155550100"]})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "caller-id-not-in-pool"
    queue = served.call("POST", "/v1/queues", supervisor, json={"name": "Texas", "callerIds": ["+17135550100"], "contacts": [
        {"phone": "+15125559999", "script": {"answer": "none"}}]}).json()
    assert queue["callerIds"] == ["+17135550100"]
    session = served.admin("POST", "/v1/sessions", json={"agentId": "agent-t", "queueId": queue["queueId"]})["sessionId"]
    group = wait_for(lambda: served.admin("GET", f"/v1/sessions/{session}")["currentGroupId"])
    # An Austin number, but the queue calls from its own Houston number only.
    assert [c["callerId"] for c in served.admin("GET", f"/v1/calls/parallel/{group}")["calls"]] == ["+17135550100"]
    assert served.admin("PATCH", f"/v1/queues/{queue['queueId']}", json={"callerIds": None})["callerIds"] is None
    assert served.admin("DELETE", "/v1/caller-ids/%2B17135550100")["callerIds"] == ["+15125550100"]
    assert served.call("DELETE", "/v1/caller-ids/%2B17135550100", ADMIN_TOKEN).status_code == 404


def listening_addresses(port):
    """The local addresses a socket listens on at `port`, as the kernel reports them."""
    return {address for address, local, _, state in tcp_sockets() if local == port and state == "0A"}


def test_the_server_listens_on_this_machine_only_unless_told_and_keeps_its_files_to_itself(switchboard, tmp_path):
    """Issue 20, D15: it listened on every interface while its banner said 127.0.0.1, and its store was 0644."""
    server = Served(switchboard, tmp_path, "--demo")
    try:
        assert listening_addresses(server.port) == {"127.0.0.1"}
        assert "listening on http://127.0.0.1:" in server.banner
        for path in tmp_path.iterdir():
            if path.name.startswith("access.sqlite") and not path.name.endswith(".lock"):
                assert path.stat().st_mode & 0o077 == 0, f"{path.name} is {oct(path.stat().st_mode & 0o777)}"
    finally:
        server.stop()
    (tmp_path / "wide").mkdir()
    wide = Served(switchboard, tmp_path / "wide", "--host", "0.0.0.0")
    try:
        assert listening_addresses(wide.port) == {"0.0.0.0"}
        assert "listening on http://0.0.0.0:" in wide.banner
    finally:
        wide.stop()
    refused = subprocess.run(serve_arguments(switchboard, tmp_path / "x.sqlite", "--host", "localhost"), capture_output=True, text=True)
    assert refused.returncode != 0 and "--host must be an IPv4 or IPv6 address" in refused.stderr


def test_trickled_bodies_from_one_address_cannot_take_the_server(switchboard, tmp_path):
    """Issue 20, D3 as the probe ran it: the server under `ulimit -n 1024`, 1 100 connections from one
    address, each a POST with a bad token and a 65 000-byte body that never finishes. Before, they held
    every descriptor and /healthz timed out for 70 s. Now a body is not read without a token, one
    address has at most 16 unfinished bodies (429 beyond), and a body must arrive within 10 s (408)."""
    import resource
    import socket

    def small_limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))

    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < 2500 <= hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < 2500:
        pytest.skip("this machine lets the test open fewer than 2 500 descriptors of its own (ulimit -Hn)")
    store = tmp_path / "fd.sqlite"
    process = subprocess.Popen(serve_arguments(switchboard, store), stdout=subprocess.PIPE,
                               stderr=open(tmp_path / "server.log", "w"), text=True, preexec_fn=small_limit)
    banner = process.stdout.readline()
    port = int(re.search(r"listening on https?://\S+:(\d+)", banner).group(1))
    base = f"http://127.0.0.1:{port}"
    probe = healthz_timer(base, timeout=5)

    def post(token_header, length=65000):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.sendall(f"POST /v1/queues HTTP/1.1\r\nHost: x\r\n{token_header}Content-Type: application/json\r\n"
                     f"Content-Length: {length}\r\n\r\n{{".encode())
        return sock

    def answer(sock):
        try:
            return sock.recv(4096).split(b"\r\n", 1)[0]
        except socket.timeout:
            return b"no answer"
    held = []
    try:
        wait_for(lambda: requests.get(base + "/healthz").status_code == 200)
        baseline = [probe() for _ in range(50)]
        # No token: refused from the headers, the body never read.
        bare = post("")
        assert answer(bare).startswith(b"HTTP/1.1 401")
        bare.close()
        wrong = "Authorization: Bearer " + "ab" * 32 + "\r\n"
        loaded = []
        for index in range(1100):
            held.append(post(wrong))
            if index % 50 == 0:
                loaded.append(probe())
        loaded += [probe() for _ in range(50)]
        # The 17th and later were answered 429 at once; the first 16 wait for their bodies.
        held[100].settimeout(10)
        assert answer(held[100]).startswith(b"HTTP/1.1 429")
        # ... until the 10 s deadline, trickle as they may (a byte a second reset lws's own timeout).
        import threading
        trickling = threading.Event()

        def trickle():
            while not trickling.wait(1.0):
                try:
                    held[0].sendall(b" ")
                except OSError:
                    return
        threading.Thread(target=trickle, daemon=True).start()
        held[0].settimeout(40)
        started = time.monotonic()
        ended = answer(held[0])
        trickling.set()
        assert ended.startswith(b"HTTP/1.1 408") or ended == b"", ended
        assert time.monotonic() - started < 30, "a trickled body was held past its deadline"
        figure = {"figure": "trickled_bodies", "connections": 1100, "fd_limit": 1024,
                  "healthz_p50_ms": percentile(loaded, 0.5), "healthz_max_ms": round(max(loaded), 1),
                  "baseline_p50_ms": percentile(baseline, 0.5), "baseline_max_ms": round(max(baseline), 1)}
        print(json.dumps(figure))
        assert max(loaded) < max(100, 20 * max(baseline)), figure
        log = (tmp_path / "server.log").read_text()
        assert log.count("accept") < 200, "lws's errors are kept to a line a second"
    finally:
        for sock in held:
            sock.close()
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def test_a_nul_inside_a_header_is_part_of_it_and_no_token_hides_behind_one(served):
    """Issue 20, D19: `Authorization: Bearer <token>\\0junk` was accepted (RFC 9110 forbids NUL in a value)."""
    import socket
    with socket.create_connection(("127.0.0.1", served.port), timeout=10) as sock:
        sock.sendall(b"GET /v1/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + ADMIN_TOKEN.encode() + b"\x00junk\r\n\r\n")
        assert sock.recv(4096).split(b"\r\n", 1)[0] in (b"HTTP/1.1 400 Bad Request", b"HTTP/1.1 401 Unauthorized")
    assert served.call("GET", "/v1/me", ADMIN_TOKEN).status_code == 200


def test_a_binary_frame_is_refused_as_the_rfc_says(served):
    """Issue 20, D19: a binary frame was taken as a subscribe (RFC 6455 §7.4.1: data the endpoint
    cannot accept closes 1003)."""
    async def binary():
        async with connect(served.ws, headers=bearer(ADMIN_TOKEN)) as ws:
            await ws.send(json.dumps({"subscribe": {"after": 0, "topics": "all"}}).encode())  # bytes: a binary frame
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 10)
            return closed.value.rcvd
    received = asyncio.run(binary())
    assert received is not None and received.code == 1003 and "binary" in received.reason
    assert served.call("GET", "/v1/me", ADMIN_TOKEN).status_code == 200


def raw_request(port, raw):
    """Sends `raw` bytes on a new connection; answers the open socket and what came back up to the
    end of the response's head (for requests no HTTP client would send)."""
    import socket
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(raw)
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = sock.recv(4096)
        if not chunk:
            break
        answer += chunk
    return sock, answer


def test_an_oversized_path_or_header_block_is_answered_414_or_431_and_the_server_goes_on(served):
    """Issue 20, D19: a 5 000-byte path or 8 KiB of headers was dropped without a status. Now a path and
    query over 4 KiB is 414, headers over 8 KiB 431 (on the API and on the feed's handshake, a body
    behind them unread), and the next request is served."""
    def status(head, body=b""):
        sock, answer = raw_request(served.port, head + body)
        sock.close()
        line = answer.split(b"\r\n", 1)[0]
        return int(line.split()[1]) if line.startswith(b"HTTP/1.1 ") else line, answer

    host = f"Host: 127.0.0.1:{served.port}\r\n".encode()
    code, answer = status(b"GET /v1/queues/" + b"q" * 5000 + b" HTTP/1.1\r\n" + host + b"\r\n")
    assert code == 414 and b'"uri-too-long"' in answer
    code, _ = status(b"GET /healthz?note=" + b"x" * 5000 + b" HTTP/1.1\r\n" + host + b"\r\n")
    assert code == 414
    big = b"User-Agent: " + b"u" * 9000 + b"\r\n"
    code, answer = status(b"GET /healthz HTTP/1.1\r\n" + host + big + b"\r\n")
    assert code == 431 and b'"headers-too-large"' in answer
    code, _ = status(b"POST /v1/dnc HTTP/1.1\r\n" + host + big + b"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n", b"{}")
    assert code == 431
    upgrade = (b"GET /v1/stream?topics=all HTTP/1.1\r\n" + host + b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
               b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" + big + b"\r\n")
    code, _ = status(upgrade)
    assert code == 431
    # Within the limits, the same shapes are served.
    assert status(b"GET /healthz?note=" + b"x" * 3000 + b" HTTP/1.1\r\n" + host + b"User-Agent: " + b"u" * 6000 + b"\r\n\r\n")[0] == 200
    assert served.call("GET", "/v1/me", ADMIN_TOKEN).status_code == 200


def test_a_subprotocol_list_is_read_in_any_order(served):
    """Issue 20, D19: `Sec-WebSocket-Protocol: bearer.<token>, switchboard` dropped the handshake with
    no status (lws reads the list in order into a 64-byte name). Now the token may come first, in one
    header line; only a list split over two lines with the token first cannot be put in order, and
    is answered 400 naming the order that works. A token-first socket is authenticated by its token."""
    def handshake(*lines):
        return raw_request(served.port, f"GET /v1/stream?topics=all HTTP/1.1\r\nHost: 127.0.0.1:{served.port}\r\n"
                           "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                           "Sec-WebSocket-Version: 13\r\n".encode()
                           + b"".join(f"Sec-WebSocket-Protocol: {line}\r\n".encode() for line in lines) + b"\r\n")

    for protocols in (f"bearer.{ADMIN_TOKEN}, switchboard", f"bearer.{ADMIN_TOKEN},switchboard",
                      f"other, bearer.{ADMIN_TOKEN} ,  switchboard", f"switchboard, bearer.{ADMIN_TOKEN}"):
        sock, answer = handshake(protocols)
        with sock:
            assert answer.split(b"\r\n", 1)[0] == b"HTTP/1.1 101 Switching Protocols", (protocols, answer)
            assert b"Sec-WebSocket-Protocol: switchboard\r\n" in answer
            # Authenticated by the token in the list: the feed's first message (a text frame) arrives.
            frame = answer.split(b"\r\n\r\n", 1)[1] or sock.recv(4096)
            assert frame[:1] == b"\x81", (protocols, frame[:40])
    # A wrong token first is refused as any wrong token is: the socket is closed 4001.
    sock, answer = handshake(f"bearer.{'0' * len(ADMIN_TOKEN)}, switchboard")
    with sock:
        frame = answer.split(b"\r\n\r\n", 1)[1] or sock.recv(4096)
        assert frame[:1] == b"\x88" and int.from_bytes(frame[2:4], "big") == 4001, frame[:40]
    sock, refused = handshake(f"bearer.{ADMIN_TOKEN}", "switchboard")
    with sock:
        assert refused.split(b"\r\n", 1)[0] == b"HTTP/1.1 400 Bad Request"
        body = json.loads(refused.split(b"\r\n\r\n", 1)[1])
        assert body["error"]["code"] == "subprotocol-order" and "switchboard, bearer.<token>" in body["error"]["message"]
