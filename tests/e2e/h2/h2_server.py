#!/usr/bin/python3
"""An HTTP/2 server in the clear (prior knowledge) for end-to-end tests, on Debian's python3-h2.

It answers what nginx cannot be made to do on demand. Paths:
  /ok          200 "ok"
  /rst/CODE    RST_STREAM with error code CODE (a decimal number), no response
  /half/CODE   the response's headers and 5 bytes of its body, then RST_STREAM CODE
  /never       no answer at all (the stream stays open until the client resets it)
  anything else 404

Every event goes to the log file, one line each, so that a test checks what the server saw:
  conn N                  connection N (from 1) was accepted
  request PATH N          a request on connection N
  reset PATH CODE N       the client reset the stream of PATH with error code CODE
  closed N                connection N ended

Usage: /usr/bin/python3 h2_server.py PORT LOG_PATH
"""
import socket
import sys
import threading

import h2.config
import h2.connection
import h2.events

PORT, LOG_PATH = int(sys.argv[1]), sys.argv[2]
LOCK = threading.Lock()


def log(line):
    with LOCK:
        with open(LOG_PATH, "a") as f:
            f.write(line + "\n")


def respond(conn, sid, status, body, end=True):
    conn.send_headers(sid, [(":status", str(status)), ("content-length", str(len(body)))])
    conn.send_data(sid, body, end_stream=end)


def answer(conn, sid, path):
    parts = path.split("/")
    if path == "/ok":
        respond(conn, sid, 200, b"ok")
    elif path == "/hints":  # an interim 103 (Early Hints) before the response
        conn.send_headers(sid, [(":status", "103"), ("link", "</a.css>; rel=preload"),
                                ("x-interim", "1")])
        respond(conn, sid, 200, b"ok")
    elif len(parts) == 3 and parts[1] == "rst" and parts[2].isdigit():
        conn.reset_stream(sid, error_code=int(parts[2]))
    elif len(parts) == 3 and parts[1] == "half" and parts[2].isdigit():
        conn.send_headers(sid, [(":status", "200"), ("content-length", "100")])
        conn.send_data(sid, b"12345")
        conn.reset_stream(sid, error_code=int(parts[2]))
    elif path != "/never":
        respond(conn, sid, 404, b"not found")


def serve(sock, n):
    config = h2.config.H2Configuration(client_side=False, header_encoding="utf-8")
    conn = h2.connection.H2Connection(config=config)
    conn.initiate_connection()
    sock.sendall(conn.data_to_send())
    paths = {}
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                break
            for ev in conn.receive_data(data):
                if isinstance(ev, h2.events.RequestReceived):
                    path = dict(ev.headers)[":path"]
                    paths[ev.stream_id] = path
                    log("request %s %d" % (path, n))
                    answer(conn, ev.stream_id, path)
                elif isinstance(ev, h2.events.DataReceived):
                    conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                elif isinstance(ev, h2.events.StreamReset) and ev.remote_reset:
                    log("reset %s %d %d" % (paths.get(ev.stream_id), int(ev.error_code), n))
            out = conn.data_to_send()
            if out:
                sock.sendall(out)
    except OSError:
        pass
    finally:
        log("closed %d" % n)
        sock.close()


def main():
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", PORT))
    listener.listen(64)
    n = 0
    while True:
        sock, _ = listener.accept()
        n += 1
        log("conn %d" % n)
        threading.Thread(target=serve, args=(sock, n), daemon=True).start()


main()
