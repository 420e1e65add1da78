"""Server benchmark figures, each beside its baseline from the same run (see scripts/bench-server.sh).

  poll       GET /v1/calls/parallel/{id} under wrk, beside a minimal libwebsockets hello handler
             (`switchboard-bench hello-server`).
  fanout     from an event's time (the engine's decision, just before its append) to its receipt,
             at 1 000 WebSocket subscribers on loopback under steady traffic, beside the same at 10;
             the subscribers are one compiled lws client process whose CPU use is printed.
  ws_memory  server RSS growth per idle subscriber.
"""
import asyncio
import json
import os
import re
import resource
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

BIN = sys.argv[1] if len(sys.argv) > 1 else ".build/release/switchboard"
BENCH = sys.argv[2] if len(sys.argv) > 2 else ".build/release/switchboard-bench"


# The admin token of the server under test (serve writes it beside its store); every request sends it.
TOKEN = None


def start(args, binary=None):
    global TOKEN
    process = subprocess.Popen([binary or BIN, *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = process.stdout.readline()
    port = int(re.search(r"127\.0\.0\.1:(\d+)", line).group(1))
    if "--store" in args:
        TOKEN = open(args[args.index("--store") + 1] + ".admin-token").read().strip()
    return process, port


def auth():
    return {"Authorization": f"Bearer {TOKEN}"}


def zone_in_calling_hours():
    """Where it is now well inside calling hours: the load's contacts live there, whatever the hour."""
    import datetime, zoneinfo
    for name in ("America/Chicago", "America/New_York", "America/Los_Angeles", "Pacific/Honolulu", "Pacific/Guam",
                 "Asia/Tokyo", "Asia/Kolkata", "Europe/Berlin", "Europe/London"):
        if 9 <= datetime.datetime.now(zoneinfo.ZoneInfo(name)).hour < 18:
            return name


def get(port, path):
    with urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=auth()), timeout=5) as response:
        return json.loads(response.read())


def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def wrk(url, seconds=8, headers=()):
    out = subprocess.run(["wrk", "-t2", "-c64", f"-d{seconds}s", *[a for h in headers for a in ("-H", h)], url],
                         capture_output=True, text=True).stdout
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def post(port, path, body):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode(), method="POST",
                                     headers={**auth(), "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def steady_traffic(port):
    """A queue whose calls fail fast, worked with no cooldown: a steady stream of events to fan out."""
    zone = zone_in_calling_hours()
    contacts = [{"phone": f"+1512555{1000 + i}", "timeZone": zone, "script": {"fail": "congestion", "ringMs": 150}}
                for i in range(500)]
    queue = post(port, "/v1/queues", {"name": "Fan-out load", "maxAttempts": 1, "contacts": contacts})
    post(port, "/v1/sessions", {"agentId": "load-agent", "queueId": queue["queueId"], "mode": "parallel",
                                "profile": "balanced", "settings": {"cooldownMs": 0, "staggerMs": 50}})


def subscribers(port, count, seconds):
    """The compiled load client (`switchboard-bench --only fanout-client`: lws client connections on
    one thread) subscribed to everything; its JSON line has the latencies and its own CPU use."""
    head = get(port, "/healthz")["position"]
    out = subprocess.run([BENCH, "--only", "fanout-client", "--port", str(port), "--subscribers", str(count),
                          "--seconds", str(seconds), "--after", str(head), "--topics", "all"],
                         capture_output=True, text=True, timeout=seconds + 60, env={**os.environ, "SWITCHBOARD_TOKEN": TOKEN}).stdout
    return json.loads(out.strip().splitlines()[-1])


def fanout(port, count, seconds=12, baseline_count=10):
    """Append-to-receipt latency at `count` subscribers under steady traffic, beside the same
    measurement at `baseline_count` subscribers (the pipeline's own latency: engine, log, pump)."""
    steady_traffic(port)
    baseline = subscribers(port, baseline_count, 8)
    result = subscribers(port, count, seconds)
    if not result.get("samples"):
        return None
    return {"figure": "fanout", "subscribers": count, "connected": result["connected"], "samples": result["samples"],
            "p50_ms": result["p50_ms"], "p99_ms": result["p99_ms"], "max_ms": result["max_ms"],
            "messages_per_s": round(result["messages"] / seconds), "client_cpu_s": result["client_cpu_s"],
            "seconds": seconds, "baseline_subscribers": baseline_count,
            "baseline_p50_ms": baseline["p50_ms"], "baseline_p99_ms": baseline["p99_ms"]}


async def idle_sockets(port, count):
    import websockets
    head = get(port, "/healthz")["position"]
    sockets = []
    for _ in range(count):
        sockets.append(await websockets.connect(f"ws://127.0.0.1:{port}/v1/stream?topics=group:none&after={head}",
                                                additional_headers=auth()))
    return sockets


def ws_memory(port, pid, count):
    async def run():
        before = rss_kib(pid)
        sockets = await idle_sockets(port, count)
        await asyncio.sleep(2)
        after = rss_kib(pid)
        for ws in sockets:
            await ws.close()
        return before, after
    before, after = asyncio.run(run())
    return {"figure": "ws_memory", "subscribers": count, "rss_before_kib": before, "rss_after_kib": after,
            "kib_per_subscriber": round((after - before) / count, 2)}


def main():
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    directory = tempfile.mkdtemp(prefix="switchboard-bench-")
    server, port = start(["serve", "--port", "0", "--store", f"{directory}/bench.sqlite", "--demo", "--log-level", "error"])
    hello, hello_port = start(["hello-server", "--port", "0"], binary=BENCH)
    try:
        group = None
        for _ in range(100):
            group = next((s["currentGroupId"] for s in get(port, "/v1/overview")["sessions"] if s["currentGroupId"]), None)
            if group:
                break
            time.sleep(0.1)
        poll = wrk(f"http://127.0.0.1:{port}/v1/calls/parallel/{group}", headers=[f"Authorization: Bearer {TOKEN}"])
        baseline = wrk(f"http://127.0.0.1:{hello_port}/")
        print(json.dumps({"figure": "poll", "req_per_s": round(poll), "baseline_req_per_s": round(baseline),
                          "ratio": round(poll / baseline, 2)}), flush=True)
        result = fanout(port, 1000)
        print(json.dumps(result or {"figure": "fanout", "error": "no events received"}), flush=True)
    finally:
        for process in (server, hello):
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
    # Memory on a fresh server, so the heap the fan-out run left behind does not hide the growth.
    server, port = start(["serve", "--port", "0", "--store", f"{directory}/memory.sqlite", "--demo", "--log-level", "error"])
    try:
        print(json.dumps(ws_memory(port, server.pid, 5000)), flush=True)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
