"""Server benchmark figures, each beside its baseline from the same run (see scripts/bench-server.sh).

  poll       GET /v1/calls/parallel/{id} under wrk, beside a minimal libwebsockets hello handler
             (`switchboard-bench hello-server`).
  fanout     from an event's time (the engine's decision, just before its append) to its receipt, on
             loopback, beside a bare broadcaster (`switchboard-bench broadcaster`: the same lws server
             with nothing behind it) sending messages of the same sizes and number per event to the
             same client, in the same run: at the moments the product decided them (replayed from the
             run's log), and evenly at the same rate for reference. Shape `all`: 10, 100 and 1 000
             subscribers on `topics=all` (walls). Shape `floor`: 1 000 agents dialling, each followed
             by a subscriber of its own `session:` topic, plus 20 on `topics=all`. The subscribers are
             compiled `FrameReader` processes of 500 connections; each one's CPU is printed.
  capacity   the floor stepped from 100 to 5 000 agents (plus 20 walls), each step on a fresh server
             beside the bare broadcaster replaying that step's own timing: p50/p99 for agents and
             walls, the server's CPU seconds per 1 000 events and where they went (its
             `switchboard_work_seconds_total{stage}` counters), answer → last cancel p99 (the dialling
             path) — then the largest floor under 100 ms p99, stated with the machine's baselines (a
             hello handler's req/s, a bare SQLite scan's rows/s). Not in the default set: 15 minutes.
  walls      /healthz while 3 000 walls read a steady stream, beside /healthz with none, at the default
             --max-feed-sockets and with the cap lifted.
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

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "Tests", "contract"))
from clock_shift import CLOCK_SHIFT, CLOCK_SHIFT_HOURS  # noqa: E402  (the tests' clock shift, one definition)

BIN = sys.argv[1] if len(sys.argv) > 1 else ".build/release/switchboard"
BENCH = sys.argv[2] if len(sys.argv) > 2 else ".build/release/switchboard-bench"
# Which figures (comma-separated: poll, fanout, floor, capacity, walls, ws_memory); all but `capacity`
# (ten minutes and more) by default.
ONLY = set(sys.argv[3].split(",")) if len(sys.argv) > 3 else {"poll", "fanout", "floor", "walls", "ws_memory"}


# The admin token of the server under test (serve writes it beside its store); every request sends it.
TOKEN = None
# The ports of servers on the shifted clock: their subscribers take the shift off each event's stamp.
SHIFTED_PORTS = set()


def start(args, binary=None):
    global TOKEN
    if args[0] == "serve":  # on the tests' clock, where the load's contacts (Austin) are in calling hours
        args = ["serve", *CLOCK_SHIFT, *args[1:]]
    process = subprocess.Popen([binary or BIN, *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = process.stdout.readline()
    port = int(re.search(r"127\.0\.0\.1:(\d+)", line).group(1))
    if args[0] == "serve":
        SHIFTED_PORTS.add(port)
    if "--store" in args:
        TOKEN = open(args[args.index("--store") + 1] + ".admin-token").read().strip()
    return process, port


def auth():
    return {"Authorization": f"Bearer {TOKEN}"}


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
    contacts = [{"phone": f"+1512555{1000 + i}", "script": {"fail": "congestion", "ringMs": 150}}
                for i in range(6000)]
    queue = post(port, "/v1/queues", {"name": "Fan-out load", "maxAttempts": 1, "contacts": contacts[:400]})
    for start in range(400, len(contacts), 400):  # enough for every run; a request body is at most 64 KiB
        post(port, f"/v1/queues/{queue['queueId']}/contacts", {"contacts": contacts[start:start + 400]})
    post(port, "/v1/sessions", {"agentId": "load-agent", "queueId": queue["queueId"], "mode": "parallel",
                                "profile": "balanced", "settings": {"cooldownMs": 0, "staggerMs": 50}})


# Subscribers per client process (each one's CPU is printed): 1 000 walls are read by two processes,
# one a core, so a burst's reads are shared as the server's writes are; their histograms are merged.
PER_CLIENT = 500


def subscribers(port, count, seconds, topics=("all",), after=None):
    """The compiled load client (`switchboard-bench --only fanout-client`: a `FrameReader` thread per
    process, `PER_CLIENT` connections a process), connection i on
    `topics[i % len(topics)]`; latencies of the `all` subscribers and of the others apart (merged from
    the processes' histograms), what arrived, and the clients' CPU use."""
    if after is None:
        after = get(port, "/healthz")["position"] if TOKEN else 0
    topics = [topics[i % len(topics)] for i in range(count)]
    processes = []
    for start in range(0, count, PER_CLIENT):
        part = topics[start:start + PER_CLIENT]
        with tempfile.NamedTemporaryFile("w", suffix=".topics", delete=False) as listing:
            listing.write("\n".join(part))
        processes.append((listing.name, subprocess.Popen(
            [BENCH, "--only", "fanout-client", "--port", str(port), "--subscribers", str(len(part)), "--seconds", str(seconds),
             "--after", str(after), "--topics-file", listing.name,
             "--clock-offset-hours", str(CLOCK_SHIFT_HOURS if port in SHIFTED_PORTS else 0)],
            stdout=subprocess.PIPE, text=True, env={**os.environ, "SWITCHBOARD_TOKEN": TOKEN or ""})))
    results = []
    for name, process in processes:
        out, _ = process.communicate(timeout=seconds + 90)
        os.unlink(name)
        results.append(json.loads(out.strip().splitlines()[-1]))
    merged = {key: sum(r[key] for r in results) for key in
              ("connected", "failed", "closed_by_server", "messages", "event_messages", "state_messages",
               "catch_up_samples_skipped")}
    merged["event_bytes_avg"] = round(sum(r["event_bytes_avg"] * r["event_messages"] for r in results) / max(merged["event_messages"], 1))
    merged["state_bytes_avg"] = round(sum(r["state_bytes_avg"] * r["state_messages"] for r in results) / max(merged["state_messages"], 1))
    merged["client_cpu_s"] = [r["client_cpu_s"] for r in results]
    merged["clients"] = len(results)
    for kind in ("all_topics", "own_topics"):
        histogram = {}
        for r in results:
            for bucket, n in r["histograms"][kind].items():
                histogram[int(bucket)] = histogram.get(int(bucket), 0) + n
        merged[kind] = percentiles(histogram)
    both = {}
    for kind in ("all_topics", "own_topics"):
        for r in results:
            for bucket, n in r["histograms"][kind].items():
                both[int(bucket)] = both.get(int(bucket), 0) + n
    merged["every"] = percentiles(both)
    return merged


def percentiles(histogram):
    """p50/p99/max (ms) of 0.1 ms buckets."""
    total = sum(histogram.values())
    figures = {"samples": total, "p50_ms": 0, "p99_ms": 0, "max_ms": 0}
    if not total:
        return figures
    seen = 0
    for bucket in sorted(histogram):
        seen += histogram[bucket]
        if not figures["p50_ms"] and seen >= total * 0.5:
            figures["p50_ms"] = bucket / 10
        if not figures["p99_ms"] and seen >= total * 0.99:
            figures["p99_ms"] = bucket / 10
    figures["max_ms"] = max(histogram) / 10
    return figures


def states_per_event(result):
    return result["state_messages"] / max(result["event_messages"], 1)


def schedule(store, since_ms, until_ms, result):
    """The product's timing during a run, from its log: events decided in the same millisecond as one
    send (a burst: a batch ends and the next starts), with their share of state messages. Events the
    product committed apart but decided together are one send here: the replay is no burstier than
    the product was. Returns a schedule file for the broadcaster."""
    import sqlite3
    with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as db:
        shift = CLOCK_SHIFT_HOURS * 3_600_000  # the product's stamps are on its shifted clock
        times = [t for (t,) in db.execute("SELECT time FROM events WHERE time >= ? AND time < ? ORDER BY position",
                                          (since_ms + shift, until_ms + shift))]
    sends = []
    for t in times:
        if sends and sends[-1][0] == t:
            sends[-1][1] += 1
        else:
            sends.append([t, 1])
    per_event, owed = states_per_event(result), 0.0
    lines = []
    for t, events in sends:
        owed += events * per_event
        states = int(owed)
        owed -= states
        lines.append(f"{t - sends[0][0]} {events} {states}")
    with tempfile.NamedTemporaryFile("w", suffix=".schedule", delete=False) as listing:
        listing.write("\n".join(lines) + "\n")
    return listing.name


def bare(result, count, seconds, topics, events_per_s, timing=None):
    """The same client against the bare broadcaster sending what `result` received: the same event
    and state sizes and states per event, at `events_per_s` evenly, or at the product's own moments
    (`timing`: a schedule file)."""
    shape = ["--rate", str(max(events_per_s, 0.5)), "--event-bytes", str(result["event_bytes_avg"] or 500),
             "--state-bytes", str(result["state_bytes_avg"] or 1000),
             "--states-per-event", str(round(states_per_event(result), 3))]
    if timing:
        shape += ["--schedule", timing]
    broadcaster, port = start(["broadcaster", "--port", "0", *shape], binary=BENCH)
    try:
        return subscribers(port, count, seconds, topics, after=0)
    finally:
        broadcaster.send_signal(signal.SIGTERM)
        broadcaster.wait(timeout=30)


def ratio(ours, baseline):
    return round(ours / baseline, 2) if baseline else None


def fanout_all(port, store, counts=(10, 100, 1000), seconds=12):
    """Shape `all`: every subscriber on `topics=all`, under steady traffic, beside the bare broadcaster
    replaying the run's own timing (and, for reference, sending evenly at the same rate)."""
    steady_traffic(port)
    time.sleep(2)
    for count in counts:
        started = time.time() * 1000
        ours = subscribers(port, count, seconds)
        if not ours["every"]["samples"]:
            yield {"figure": "fanout", "shape": "all", "subscribers": count, "error": "no events received"}
            continue
        events_per_s = ours["event_messages"] / count / seconds
        timing = schedule(store, started, time.time() * 1000, ours)
        baseline = bare(ours, count, seconds, ["all"], events_per_s, timing)
        even = bare(ours, count, seconds, ["all"], events_per_s)
        os.unlink(timing)
        yield {"figure": "fanout", "shape": "all", "subscribers": count, "connected": ours["connected"],
               "events_per_s": round(events_per_s, 1), "messages_per_s": round(ours["messages"] / seconds),
               "p50_ms": ours["every"]["p50_ms"], "p99_ms": ours["every"]["p99_ms"], "max_ms": ours["every"]["max_ms"],
               "bare_p50_ms": baseline["every"]["p50_ms"], "bare_p99_ms": baseline["every"]["p99_ms"],
               "bare_messages_per_s": round(baseline["messages"] / seconds),
               "ratio_p99": ratio(ours["every"]["p99_ms"], baseline["every"]["p99_ms"]),
               "bare_even_p99_ms": even["every"]["p99_ms"], "ratio_p99_even": ratio(ours["every"]["p99_ms"], even["every"]["p99_ms"]),
               "client_cpu_s": ours["client_cpu_s"], "bare_client_cpu_s": baseline["client_cpu_s"], "seconds": seconds}


# Without a safe-harbor message a queue dials one line at a time (it could not play one to a person it abandons).
SAFE_HARBOR_MESSAGE = "This is Switchboard Floor calling about your account. Please call us back at 512 555 0100."


def floor_traffic(port, agents=1000, per_queue=10, batches=10, spread_s=30):
    """`agents` agents dialling, `per_queue` to a queue, with enough contacts for `batches` batches each:
    per batch of three one person answers after 3-8 s and talks 3-40 s (then 5-25 s of wrap-up), the
    others ring on until cut short or give up. The agents start evenly over `spread_s` seconds (about
    one cycle) and ring, talk and wrap-up times are spread (by a hash), so the event rate is steady
    from then on — about 0.4 events/s an agent. Returns the sessions."""
    queues = []
    per_agent = 3 * batches
    for q in range(-(-agents // per_queue)):
        contacts = []
        for i in range(per_queue * per_agent):
            number = q * per_queue * per_agent + i
            spread = (number * 2654435761) % 1_000_003
            contacts.append({"phone": f"+1512{200 + number // 10000}{number % 10000:04d}",
                             "script": {"ringMs": 3000 + spread % 5000, "answer": "human" if i % 3 == 0 else "none",
                                        "talkMs": 3000 + spread % 37000}})
        queues.append(post(port, "/v1/queues", {"name": f"Floor {q}", "maxAttempts": 1, "contacts": contacts,
                                                "safeHarborMessage": SAFE_HARBOR_MESSAGE})["queueId"])
    sessions, started = [], time.monotonic()
    for agent in range(agents):
        time.sleep(max(0.0, started + spread_s * agent / agents - time.monotonic()))
        session = post(port, "/v1/sessions", {"agentId": f"agent-{agent}", "queueId": queues[agent // per_queue],
                                              "mode": "parallel", "profile": "balanced",
                                              "settings": {"wrapUpMs": 5000 + (agent * 7919) % 20000}})
        sessions.append(session["sessionId"])
    return sessions


def cpu_seconds(pid):
    """User + system CPU seconds `pid` has used so far."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def metrics(port):
    """`GET /metrics`, as {name{labels}: value}."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics", headers=auth())
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read().decode()
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            values[name] = float(value)
    return values


def histogram_p99_ms(before, after, name):
    """The p99 (ms, a bucket's upper bound) of a Prometheus histogram over the window between two scrapes."""
    buckets = sorted(((float(key.split('le="')[1].split('"')[0]), after[key] - before.get(key, 0))
                      for key in after if key.startswith(name + "_bucket{") and 'le="+Inf"' not in key))
    total = after.get(name + "_count", 0) - before.get(name + "_count", 0)
    if not total:
        return None
    for bound, count in buckets:
        if count >= total * 0.99:
            return round(bound * 1000, 2)
    return "over " + str(round(buckets[-1][0] * 1000)) if buckets else None


def floor_step(agents, walls=20, seconds=15, warm_up=5):
    """One floor size on a fresh server: `agents` dialling, each followed by a subscriber of its own
    session, plus `walls` on `topics=all`; once all have started and `warm_up` seconds more, `seconds` measured. The server's
    CPU over the window per 1 000 events, where its time went (its own counters), the dialling path's
    answer → last cancel p99, then the bare broadcaster replaying the window's timing to the same
    clients once the server is stopped."""
    directory = tempfile.mkdtemp(prefix="switchboard-floor-")
    server, port = start(["serve", "--port", "0", "--store", f"{directory}/floor.sqlite", "--log-level", "error",
                          "--max-feed-sockets", str(agents + walls + 100)])
    try:
        sessions = floor_traffic(port, agents)
        time.sleep(warm_up)
        topics = [f"session:{s}" for s in sessions] + ["all"] * walls
        before, cpu_before, scrape_before, started = (get(port, "/healthz")["position"], cpu_seconds(server.pid),
                                                      metrics(port), time.time())
        ours = subscribers(port, len(topics), seconds, topics)
        elapsed, events = time.time() - started, get(port, "/healthz")["position"] - before
        cpu, scrape_after = cpu_seconds(server.pid) - cpu_before, metrics(port)
        timing = schedule(f"{directory}/floor.sqlite", started * 1000, time.time() * 1000, ours)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    baseline = bare(ours, len(topics), seconds, topics, events / elapsed, timing)
    os.unlink(timing)
    # Where the server's CPU went, from its own counters; `other` is what no stage counts (the
    # concurrency runtime's scheduling, API requests, timers).
    stages = {key.split('stage="')[1].split('"')[0]: (scrape_after[key] - scrape_before.get(key, 0)) / max(events, 1) * 1000
              for key in scrape_after if key.startswith("switchboard_work_seconds_total{")}
    stages["other"] = cpu / max(events, 1) * 1000 - sum(stages.values())
    stages = {stage: round(seconds, 3) for stage, seconds in stages.items()}
    return {"figure": "capacity", "agents": agents, "walls": walls, "connected": ours["connected"], "failed": ours["failed"],
            "closed_by_server": ours["closed_by_server"], "events_per_s": round(events / elapsed, 1),
            "messages_per_s": round(ours["messages"] / seconds),
            "agents_p50_ms": ours["own_topics"]["p50_ms"], "agents_p99_ms": ours["own_topics"]["p99_ms"],
            "walls_p50_ms": ours["all_topics"]["p50_ms"], "walls_p99_ms": ours["all_topics"]["p99_ms"],
            "bare_agents_p99_ms": baseline["own_topics"]["p99_ms"], "bare_walls_p99_ms": baseline["all_topics"]["p99_ms"],
            "cpu_s_per_1000_events": round(cpu / max(events, 1) * 1000, 3), "cpu_busy": round(cpu / elapsed, 2),
            "work_s_per_1000_events": stages,
            "answer_to_last_cancel_p99_ms": histogram_p99_ms(scrape_before, scrape_after, "switchboard_answer_to_last_cancel_seconds"),
            "warm_up_samples_skipped": ours["catch_up_samples_skipped"],
            "client_cpu_s": ours["client_cpu_s"], "bare_client_cpu_s": baseline["client_cpu_s"], "seconds": seconds}


def machine_baselines():
    """How fast this machine is, by figures that do not depend on Switchboard's code: a minimal
    libwebsockets hello handler under wrk, and a bare SQLite scan (the replay benchmark's baseline).
    A capacity is stated with them: a box whose baselines read 2.5× slower carries about that much less."""
    hello, port = start(["hello-server", "--port", "0"], binary=BENCH)
    try:
        hello_req_per_s = wrk(f"http://127.0.0.1:{port}/")
    finally:
        hello.send_signal(signal.SIGTERM)
        hello.wait(timeout=30)
    replay = subprocess.run([BENCH, "--only", "replay", "--events", "200000"], capture_output=True, text=True, timeout=600)
    scan = next((json.loads(line) for line in replay.stdout.splitlines() if '"replay"' in line), {})
    return {"figure": "capacity_baselines", "hello_req_per_s": round(hello_req_per_s),
            "bare_scan_rows_per_s": scan.get("baseline_scan_events_per_s"), "cores": os.cpu_count()}


# The steps, and on past them until the node is well past its capacity on this machine.
CAPACITY_STEPS = (100, 200, 400, 700, 1000, 1500, 2000, 3000, 4000, 5000)


def capacity(steps=CAPACITY_STEPS):
    """The floor stepped up: the machine's baselines, each size's figures, then the largest whose agents'
    and walls' p99 stayed under 100 ms with every subscriber connected."""
    yield machine_baselines()
    carried = None
    for agents in steps:
        step = floor_step(agents)
        yield step
        # Carried: every subscriber connected, none closed as a slow consumer, both kinds heard, both under 100 ms.
        if (0 < step["agents_p99_ms"] < 100 and 0 < step["walls_p99_ms"] < 100 and not step["failed"]
                and not step["closed_by_server"]):
            carried = agents
    yield {"figure": "capacity_summary", "largest_floor_under_100ms": carried, "walls": 20, "steps": list(steps)}


def healthz_during(port, work):
    """`/healthz` round trips (ms), one every 50 ms while `work()` runs, and what it returned."""
    import threading
    samples, done, result = [], threading.Event(), {}

    def probe():
        while not done.is_set():
            started = time.perf_counter()
            get(port, "/healthz")
            samples.append((time.perf_counter() - started) * 1000)
            time.sleep(0.05)
    prober = threading.Thread(target=probe)
    prober.start()
    try:
        result["value"] = work()
    finally:
        done.set()
        prober.join()
    return samples, result.get("value")


def quantile(samples, q):
    ordered = sorted(samples)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1) if ordered else None


def walls(count=3000, seconds=10):
    """`count` reading walls (`topics=all`) under steady traffic: `/healthz` while they read, beside
    `/healthz` under the same traffic with none, at caps of `--max-feed-sockets` below the default, at
    the default (the rest are refused 503) and with the cap lifted to `count` (what the cap prevents)."""
    for cap in (500, None, 2000, count):
        directory = tempfile.mkdtemp(prefix="switchboard-walls-")
        args = ["serve", "--port", "0", "--store", f"{directory}/walls.sqlite", "--log-level", "error"]
        server, port = start(args + (["--max-feed-sockets", str(cap)] if cap else []))
        try:
            steady_traffic(port)
            time.sleep(2)
            baseline, _ = healthz_during(port, lambda: time.sleep(seconds))
            before, started = get(port, "/healthz")["position"], time.time()
            loaded, ours = healthz_during(port, lambda: subscribers(port, count, seconds))
            events_per_s = (get(port, "/healthz")["position"] - before) / (time.time() - started)
            yield {"figure": "walls", "walls": count, "max_feed_sockets": cap or "default", "connected": ours["connected"],
                   "refused": ours["failed"], "events_per_s": round(events_per_s, 1),
                   "messages_per_s": round(ours["messages"] / seconds),
                   "healthz_p50_ms": quantile(loaded, 0.5), "healthz_p99_ms": quantile(loaded, 0.99),
                   "baseline_healthz_p50_ms": quantile(baseline, 0.5), "baseline_healthz_p99_ms": quantile(baseline, 0.99),
                   "walls_p99_ms": ours["all_topics"]["p99_ms"], "seconds": seconds}
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)


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
    if ONLY & {"poll", "fanout"}:
        server, port = start(["serve", "--port", "0", "--store", f"{directory}/bench.sqlite", "--demo", "--log-level", "error"])
        hello, hello_port = start(["hello-server", "--port", "0"], binary=BENCH)
        try:
            if "poll" in ONLY:
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
            if "fanout" in ONLY:
                for figure in fanout_all(port, f"{directory}/bench.sqlite"):
                    print(json.dumps(figure), flush=True)
        finally:
            for process in (server, hello):
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=30)
    if "floor" in ONLY:
        print(json.dumps(floor_step(1000)), flush=True)
    if "capacity" in ONLY:
        for figure in capacity():
            print(json.dumps(figure), flush=True)
    if "walls" in ONLY:
        for figure in walls():
            print(json.dumps(figure), flush=True)
    if "ws_memory" in ONLY:
        # Memory on a fresh server, so the heap the fan-out run left behind does not hide the growth
        # (its 5 000 idle sockets are past the default --max-feed-sockets).
        server, port = start(["serve", "--port", "0", "--store", f"{directory}/memory.sqlite", "--demo", "--log-level", "error",
                              "--max-feed-sockets", "6000"])
        try:
            print(json.dumps(ws_memory(port, server.pid, 5000)), flush=True)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
