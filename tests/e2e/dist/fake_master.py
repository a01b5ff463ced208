#!/usr/bin/python3
"""A scripted Locust master for cicada's worker tests: a ZeroMQ ROUTER speaking Locust's
protocol (one msgpack frame [type, data, node_id] after the identity frame), written with the
libraries Locust itself uses (pyzmq, msgpack) so that what cicada sends and reads is checked
against an implementation other than its own.

Usage: fake_master.py --port P --log FILE [--delay SECONDS] SCRIPT

--delay waits that long before binding (a worker started first must connect once it binds).

SCRIPT holds one command per line (blank lines and lines starting with # are skipped):
  expect TYPE [SECONDS] [FIELD=VALUE]  wait for a message of TYPE (default 10 s), whose data
                                       has FIELD equal to VALUE (an integer or a string) when
                                       given; exit 1 if none comes in time
  ack                                  ack the worker (data {"index": 0})
  spawn JSON [HOST [STOP_TIMEOUT]]     spawn with user_classes_count JSON, a new timestamp
  spawn_stale JSON                     spawn with the previous spawn's timestamp
  send TYPE [JSON]                     any message (data null without JSON)
  sleep SECONDS                        keep reading (and heartbeating) for that long
  heartbeats on|off                    send the master's heartbeat every second, or not
  exit                                 close the socket at once and exit 0

Every message received is appended to the log as one JSON line
{"t": seconds since start, "type", "data", "node_id"}; the master's own sends as
{"t", "sent": TYPE}; an expectation not met as {"t", "timeout": TYPE}, the end of the script as
{"t", "done": true}. Bound to 127.0.0.1 only.
"""
import argparse
import json
import sys
import time

import msgpack
import zmq


class Master:
    def __init__(self, port, log_path):
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.ROUTER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.bind("tcp://127.0.0.1:%d" % port)
        self.log = open(log_path, "a", buffering=1)
        self.start = time.monotonic()
        self.peer = None
        self.heartbeats = False
        self.next_heartbeat = 0.0
        self.spawn_ts = time.time()

    def now(self):
        return round(time.monotonic() - self.start, 3)

    def record(self, entry):
        entry["t"] = self.now()
        self.log.write(json.dumps(entry, default=repr) + "\n")

    def send(self, mtype, data=None):
        if self.peer is None:
            sys.exit("fake master: no worker to send %s to" % mtype)
        frame = msgpack.packb([mtype, data, self.peer.decode()], use_bin_type=True)
        self.sock.send_multipart([self.peer, frame])
        self.record({"sent": mtype})

    def poll(self, timeout):
        """Reads for up to timeout seconds; returns the first message or None."""
        deadline = time.monotonic() + timeout
        while True:
            if self.heartbeats and self.peer is not None and time.monotonic() >= self.next_heartbeat:
                self.send("heartbeat", None)
                self.next_heartbeat = time.monotonic() + 1.0
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            wait = min(left, 0.1)
            if self.sock.poll(int(wait * 1000)) == 0:
                continue
            ident, frame = self.sock.recv_multipart()
            self.peer = ident
            mtype, data, node_id = msgpack.unpackb(frame, raw=False, strict_map_key=False)
            msg = {"type": mtype, "data": data, "node_id": node_id}
            self.record(dict(msg))
            return msg

    def expect(self, mtype, timeout, want):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = self.poll(deadline - time.monotonic())
            if msg is None:
                break
            if msg["type"] != mtype:
                continue
            data = msg["data"]
            if all(isinstance(data, dict) and str(data.get(k)) == v for k, v in want.items()):
                return
        self.record({"timeout": mtype})
        sys.exit("fake master: no %s %s within %g s" % (mtype, want, timeout))

    def sleep(self, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.poll(deadline - time.monotonic())

    def spawn(self, counts, host, stop_timeout, stale=False):
        if not stale:
            self.spawn_ts = max(time.time(), self.spawn_ts + 0.001)
        self.send(
            "spawn",
            {
                "timestamp": self.spawn_ts,
                "user_classes_count": counts,
                "host": host,
                "stop_timeout": stop_timeout,
                "parsed_options": {},
            },
        )


def run(master, lines):
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        cmd, _, rest = line.partition(" ")
        args = rest.split()
        if cmd == "expect":
            timeout = float(args[1]) if len(args) > 1 else 10.0
            want = dict(a.split("=", 1) for a in args[2:])
            master.expect(args[0], timeout, want)
        elif cmd == "ack":
            master.send("ack", {"index": 0})
        elif cmd in ("spawn", "spawn_stale"):
            counts = json.loads(args[0])
            host = args[1] if len(args) > 1 else ""
            stop_timeout = float(args[2]) if len(args) > 2 else None
            master.spawn(counts, host, stop_timeout, stale=cmd == "spawn_stale")
        elif cmd == "send":
            mtype, _, data = rest.partition(" ")
            master.send(mtype, json.loads(data) if data.strip() else None)
        elif cmd == "sleep":
            master.sleep(float(args[0]))
        elif cmd == "heartbeats":
            master.heartbeats = args[0] == "on"
        elif cmd == "exit":
            master.sock.close(0)
            break
        else:
            sys.exit("fake master: unknown command %r" % line)
    master.record({"done": True})


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--delay", type=float, default=0)
    p.add_argument("script")
    a = p.parse_args()
    with open(a.script) as f:
        lines = f.readlines()
    time.sleep(a.delay)
    run(Master(a.port, a.log), lines)


if __name__ == "__main__":
    main()
