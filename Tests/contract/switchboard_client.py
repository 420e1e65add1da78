"""What every contract test shares to talk to a server: one admin token for every server the tests
start (`serve --admin-token-file` registers it with each new store), a `requests` session that sends
it, and a WebSocket connect that sends it in `Authorization`."""
import os
import pathlib
import secrets
import tempfile

import requests
import websockets

ADMIN_TOKEN = secrets.token_hex(32)
ADMIN_TOKEN_FILE = str(pathlib.Path(tempfile.mkdtemp(prefix="switchboard-tests-")) / "admin-token")
with open(os.open(ADMIN_TOKEN_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as file:
    file.write(ADMIN_TOKEN + "\n")

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}

api = requests.Session()
api.headers.update(AUTH)


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def connect(url, headers=AUTH, **options):
    """A WebSocket to the feed with the admin token (or `headers`)."""
    return websockets.connect(url, additional_headers=headers, **options)


def serve_arguments(binary, store, *more, port=0):
    """`switchboard serve` (on a free port unless told) with the tests' admin token."""
    return [str(binary), "serve", "--port", str(port), "--store", str(store), "--admin-token-file", ADMIN_TOKEN_FILE,
            *map(str, more)]
