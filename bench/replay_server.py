#!/usr/bin/env python3
"""bench/replay_server.py - serve recorded XAPI XML-RPC replies from memory, for benchmarks.

The simulator needs about half a second just to serialize a 2000-VM pool, so a benchmark
against it measures the simulator. This server answers from replies recorded once, held in
memory as the exact bytes the simulator sent: each answer is one sendall() of a bytes
object, which the kernel copies at loopback speed (bench/load.sh prints how fast curl
downloads them, the figure chaintop is compared with).

  record:  replay_server.py --port 0 --upstream http://127.0.0.1:PORT --save FILE
           a proxy to the simulator that keeps every reply; POST /replay/save writes FILE
  replay:  replay_server.py --port 0 --load FILE

Both print "ready http://127.0.0.1:PORT" once listening. A request is matched by its method
name and its parameters (parsed, so the formatting of the request does not matter); the
session reference the recorded login returned is the one clients send back. An event.from
that was not recorded (a later token) waits for its timeout and answers "no events", as
xapi does on an idle pool; any other request that was not recorded gets a XAPI failure
REPLAY_MISS naming the method, and a line on stderr.
"""
import argparse
import http.client
import pickle
import sys
import threading
import time
import xmlrpc.client
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


def request_key(body):
    params, method = xmlrpc.client.loads(body, use_builtin_types=True)
    return method, repr(params)


def failure_body(desc):
    return xmlrpc.client.dumps(({"Status": "Failure", "ErrorDescription": desc},),
                               methodresponse=True, allow_none=True).encode()


def success_body(value):
    return xmlrpc.client.dumps(({"Status": "Success", "Value": value},),
                               methodresponse=True, allow_none=True).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):
        pass

    def _send(self, code, body, ctype="text/xml"):
        self.send_response(code)
        self.send_header("content-type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        srv = self.server
        if urlsplit(self.path).path == "/replay/save":
            with open(srv.save_path, "wb") as f:
                pickle.dump(srv.replies, f, protocol=pickle.HIGHEST_PROTOCOL)
            return self._send(200, b"saved %d replies\n" % len(srv.replies), "text/plain")
        try:
            key = request_key(body)
        except Exception as e:
            return self._send(500, ("malformed XML-RPC request: %s" % e).encode(), "text/plain")
        if srv.upstream:
            out = srv.forward(body)
            with srv.lock:
                srv.replies.setdefault(key, out)
            return self._send(200, out)
        out = srv.replies.get(key)
        if out is None:
            out = srv.miss(key, body)
        self._send(200, out)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64

    def __init__(self, addr, opts):
        super().__init__(addr, Handler)
        self.lock = threading.Lock()
        self.upstream = opts.upstream
        self.save_path = opts.save
        self.replies = {}
        if opts.load:
            with open(opts.load, "rb") as f:
                self.replies = pickle.load(f)

    def forward(self, body):
        u = urlsplit(self.upstream)
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=600)
        try:
            c.request("POST", "/", body, {"Content-Type": "text/xml"})
            return c.getresponse().read()
        finally:
            c.close()

    def miss(self, key, body):
        method, params = key
        if method == "event.from":
            p, _ = xmlrpc.client.loads(body)
            try:
                timeout = float(p[3])
            except (IndexError, TypeError, ValueError):
                timeout = 0.0
            time.sleep(max(0.0, min(timeout, 60.0)))
            return success_body({"events": [], "valid_ref_counts": {},
                                 "token": p[2] if len(p) > 2 else ""})
        sys.stderr.write("replay_server: not recorded: %s%s\n" % (method, params[:200]))
        return failure_body(["REPLAY_MISS", method])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--upstream", help="record: the simulator's URL")
    ap.add_argument("--save", help="record: where POST /replay/save writes the replies")
    ap.add_argument("--load", help="replay: the file of recorded replies")
    opts = ap.parse_args()
    if bool(opts.upstream) == bool(opts.load) or (opts.upstream and not opts.save):
        ap.error("give either --upstream URL --save FILE (record) or --load FILE (replay)")
    srv = Server(("127.0.0.1", opts.port), opts)
    print("ready http://127.0.0.1:%d" % srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
