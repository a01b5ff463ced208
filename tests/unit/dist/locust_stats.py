"""Locust's side of the stats payload tests (tests/unit/dist/test_stats_wire.c), run with the
python3-locust that Debian installs.

  locust_stats.py worker OUT   writes a `stats` message that Locust's own worker code builds
                               (RequestStats.log_request/log_error, then the report_to_master
                               listener) to OUT, and prints Locust's numbers as JSON
  locust_stats.py master IN    reads a `stats` message (cicada's) from IN, merges it as a Locust
                               master does (the worker_report listener) and prints the numbers

Exits 77 when Locust cannot be imported.
"""
import hashlib
import json
import sys

try:
    import msgpack
    from locust.event import Events
    from locust.rpc.protocol import Message
    from locust.stats import RequestStats, StatsError, setup_distributed_stats_event_listeners
except ImportError:
    sys.exit(77)

# (method, name, response time in ms, content length, error or None)
REQUESTS = [
    ("GET", "/a", 12, 100, None),
    ("GET", "/a", 47.3, 100, None),
    ("GET", "/a", 47.3, 100, None),
    ("GET", "/a", 150.7, 200, None),
    ("GET", "/a", 2345.6, 300, None),
    ("GET", "/a", 0.4, 0, None),
    ("GET", "/a", 33.0, 50, None),
    ("POST", "/b", 99.6, 10, "HTTP 500"),
    ("POST", "/b", 1000.2, 10, "HTTP 500"),
    ("POST", "/b", 12345.0, 10, ConnectionError("refused")),
]


def numbers(stats, received):
    """Locust's figures; received: the errors are texts from a worker, not exceptions."""
    def entry(e):
        return {
            "method": e.method,
            "name": e.name,
            "num_requests": e.num_requests,
            "num_failures": e.num_failures,
            "total_response_time": e.total_response_time,
            "min_response_time": e.min_response_time,
            "max_response_time": e.max_response_time,
            "total_content_length": e.total_content_length,
            "p50": e.get_response_time_percentile(0.5),
            "p95": e.get_response_time_percentile(0.95),
            "bucketed": sum(e.response_times.values()),
            "reqs_per_sec": sum(e.num_reqs_per_sec.values()),
            "fails_per_sec": sum(e.num_fail_per_sec.values()),
            "seconds": sorted(int(k) for k in e.num_reqs_per_sec),
        }

    return {
        "entries": [entry(e) for e in stats.entries.values()],
        "total": entry(stats.total),
        "errors": [
            {
                "key": k,
                "method": e.method,
                "name": e.name,
                # a worker still holds the exception; a master holds the text it received
                "error": e.error if received else StatsError.parse_error(e.error),
                "occurrences": e.occurrences,
                # StatsError.create_key() of a str error in Locust after 2.12
                "key_of_text": hashlib.sha256(f"{e.method}.{e.name}.{e.error!r}".encode()).hexdigest(),
            }
            for k, e in stats.errors.items()
        ],
    }


def worker(out):
    stats = RequestStats(use_response_times_cache=False)
    events = Events()
    setup_distributed_stats_event_listeners(events, stats)
    for method, name, rt, length, error in REQUESTS:
        stats.log_request(method, name, rt, length)
        if error is not None:
            stats.log_error(method, name, error)
    expected = numbers(stats, False)
    data = {}
    events.report_to_master.fire(client_id="node", data=data)
    data["user_classes_count"] = {"WebUser": 3}
    data["user_count"] = 3
    with open(out, "wb") as f:
        f.write(Message("stats", data, "node").serialize())
    print(json.dumps(expected))


def master(path):
    with open(path, "rb") as f:
        msg = Message.unserialize(f.read())
    stats = RequestStats()
    events = Events()
    setup_distributed_stats_event_listeners(events, stats)
    events.worker_report.fire(client_id=msg.node_id, data=msg.data)
    out = numbers(stats, True)
    out["type"] = msg.type
    out["node_id"] = msg.node_id
    out["user_count"] = msg.data["user_count"]
    out["user_classes_count"] = msg.data["user_classes_count"]
    print(json.dumps(out))


if __name__ == "__main__":
    {"worker": worker, "master": master}[sys.argv[1]](sys.argv[2])
