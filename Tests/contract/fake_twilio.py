"""A fake Twilio Programmable Voice for the contract tests, held to Twilio's own description.

- Every request it receives is validated against Twilio's OpenAPI description
  (`../shared/fixtures/twilio/twilio_api_v2010.json`, read from there) with openapi-core, plus the
  rules the description states only in prose (exactly one of Url/Twiml/ApplicationSid, Twiml at most
  4000 characters, StatusCallbackEvent as repeated fields). A request that breaks them is answered
  400 as Twilio would, and kept in `violations` (the tests assert there are none).
- Every webhook it sends is signed with twilio-python's own `RequestValidator`, so the server's check
  is held to Twilio's code, not to ours.
- Calls follow per-number scripts in the simulated carrier's words (`ring_ms`, `answer`: human /
  machine / unknown / none, `amd_ms`, `talk_ms`, `busy`, `fail`), on real time: status callbacks with
  `SequenceNumber`, the answer hook (`Url`) fetched at the answer and its TwiML carried out, the async
  AMD verdict to `AsyncAmdStatusCallback`. `Status=canceled` stops only queued or ringing calls.
- Chaos on demand: duplicate or reorder callbacks, answer a create 429 or 500, hold a create's answer
  past the client's timeout after placing the call.
"""
import base64
import json
import pathlib
import os
import random
import re
import secrets
import threading
import time
import xml.etree.ElementTree as ElementTree
from email.utils import format_datetime
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit, urlencode

import requests
from twilio.request_validator import RequestValidator

ROOT = pathlib.Path(__file__).resolve().parents[2]
SPEC = pathlib.Path(os.environ.get("TWILIO_OPENAPI", ROOT.parent / "shared" / "fixtures" / "twilio" / "twilio_api_v2010.json"))
TERMINAL = {"completed", "busy", "no-answer", "failed", "canceled"}
_openapi = None
_openapi_lock = threading.Lock()


def twilio_openapi():
    """Twilio's description, loaded once per test run (about a second)."""
    global _openapi
    with _openapi_lock:
        if _openapi is None:
            from openapi_core import OpenAPI
            if not SPEC.exists():
                raise RuntimeError(f"Twilio's OpenAPI description is not at {SPEC} (set TWILIO_OPENAPI)")
            _openapi = OpenAPI.from_dict(json.loads(SPEC.read_text()))
        return _openapi


class Script:
    """How the person at one number behaves (the simulated carrier's script vocabulary)."""

    def __init__(self, ring_ms=1000, answer="human", amd_ms=300, talk_ms=60_000, busy=False, fail=None):
        self.ring_ms, self.answer, self.amd_ms, self.talk_ms, self.busy, self.fail = ring_ms, answer, amd_ms, talk_ms, busy, fail


class FakeCall:
    def __init__(self, fake, sid, fields):
        self.fake, self.sid, self.fields = fake, sid, fields
        self.to, self.from_ = fields["To"][0], fields["From"][0]
        self.status = "queued"
        self.sequence = 0
        self.created = datetime.now(timezone.utc)
        self.events = set(fields.get("StatusCallbackEvent", []))
        self.twiml = None            # the instructions being carried out
        self.interrupt = threading.Event()
        self.room = None
        self.said = []
        self.lock = threading.Lock()

    def field(self, name):
        values = self.fields.get(name)
        return values[0] if values else None

    def resource(self):
        return {"sid": self.sid, "account_sid": self.fake.account_sid, "to": self.to, "from": self.from_, "status": self.status,
                "date_created": format_datetime(self.created), "date_updated": format_datetime(datetime.now(timezone.utc)),
                "direction": "outbound-api", "api_version": "2010-04-01", "queue_time": "0",
                "uri": f"/2010-04-01/Accounts/{self.fake.account_sid}/Calls/{self.sid}.json"}


class FakeTwilio:
    def __init__(self, account_sid="AC" + "0" * 31 + "1", auth_token=None):
        self.account_sid = account_sid
        self.auth_token = auth_token or secrets.token_hex(16)
        self.validator = RequestValidator(self.auth_token)
        self.scripts = {}
        self.calls = {}
        self.requests = []        # (time, method, path, fields)
        self.webhooks = []        # (time sent, url, fields, status)
        self.violations = []
        self.rooms = {}           # room -> [call sids]
        self.lock = threading.Lock()
        # Chaos.
        self.duplicate_callbacks = False
        self.reorder_callbacks = False
        self.create_answers = []  # statuses to answer the next creates with (429, 500), then normal
        self.drop_callbacks = set()   # webhook kinds never delivered: "amd", "ringing", "initiated", …
        self.create_delay_s = 0.0  # hold a create's answer this long after placing the call
        twilio_openapi()   # loaded before the first request, which must not wait for it
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        for call in list(self.calls.values()):
            call.interrupt.set()

    def script(self, number, **behaviour):
        self.scripts[number] = Script(**behaviour)

    def inject(self, to, from_="+12125559999", status="ringing"):
        """A live call on the account that we did not place (another app's, or one whose create we lost)."""
        call = FakeCall(self, "CA" + secrets.token_hex(16), {"To": [to], "From": [from_]})
        call.status = status
        with self.lock:
            self.calls[call.sid] = call
        return call

    def creates(self, agents=False):
        """The creates received (the contacts' calls; with `agents`, the agents' own calls too)."""
        return [r for r in self.requests if r[1] == "POST" and r[2].endswith("/Calls.json")
                and (agents or not r[3].get("To", [""])[0].startswith("client:"))]

    def contact_calls(self):
        return {sid: c for sid, c in self.calls.items() if not c.to.startswith("client:")}

    # MARK: - HTTP

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self, status, body):
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

            def do_DELETE(self):
                fake._serve(self, "DELETE")

        return Handler

    def _serve(self, handler, method):
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        parts = urlsplit(handler.path)
        fields = {}
        for name, value in parse_qsl(body.decode(), keep_blank_values=True):
            fields.setdefault(name, []).append(value)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        with self.lock:
            self.requests.append((time.monotonic(), method, parts.path, fields))
        expected = "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if handler.headers.get("Authorization") != expected:
            return handler._answer(401, {"code": 20003, "message": "Authenticate", "status": 401})
        problem = self._violation(method, parts.path, body, query, handler.headers.get("Content-Type"), fields)
        if problem:
            with self.lock:
                self.violations.append(f"{method} {parts.path}: {problem}")
            return handler._answer(400, {"code": 21200, "message": problem, "status": 400})
        calls = f"/2010-04-01/Accounts/{self.account_sid}/Calls"
        if method == "POST" and parts.path == calls + ".json":
            return self._create(handler, fields)
        if method == "GET" and parts.path == calls + ".json":
            return handler._answer(200, self._list(query))
        match = re.fullmatch(re.escape(calls) + r"/(CA[0-9a-f]{32})\.json", parts.path)
        if match and method == "POST":
            return self._update(handler, match.group(1), fields)
        if match and method == "GET" and match.group(1) in self.calls:
            return handler._answer(200, self.calls[match.group(1)].resource())
        return handler._answer(404, {"code": 20404, "message": "The requested resource was not found", "status": 404})

    def _violation(self, method, path, body, query, content_type, fields):
        """Twilio's description (openapi-core) and its prose-only rules; `None` when the request keeps them."""
        from openapi_core.testing import MockRequest
        request = MockRequest("https://api.twilio.com", method.lower(), path, args=query, data=body or None,
                              headers={"Authorization": "Basic x"}, content_type=content_type if body else None)
        try:
            twilio_openapi().validate_request(request)
        except Exception as error:  # openapi-core's errors carry the reason in their cause
            cause = getattr(error, "__cause__", None)
            return f"{type(error).__name__}: {error} {cause or ''}"[:500]
        if method == "POST" and path.endswith("/Calls.json"):
            given = [name for name in ("Url", "Twiml", "ApplicationSid") if name in fields]
            if len(given) != 1:
                return f"exactly one of Url, Twiml, ApplicationSid (got {given})"
        if "Twiml" in fields and len(fields["Twiml"][0]) > 4000:
            return "Twiml is over 4000 characters"
        for event in fields.get("StatusCallbackEvent", []):
            if " " in event:
                return "StatusCallbackEvent must be repeated, one event each (21626)"
        return None

    # MARK: - Calls

    def _create(self, handler, fields):
        if self.create_answers:
            status = self.create_answers.pop(0)
            if status == 429:
                return handler._answer(429, {"code": 20429, "message": "Too Many Requests", "status": 429})
            return handler._answer(status, {"code": 20500, "message": "Internal Server Error", "status": status})
        sid = "CA" + secrets.token_hex(16)
        call = FakeCall(self, sid, fields)
        with self.lock:
            self.calls[sid] = call
        threading.Thread(target=self._run, args=(call,), daemon=True).start()
        if self.create_delay_s:
            time.sleep(self.create_delay_s)   # the call is placed; our answer is late
        handler._answer(201, call.resource())

    def _list(self, query):
        calls = [c for c in self.calls.values()
                 if (not query.get("Status") or c.status == query["Status"])
                 and (not query.get("To") or c.to == query["To"]) and (not query.get("From") or c.from_ == query["From"])]
        calls.sort(key=lambda c: c.created, reverse=True)
        return {"calls": [c.resource() for c in calls], "page": 0, "page_size": int(query.get("PageSize", 50)),
                "next_page_uri": None, "uri": f"/2010-04-01/Accounts/{self.account_sid}/Calls.json"}

    def _update(self, handler, sid, fields):
        call = self.calls.get(sid)
        if call is None:
            return handler._answer(404, {"code": 20404, "message": "The requested resource was not found", "status": 404})
        status = (fields.get("Status") or [None])[0]
        with call.lock:
            if status == "canceled":
                # Twilio: hangs up queued or ringing calls, leaves a call in progress alone.
                if call.status in ("queued", "initiated", "ringing"):
                    call.status = "canceled"
                    call.interrupt.set()
            elif status == "completed":
                if call.status not in TERMINAL:
                    call.hangup_requested = True
                    call.interrupt.set()
                    if call.field("Url") is None:   # an injected call: no script runs it
                        call.status = "completed"
            elif "Twiml" in fields:
                if call.status in TERMINAL:
                    return handler._answer(400, {"code": 21220, "message": "Call is not in-progress. Cannot redirect.", "status": 400})
                call.twiml = fields["Twiml"][0]
                call.interrupt.set()
        handler._answer(200, call.resource())

    def _callback(self, call, url, params):
        """A webhook, signed as Twilio signs it; its answer (TwiML for the answer hook)."""
        kind = "amd" if "AnsweredBy" in params and url.endswith("/amd") else params.get("CallStatus")
        if kind in self.drop_callbacks and not url.endswith("/answer"):
            with self.lock:
                self.webhooks.append((time.monotonic(), url, params, "dropped"))
            return None
        params = {"AccountSid": self.account_sid, "CallSid": call.sid, "From": call.from_, "To": call.to,
                  "Direction": "outbound-api", "ApiVersion": "2010-04-01", **params}
        signature = self.validator.compute_signature(url, params)
        deliveries = 2 if self.duplicate_callbacks else 1
        answer = None
        for _ in range(deliveries):
            # Stamped when sent: the server may act on it (dial, answer) before its response returns here.
            sent = time.monotonic()
            try:
                response = requests.post(url, data=params, headers={"X-Twilio-Signature": signature}, timeout=20)
                with self.lock:
                    self.webhooks.append((sent, url, params, response.status_code))
                answer = answer or response
            except requests.RequestException as error:
                with self.lock:
                    self.webhooks.append((sent, url, params, f"error: {error}"))
        return answer

    def _status(self, call, status, **extra):
        """A status callback (the four events the create asked for, by `StatusCallbackEvent`)."""
        event = {"initiated": "initiated", "ringing": "ringing", "in-progress": "answered"}.get(status, "completed")
        with call.lock:
            sequence = call.sequence
            call.sequence += 1
        callback = call.field("StatusCallback")
        if not callback or (event not in call.events and event != "completed"):
            return
        params = {"CallStatus": status, "SequenceNumber": str(sequence), "CallbackSource": "call-progress-events",
                  "Timestamp": format_datetime(datetime.now(timezone.utc)), **extra}
        if self.reorder_callbacks and status in ("initiated", "ringing"):
            # Delivered late: after whatever comes next.
            threading.Timer(0.4, self._callback, args=(call, callback, params)).start()
        else:
            self._callback(call, callback, params)

    def _wait(self, call, seconds):
        """Sleeps; `True` when an update interrupted the wait."""
        interrupted = call.interrupt.wait(seconds)
        call.interrupt.clear()
        return interrupted

    def _run(self, call):
        # An agent's softphone (client:NAME) picks up at once and stays for the session.
        agent = Script(ring_ms=300, answer="human", talk_ms=3_600_000) if call.to.startswith("client:") else Script()
        script = self.scripts.get(call.to, agent)
        timeout_s = int(call.field("Timeout") or 60)
        placed_at = time.monotonic()
        self._status(call, "initiated")
        if script.fail:
            time.sleep(0.1)
            call.status = "failed"
            return self._status(call, "failed", ErrorCode=str(script.fail), SipResponseCode="404")
        if script.busy:
            time.sleep(0.2)
            call.status = "busy"
            return self._status(call, "busy", SipResponseCode="486")
        if self._wait(call, min(0.4, script.ring_ms / 2000)) and call.status == "canceled":
            return self._status(call, "canceled")
        call.status = "ringing"
        self._status(call, "ringing")
        ring_s = script.ring_ms / 1000 if script.answer != "none" else timeout_s
        deadline = placed_at + min(ring_s, timeout_s)
        while time.monotonic() < deadline:
            if self._wait(call, deadline - time.monotonic()):
                if call.status == "canceled":
                    return self._status(call, "canceled", SipResponseCode="487")
                if getattr(call, "hangup_requested", False):
                    call.status = "canceled"
                    return self._status(call, "canceled", SipResponseCode="487")
        if script.answer == "none" or ring_s > timeout_s:
            call.status = "no-answer"
            return self._status(call, "no-answer", SipResponseCode="487")
        with call.lock:
            if call.status == "canceled":
                return self._status(call, "canceled", SipResponseCode="487")
            call.status = "in-progress"
        answered_at = time.monotonic()
        amd = call.field("MachineDetection") is not None
        if amd and call.field("AsyncAmd") == "true":
            verdict = {"human": "human", "machine": "machine_start", "unknown": "unknown"}[script.answer]
            threading.Timer(script.amd_ms / 1000, self._callback, args=(
                call, call.field("AsyncAmdStatusCallback"), {"AnsweredBy": verdict, "MachineDetectionDuration": str(script.amd_ms)})).start()
        threading.Thread(target=self._status, args=(call, "in-progress"), daemon=True).start()
        twiml = self._fetch(call, call.field("Url"))
        self._execute(call, twiml, script, answered_at)

    def _fetch(self, call, url):
        response = self._callback(call, url, {"CallStatus": "in-progress"})
        return response.text if response is not None and response.status_code == 200 else "<Response><Hangup/></Response>"

    def _execute(self, call, twiml, script, answered_at):
        """Carries out TwiML until the call ends; an update's Twiml replaces what runs."""
        while twiml is not None:
            twiml = self._carry_out(call, twiml, script, answered_at)
        self._end(call)

    def _replacement(self, call):
        """What an update put in place of the running instructions (`None`: hung up)."""
        with call.lock:
            twiml, call.twiml = call.twiml, None
        return None if getattr(call, "hangup_requested", False) else twiml

    def _carry_out(self, call, twiml, script, answered_at):
        """One document of instructions; the next one to carry out, or `None` when the call ends."""
        try:
            root = ElementTree.fromstring(twiml)
        except ElementTree.ParseError:
            with self.lock:
                self.violations.append(f"unparseable TwiML for {call.sid}: {twiml[:200]}")
            return None
        for verb in root:
            if getattr(call, "hangup_requested", False):
                return None
            if verb.tag == "Say":
                call.said.append(verb.text or "")
                if self._wait(call, 0.3):
                    return self._replacement(call)
            elif verb.tag == "Pause":
                if self._wait(call, float(verb.get("length", "1"))):
                    return self._replacement(call)
            elif verb.tag == "Redirect":
                return self._fetch(call, verb.text)
            elif verb.tag == "Hangup":
                return None
            elif verb.tag == "Dial":
                conference = verb.find("Conference")
                room = conference.text if conference is not None else None
                limit = int(conference.get("maxParticipants", "250")) if conference is not None else 250
                with self.lock:
                    members = self.rooms.setdefault(room, [])
                    if len(members) >= limit:
                        call.room_full = True
                        return None
                    members.append(call.sid)
                call.room = room
                remaining = script.talk_ms / 1000 - (time.monotonic() - answered_at)
                interrupted = self._wait(call, max(0.0, remaining))
                with self.lock:
                    self.rooms[room].remove(call.sid)
                return self._replacement(call) if interrupted else None
            else:
                with self.lock:
                    self.violations.append(f"a TwiML verb the fake does not know: {verb.tag}")
        return None   # the instructions ran out: Twilio hangs up

    def _end(self, call):
        with call.lock:
            if call.status in TERMINAL:
                return
            call.status = "completed"
        self._status(call, "completed", CallDuration="1")
