"""What every contract test shares to talk to a server: one admin token for every server the tests
start (`serve --admin-token-file` registers it with each new store), a `requests` session that sends
it, and a WebSocket connect that sends it in `Authorization`."""
import os
import time
import pathlib
import secrets
import tempfile

import requests
import websockets

from clock_shift import CLOCK_SHIFT, CLOCK_SHIFT_HOURS, server_now  # noqa: F401  (re-exported for the tests)

ADMIN_TOKEN = secrets.token_hex(32)
ADMIN_TOKEN_FILE = str(pathlib.Path(tempfile.mkdtemp(prefix="switchboard-tests-")) / "admin-token")
with open(os.open(ADMIN_TOKEN_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as file:
    file.write(ADMIN_TOKEN + "\n")

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


SAFE_HARBOR_MESSAGE = "This is Switchboard Tests calling. Call us back at 512 555 0100. Press 9 to stop our calls."


class Session(requests.Session):
    """A queue the tests create has a safe-harbor message, as a real floor's must (without one it dials a
    line at a time), unless the test sets `safeHarborMessage` itself (`None`: none)."""

    def request(self, method, url, *args, json=None, **options):
        if method.upper() == "POST" and url.split("?")[0].endswith("/v1/queues") and isinstance(json, dict):
            json = {"safeHarborMessage": SAFE_HARBOR_MESSAGE, **json}
        return super().request(method, url, *args, json=json, **options)


plain = Session()
api = Session()
api.headers.update(AUTH)


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def connect(url, headers=AUTH, **options):
    """A WebSocket to the feed with the admin token (or `headers`).

    Messages the test does not read are buffered without limit (`max_queue=None`) unless it asks
    otherwise: with websockets' default (16) a client that closes after reading part of a catch-up
    stops reading its socket, never sees the server's close frame behind the backlog, and waits its
    10 s close timeout (ending 1006) — the server answered the close at once."""
    options.setdefault("max_queue", None)
    return websockets.connect(url, additional_headers=headers, **options)


def serve_arguments(binary, store, *more, port=0):
    """`switchboard serve` (on a free port unless told) with the tests' admin token."""
    return [str(binary), "serve", *CLOCK_SHIFT, "--port", str(port), "--store", str(store), "--admin-token-file", ADMIN_TOKEN_FILE,
            *map(str, more)]


def wait_for(predicate, timeout=20.0, interval=0.1, message="timed out"):
    """`predicate()`'s first truthy answer, polled until `timeout`; `message` may be a function."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"{message() if callable(message) else message} (last: {last!r})")


def healthz_timer(base, timeout=10.0):
    """A function that asks `base`'s /healthz once and answers how long that took, in ms (a non-200 or
    no answer within `timeout` fails): load tests measure the server beside a baseline with it."""
    session = requests.Session()

    def probe():
        started = time.monotonic()
        assert session.get(base + "/healthz", timeout=timeout).status_code == 200
        return (time.monotonic() - started) * 1000
    return probe


def percentile(values, share):
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * share))], 1)


def tcp_sockets():
    """This machine's TCP sockets as the kernel lists them (/proc/net/tcp, tcp6): (local address,
    local port, remote port, state in hex — 01 ESTABLISHED, 04 FIN_WAIT1, 0A LISTEN)."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in open(table).read().splitlines()[1:]:
            local, remote, state = line.split()[1:4]
            address, port = local.split(":")
            if len(address) == 8:  # IPv4, little-endian hex
                address = ".".join(str(int(address[i:i + 2], 16)) for i in (6, 4, 2, 0))
            found.append((address, int(port, 16), int(remote.split(":")[1], 16), state))
    return found
