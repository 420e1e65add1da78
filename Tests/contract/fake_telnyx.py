"""A fake Telnyx Call Control v2 for the contract tests, held to the rules in ../shared/notes/carriers.md §2.

Telnyx's OpenAPI description has no licence, so it is not shipped here: each request is checked by hand
against what the note lists (required fields, the AMD enum, `timeout_secs` 5–600, base64
`client_state`, bridge and speak bodies), and a request that breaks them is answered 422 and kept in
`violations`. Webhooks are signed with PyNaCl's Ed25519 over `timestamp|body`, as Telnyx signs them
(telnyx SDK `webhook_verification.py`), with a key made per fake.

Calls follow per-number scripts (`ring_ms`, `answer`, `amd_ms`, `talk_ms`, `busy`, `fail`) on real time:
`call.initiated` at once (Telnyx has no `call.ringing`), `call.answered`, the AMD result in
`call.machine.detection.ended`, `call.hangup` with lower-case causes. `actions/hangup` is a CANCEL before
the answer (`originator_cancel`) and a BYE after (`normal_clearing`); a script with
`answer_on_hangup` picks up just as our hang-up lands (the race Telnyx cannot spare). `actions/bridge`
honours `prevent_double_bridge`; `actions/speak` sends `call.speak.started` and `call.speak.ended`.
"""
import base64
import json
import re
import secrets
import threading
import time
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

import requests
from nacl.signing import SigningKey

AMD = {"premium", "detect", "detect_beep", "detect_words", "greeting_end", "disabled"}


class Script:
    def __init__(self, ring_ms=1000, answer="human", amd_ms=300, talk_ms=60_000, busy=False, fail=None, answer_on_hangup=False):
        self.ring_ms, self.answer, self.amd_ms, self.talk_ms = ring_ms, answer, amd_ms, talk_ms
        self.busy, self.fail, self.answer_on_hangup = busy, fail, answer_on_hangup


def is_agent(call):
    """An agent's own call: its client_state names a session (`{"s": …}`)."""
    try:
        return "s" in json.loads(base64.b64decode(call.client_state or "e30="))
    except ValueError:
        return False


class FakeCall:
    def __init__(self, ccid, body):
        self.ccid, self.body = ccid, body
        self.to, self.from_ = body["to"], body["from"]
        self.client_state = body.get("client_state")
        self.webhook_url = body.get("webhook_url")
        self.state = "initiated"      # initiated, answered, ended
        self.cause = None
        self.bridged_to = None
        self.said = []
        self.hangup_requested = threading.Event()
        self.lock = threading.Lock()


class FakeTelnyx:
    def __init__(self):
        self.api_key = "KEY" + secrets.token_hex(16)
        self.connection_id = "1" + "".join(secrets.choice("0123456789") for _ in range(17))
        self.signing_key = SigningKey.generate()
        self.public_key = base64.b64encode(bytes(self.signing_key.verify_key)).decode()
        self.scripts = {}
        self.calls = {}
        self.by_command = {}
        self.requests = []
        self.webhooks = []
        self.violations = []
        self.lock = threading.Lock()
        self.duplicate_webhooks = False
        self.reorder_webhooks = False   # call.initiated delivered late, after what follows it
        self.drop_webhooks = set()      # event types never delivered
        self.dial_answers = []          # statuses to answer the next dials with (429, 500), then normal
        self.dial_delay_s = 0.0   # hold a dial's answer this long after placing the call
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v2"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        for call in list(self.calls.values()):
            call.hangup_requested.set()

    def script(self, number, **behaviour):
        self.scripts[number] = Script(**behaviour)

    def dials(self):
        return [r for r in self.requests if r[1] == "POST" and r[2] == "/v2/calls"]

    def contact_calls(self):
        """The contacts' calls (not the agents' own)."""
        return {ccid: c for ccid, c in self.calls.items() if not is_agent(c)}

    def inject(self, to):
        """An active call on the connection that we did not place."""
        call = FakeCall("v3:" + secrets.token_urlsafe(24), {"to": to, "from": "+12125559999"})
        with self.lock:
            self.calls[call.ccid] = call
        return call

    def sign(self, body, timestamp=None):
        timestamp = str(timestamp if timestamp is not None else int(time.time()))
        signature = self.signing_key.sign(timestamp.encode() + b"|" + body).signature
        return {"telnyx-signature-ed25519": base64.b64encode(signature).decode(), "telnyx-timestamp": timestamp}

    # MARK: - HTTP

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def answer(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                fake._serve(self, "GET")

            def do_POST(self):
                fake._serve(self, "POST")

        return Handler

    def _serve(self, handler, method):
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        path = urlsplit(handler.path).path
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = None
        with self.lock:
            self.requests.append((time.monotonic(), method, path, body))
        if handler.headers.get("Authorization") != f"Bearer {self.api_key}":
            return handler.answer(401, {"errors": [{"code": "10009", "title": "Authentication failed"}]})
        if body is None or not isinstance(body, dict):
            return self._refuse(handler, method, path, "the body is not a JSON object")
        if method == "POST" and path == "/v2/calls":
            return self._dial(handler, body)
        if method == "GET" and path == f"/v2/connections/{self.connection_id}/active_calls":
            live = [{"call_control_id": c.ccid, "client_state": c.client_state, "call_session_id": c.ccid, "record_type": "call"}
                    for c in self.calls.values() if c.state != "ended"]
            return handler.answer(200, {"data": live, "meta": {"total_results": len(live)}})
        match = re.fullmatch(r"/v2/calls/([^/]+)/actions/(hangup|bridge|speak)", path)
        if match and method == "POST":
            call = self.calls.get(unquote(match.group(1)))
            if call is None:
                return handler.answer(404, {"errors": [{"code": "90018", "title": "Call has already ended"}]})
            return getattr(self, "_" + match.group(2))(handler, call, body)
        return handler.answer(404, {"errors": [{"code": "10005", "title": "Resource not found"}]})

    def _refuse(self, handler, method, path, problem):
        with self.lock:
            self.violations.append(f"{method} {path}: {problem}")
        return handler.answer(422, {"errors": [{"code": "10015", "title": "Invalid parameter", "detail": problem}]})

    # MARK: - Commands

    def _dial(self, handler, body):
        if self.dial_answers:
            status = self.dial_answers.pop(0)
            code = "90103" if status == 429 else "10007"
            return handler.answer(status, {"errors": [{"code": code, "title": "Too many requests" if status == 429 else "Unexpected error"}]})
        for field in ("connection_id", "to", "from"):
            if not isinstance(body.get(field), str) or not body[field]:
                return self._refuse(handler, "POST", "/v2/calls", f"{field} is required")
        if body["connection_id"] != self.connection_id:
            return self._refuse(handler, "POST", "/v2/calls", "connection_id is not this account's")
        timeout = body.get("timeout_secs", 30)
        if not isinstance(timeout, int) or not 5 <= timeout <= 600:
            return self._refuse(handler, "POST", "/v2/calls", "timeout_secs must be from 5 to 600")
        if body.get("answering_machine_detection", "disabled") not in AMD:
            return self._refuse(handler, "POST", "/v2/calls", "answering_machine_detection is not one of Telnyx's")
        if "client_state" in body:
            try:
                base64.b64decode(body["client_state"], validate=True)
            except (ValueError, TypeError):
                return self._refuse(handler, "POST", "/v2/calls", "client_state must be valid base64")
        command = body.get("command_id")
        with self.lock:
            if command and command in self.by_command:   # Telnyx ignores a repeated command_id
                call = self.by_command[command]
                return handler.answer(200, {"data": self._resource(call)})
            ccid = "v3:" + secrets.token_urlsafe(24)
            call = FakeCall(ccid, body)
            self.calls[ccid] = call
            if command:
                self.by_command[command] = call
        threading.Thread(target=self._run, args=(call,), daemon=True).start()
        if self.dial_delay_s:
            time.sleep(self.dial_delay_s)
        handler.answer(200, {"data": self._resource(call)})

    def _resource(self, call):
        return {"call_control_id": call.ccid, "call_leg_id": call.ccid, "call_session_id": call.ccid, "is_alive": False,
                "record_type": "call"}

    def _hangup(self, handler, call, body):
        script = self.scripts.get(call.to, Script())
        with call.lock:
            if call.state == "initiated" and script.answer_on_hangup:
                # The person picks up as our hang-up lands: Telnyx answers, then the hang-up is a BYE.
                call.state = "answered"
                threading.Thread(target=self._event, args=(call, "call.answered", {}), daemon=True).start()
                time.sleep(0.05)
            if call.state == "ended":
                return handler.answer(422, {"errors": [{"code": "90018", "title": "Call has already ended"}]})
            call.cause = ("normal_clearing" if call.state == "answered" else "originator_cancel", "caller")
        call.hangup_requested.set()
        handler.answer(200, {"data": {"result": "ok"}})

    def _bridge(self, handler, agent, body):
        target = self.calls.get(body.get("call_control_id") or "")
        if target is None:
            return self._refuse(handler, "POST", "/actions/bridge", "call_control_id is required and must be a live call")
        with self.lock:
            if body.get("prevent_double_bridge") and agent.bridged_to is not None:
                target.cause = ("normal_clearing", "caller")
                target.hangup_requested.set()
                return handler.answer(200, {"data": {"result": "ok"}})
            agent.bridged_to, target.bridged_to = target.ccid, agent.ccid
        for call in (agent, target):
            threading.Thread(target=self._event, args=(call, "call.bridged", {}), daemon=True).start()
        handler.answer(200, {"data": {"result": "ok"}})

    def _speak(self, handler, call, body):
        payload, voice = body.get("payload"), body.get("voice")
        if not isinstance(payload, str) or not payload or len(payload) > 3000 or not isinstance(voice, str):
            return self._refuse(handler, "POST", "/actions/speak", "payload (at most 3000 characters) and voice are required")
        call.said.append(payload)

        def speak():
            self._event(call, "call.speak.started", {})
            time.sleep(0.3)
            self._event(call, "call.speak.ended", {"status": "completed"})
        threading.Thread(target=speak, daemon=True).start()
        handler.answer(200, {"data": {"result": "ok"}})

    # MARK: - Calls

    def _event(self, call, event_type, payload):
        if event_type in self.drop_webhooks:
            with self.lock:
                self.webhooks.append((time.monotonic(), event_type, call.ccid, "dropped"))
            return
        if self.reorder_webhooks and event_type == "call.initiated":
            threading.Timer(0.6, self._deliver, args=(call, event_type, payload)).start()
            return
        self._deliver(call, event_type, payload)

    def _deliver(self, call, event_type, payload):
        body = {"data": {"record_type": "event", "event_type": event_type, "id": str(uuid.uuid4()),
                         "occurred_at": datetime.now(timezone.utc).isoformat().replace("+00:00", "Z"),
                         "payload": {"call_control_id": call.ccid, "call_leg_id": call.ccid, "call_session_id": call.ccid,
                                     "connection_id": self.connection_id, "client_state": call.client_state,
                                     "from": call.from_, "to": call.to, **payload}},
                "meta": {"attempt": 1, "delivered_to": call.webhook_url}}
        for attempt in range(2 if self.duplicate_webhooks else 1):
            body["meta"]["attempt"] = attempt + 1
            raw = json.dumps(body).encode()
            sent = time.monotonic()   # stamped when sent, as the server may act before its response returns
            try:
                response = requests.post(call.webhook_url, data=raw, headers={"Content-Type": "application/json", **self.sign(raw)}, timeout=20)
                status = response.status_code
            except requests.RequestException as error:
                status = f"error: {error}"
            with self.lock:
                self.webhooks.append((sent, event_type, call.ccid, status))

    def _end(self, call, cause, source, sip="unspecified"):
        with call.lock:
            if call.state == "ended":
                return
            call.state = "ended"
            call.cause = (cause, source)
        self._event(call, "call.hangup", {"hangup_cause": cause, "hangup_source": source, "sip_hangup_cause": sip})

    def _run(self, call):
        agent = is_agent(call)
        script = self.scripts.get(call.to, Script(ring_ms=300, talk_ms=3_600_000) if agent else Script())
        placed = time.monotonic()
        self._event(call, "call.initiated", {"direction": "outgoing", "state": "parked"})
        if script.fail:
            time.sleep(0.1)
            return self._end(call, "not_found", "callee", "404")
        if script.busy:
            time.sleep(0.2)
            return self._end(call, "user_busy", "callee", "486")
        timeout = call.body.get("timeout_secs", 30)
        ring = script.ring_ms / 1000 if script.answer != "none" else timeout
        if call.hangup_requested.wait(min(ring, timeout) - (time.monotonic() - placed)):
            cause, source = call.cause or ("originator_cancel", "caller")
            if cause == "normal_clearing":   # answered just as the hang-up landed: a BYE
                time.sleep(0.05)
            return self._end(call, cause, source)
        if script.answer == "none" or ring > timeout:
            return self._end(call, "timeout", "callee")
        with call.lock:
            if call.state == "ended":
                return
            call.state = "answered"
        answered_at = time.monotonic()
        self._event(call, "call.answered", {})
        if call.body.get("answering_machine_detection", "disabled") != "disabled" and not agent:
            result = {"human": "human", "machine": "machine", "unknown": "not_sure"}[script.answer]

            def verdict():
                if not call.hangup_requested.wait(script.amd_ms / 1000):
                    self._event(call, "call.machine.detection.ended", {"result": result})
            threading.Thread(target=verdict, daemon=True).start()
        remaining = script.talk_ms / 1000 - (time.monotonic() - answered_at)
        if call.hangup_requested.wait(max(0.0, remaining)):
            cause, source = call.cause or ("normal_clearing", "caller")
            return self._end(call, cause, source)
        self._end(call, "normal_clearing", "callee")
