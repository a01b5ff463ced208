#!/usr/bin/python3
"""Simulated Locust workers for bench/dist-master: N ZeroMQ DEALER sockets, one per worker, each
speaking Locust 2.x's master/worker protocol to a master on 127.0.0.1.

Each worker joins with client_ready, sends a heartbeat every second and a `stats` message every
3 seconds shaped as Locust 2.12's stats.py serialises it (10 entries, each with a response_times
map of about 30 buckets rounded as Locust rounds them, per-second request and failure counts; two
errors keyed by their sha256 digest; stats_total; user_count and user_classes_count), answers
spawn with spawning and spawning_complete, stop with a last report and client_stopped, and leaves
on quit. Nothing runs any load: the payloads are made up, the counts consistent.

Progress goes to stdout ("joined N", "running N"), and every half second the counters go to
--counters as one line: "stats_sent heartbeats_sent requests_reported workers_running".

Debian's python3-zmq and python3-msgpack (run with /usr/bin/python3).
"""
import argparse
import hashlib
import heapq
import os
import random
import socket
import sys
import time
import uuid

try:
    import msgpack
    import zmq
except ImportError as e:  # a clear message rather than a traceback
    sys.exit(f"dist_workers.py: {e}; install python3-zmq and python3-msgpack "
             f"(apt-get install python3-zmq python3-msgpack) and run with /usr/bin/python3")

NAMES = [("GET", "/"), ("GET", "/hello"), ("GET", "/api/items"), ("GET", "/api/items/[id]"),
         ("POST", "/api/items"), ("PUT", "/api/items/[id]"), ("GET", "/api/search"),
         ("POST", "/login"), ("GET", "/static/[file]"), ("DELETE", "/api/items/[id]")]
ERRORS = [("GET", "/api/search", "HTTPError('500 Server Error: Internal Server Error for url: /api/search')"),
          ("POST", "/login", "ConnectionResetError(104, 'Connection reset by peer')")]
CLASSES = {"Visitor": 0.75, "Writer": 0.25}


def locust_bucket(ms):
    """A response time rounded as Locust 2.12 does: whole ms (an int) below 100 ms, then 10 ms,
    100 ms and 1 s steps (floats, as Python's round(x, -n) of a float gives)."""
    if ms < 100:
        return round(ms)
    if ms < 1000:
        return round(ms, -1)
    if ms < 10000:
        return round(ms, -2)
    return round(ms, -3)


def bucket_shape(rng, n=30):
    """About n distinct buckets of a log-normal response-time distribution, with weights."""
    median = rng.choice([8, 15, 30, 60, 120])
    shape = {}
    while len(shape) < n:
        shape[locust_bucket(rng.lognormvariate(0, 0.9) * median)] = rng.randint(1, 12)
    return shape


def packed(msg_type, data, node_id):
    return msgpack.packb([msg_type, data, node_id], use_bin_type=True)


class Worker:
    def __init__(self, ctx, port, index, version, rng):
        self.id = f"{socket.gethostname()}-sim{index}_{uuid.uuid4().hex}"
        self.version = version
        self.rng = rng
        self.sock = ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.IDENTITY, self.id.encode())
        self.sock.setsockopt(zmq.TCP_KEEPALIVE, 1)
        self.sock.setsockopt(zmq.TCP_KEEPALIVE_IDLE, 30)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(f"tcp://127.0.0.1:{port}")
        self.state = "ready"
        self.acked = False
        self.users = 0
        self.classes = {}
        self.shapes = [bucket_shape(rng) for _ in NAMES]
        self.start_time = time.time()
        self.cpu = rng.uniform(20, 60)
        self.memory = rng.randint(40, 90) * 1024 * 1024

    def send(self, msg_type, data):
        self.sock.send(packed(msg_type, data, self.id), zmq.NOBLOCK)

    def ready(self):
        self.send("client_ready", self.version)

    def heartbeat(self):
        self.cpu = min(99.0, max(1.0, self.cpu + self.rng.uniform(-2, 2)))
        self.send("heartbeat", {"state": self.state, "current_cpu_usage": self.cpu,
                                "current_memory_usage": self.memory})

    def entry(self, method, name, shape, now, seconds, fails):
        """One StatsEntry as serialize() gives it: the counts of the last `seconds` seconds."""
        times = {k: max(1, v + self.rng.randint(-1, 2)) for k, v in shape.items()}
        n = sum(times.values())
        per_sec = {int(now) - i: n // seconds + (1 if i < n % seconds else 0) for i in range(seconds)}
        fail_sec = {int(now) - i: 1 for i in range(fails)}
        return {"name": name, "method": method, "last_request_timestamp": now,
                "start_time": self.start_time, "num_requests": n, "num_none_requests": 0,
                "num_failures": fails, "total_response_time": float(sum(k * c for k, c in times.items())),
                "max_response_time": float(max(times)) + self.rng.random(),
                "min_response_time": float(min(times)), "total_content_length": n * 1837,
                "response_times": times, "num_reqs_per_sec": per_sec, "num_fail_per_sec": fail_sec}

    def stats(self):
        """Sends a report (an empty one while no user runs, as Locust's); returns the requests it
        counts."""
        now = time.time()
        entries = []
        for (method, name), shape in zip(NAMES, self.shapes):
            if self.state != "running":
                break
            fails = 2 if any(e[0] == method and e[1] == name for e in ERRORS) else 0
            entries.append(self.entry(method, name, shape, now, 3, fails))
        total = {"name": "Aggregated", "method": "", "last_request_timestamp": now if entries else None,
                 "start_time": self.start_time, "num_none_requests": 0,
                 "min_response_time": min((e["min_response_time"] for e in entries), default=None),
                 "max_response_time": max((e["max_response_time"] for e in entries), default=0),
                 "response_times": {}, "num_reqs_per_sec": {}, "num_fail_per_sec": {}}
        for k in ("num_requests", "num_failures", "total_response_time", "total_content_length"):
            total[k] = sum(e[k] for e in entries)
        for e in entries:
            for field in ("response_times", "num_reqs_per_sec", "num_fail_per_sec"):
                for k, v in e[field].items():
                    total[field][k] = total[field].get(k, 0) + v
        errors = {}
        for method, name, error in ERRORS if entries else []:
            key = hashlib.sha256(f"{method}.{name}.{error!r}".encode()).hexdigest()
            errors[key] = {"method": method, "name": name, "error": error, "occurrences": 2}
        self.send("stats", {"stats": entries, "stats_total": total, "errors": errors,
                            "user_classes_count": self.classes, "user_count": self.users})
        return total["num_requests"]

    def on_message(self, frame, out):
        msg_type, data, _ = msgpack.unpackb(frame, raw=False, strict_map_key=False)
        if msg_type == "ack":
            self.acked = True
        elif msg_type == "spawn":
            self.state = "spawning"
            self.send("spawning", None)
            self.classes = dict(data.get("user_classes_count") or {})
            self.users = sum(self.classes.values())
            self.state = "running"
            self.send("spawning_complete", {"user_classes_count": self.classes, "user_count": self.users})
        elif msg_type == "stop":
            out["requests"] += self.stats()
            out["stats"] += 1
            self.users, self.classes, self.state = 0, {}, "ready"
            self.send("client_stopped", None)
            self.ready()
        elif msg_type == "reconnect":
            self.ready()
        elif msg_type == "quit":
            self.state = "quit"
        # "heartbeat" (masters >= 2.19 and cicada's) needs no answer.


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, required=True, help="the master's port on 127.0.0.1")
    ap.add_argument("--workers", type=int, required=True)
    ap.add_argument("--version", default="2.24.0",
                    help="the version sent in client_ready (default 2.24.0: a Locust the master "
                         "answers heartbeats to)")
    ap.add_argument("--counters", help="file to write the counters to")
    ap.add_argument("--max-seconds", type=float, default=600, help="give up after this long")
    a = ap.parse_args()

    rng = random.Random(42)
    ctx = zmq.Context.instance()
    ctx.setsockopt(zmq.MAX_SOCKETS, a.workers + 16)
    workers = [Worker(ctx, a.port, i, a.version, random.Random(rng.random())) for i in range(a.workers)]
    poller = zmq.Poller()
    by_sock = {}
    for w in workers:
        poller.register(w.sock, zmq.POLLIN)
        by_sock[w.sock] = w
        w.ready()

    # (due, seq, kind, worker): heartbeats every 1 s and reports every 3 s, each worker at its
    # own phase so that the master sees a steady stream.
    now = time.monotonic()
    timers = []
    for i, w in enumerate(workers):
        timers.append((now + rng.random(), 2 * i, "hb", w))
        timers.append((now + 3 * rng.random(), 2 * i + 1, "stats", w))
    heapq.heapify(timers)
    out = {"stats": 0, "heartbeats": 0, "requests": 0}
    said_joined = said_running = False
    next_counters = now
    end = now + a.max_seconds
    while True:
        now = time.monotonic()
        if now > end:
            sys.exit("dist_workers.py: still running after --max-seconds")
        while timers and timers[0][0] <= now:
            due, seq, kind, w = heapq.heappop(timers)
            if w.state == "quit":
                continue
            if kind == "hb":
                w.heartbeat()
                out["heartbeats"] += 1
                heapq.heappush(timers, (due + 1.0, seq, kind, w))
            else:
                if w.acked:
                    out["requests"] += w.stats()
                    out["stats"] += 1
                heapq.heappush(timers, (due + 3.0, seq, kind, w))
        for sock, _ in poller.poll(max(0, (timers[0][0] - time.monotonic()) * 1000) if timers else 100):
            while True:
                try:
                    frame = sock.recv(zmq.NOBLOCK)
                except zmq.Again:
                    break
                by_sock[sock].on_message(frame, out)
        running = sum(1 for w in workers if w.state == "running")
        if not said_joined and all(w.acked for w in workers):
            print(f"joined {len(workers)}", flush=True)
            said_joined = True
        if not said_running and running == len(workers):
            print(f"running {len(workers)}", flush=True)
            said_running = True
        if a.counters and now >= next_counters:
            tmp = a.counters + ".tmp"
            with open(tmp, "w") as f:
                f.write(f"{out['stats']} {out['heartbeats']} {out['requests']} {running}\n")
            os.replace(tmp, a.counters)
            next_counters = now + 0.5
        if all(w.state == "quit" for w in workers):
            print(f"quit: {out['stats']} reports with {out['requests']} requests, "
                  f"{out['heartbeats']} heartbeats sent", flush=True)
            return


if __name__ == "__main__":
    main()
