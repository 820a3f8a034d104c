#!/usr/bin/env python3
"""A hostile pool master for chaintop's tests (issue 11): a proxy in front of the XAPI
simulator that answers honestly except where its --mode says otherwise. Standard library only.

    python3 tests/hostile/hostile_server.py --upstream http://127.0.0.1:PORT --mode MODE
            [--tls CERT KEY [--tls2 CERT KEY]] [--trap-log FILE] [--class VM]

Prints one line once it listens: "ready URL TRAP_URL". TRAP_URL is a plain TCP listener
standing for "somewhere chaintop must never talk to in clear": every connection it gets is
appended to --trap-log (the first bytes, as Python's repr), so a test can assert that no
request, and no password, reached it.

Modes (CLASS is --class, default VM):
  pass          forward everything unchanged
  slave-url     login fails with HOST_IS_SLAVE whose address is TRAP_URL ("http://...")
  slave-host    login fails with HOST_IS_SLAVE whose address is the trap's "127.0.0.1:PORT"
                (a plain host:port, as allowed: the pool's scheme must be kept)
  slave-tls     login fails with HOST_IS_SLAVE naming "127.0.0.1:PORT2", a second, honest
                TLS listener with another certificate (--tls2): the real master of a pool
                whose hosts each have their own certificate
  endless       CLASS.get_all_records streams records without end
  huge-value    CLASS.get_all_records streams one record whose name_label never ends
  slow-login    the login reply comes at one byte a second
  slow-load     CLASS.get_all_records replies (the real ones) at one byte a second
  hang-load     CLASS.get_all_records is never answered
  redirect-http every POST and GET is answered 302 to TRAP_URL
  redirect-export  XML-RPC is forwarded; every GET (exports) is answered 302 to TRAP_URL
  deep          the login reply is nested 180,000 elements deep
  nul-name      CLASS.get_all_records: a field name holding NUL bytes
  bidi-name     every name_label of CLASS.get_all_records starts with U+202E and holds U+200B
  hang          a hung master: accepts TCP connections, reads the requests, never answers
  hang-later    forwards everything until it gets SIGUSR1, then answers nothing more (replies
                still on their way are held too): a master that hangs while watched
"""
import argparse
import http.client
import http.server
import signal
import socket
import socketserver
import ssl
import sys
import threading
import time
import urllib.parse
import xmlrpc.client

OPTS = None
TRAP_URL = ""
MASTER2 = ""
TRAP_LOCK = threading.Lock()
HUNG = threading.Event()


def fault_reply(code, *params):
    vals = "".join("<value>%s</value>" % xmlrpc.client.escape(p) for p in (code,) + params)
    return ("<?xml version='1.0'?><methodResponse><params><param><value><struct>"
            "<member><name>Status</name><value>Failure</value></member>"
            "<member><name>ErrorDescription</name><value><array><data>%s</data></array>"
            "</value></member></struct></value></param></params></methodResponse>" % vals
            ).encode()


class Trap(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class TrapHandler(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.settimeout(3)
        data = b""
        try:
            while len(data) < 65536:
                b = self.request.recv(4096)
                if not b:
                    break
                data += b
        except OSError:
            pass
        with TRAP_LOCK, open(OPTS.trap_log, "a") as f:
            f.write("connection: %r\n" % data)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    # -- replies ------------------------------------------------------------------------
    def send_body(self, body, status=200, ctype="text/xml"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def start_stream(self):
        """A reply without a length: the connection closes at its end."""
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True

    def trickle(self, body):
        self.start_stream()
        try:
            for i in range(len(body)):
                self.wfile.write(body[i:i + 1])
                self.wfile.flush()
                time.sleep(1)
        except OSError:
            pass

    def stream_forever(self, head, piece):
        self.start_stream()
        try:
            self.wfile.write(head)
            while True:
                self.wfile.write(piece())
        except OSError:
            pass

    def upstream(self, method, body=None):
        u = urllib.parse.urlsplit(OPTS.upstream)
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
        hdrs = {"Content-Type": "text/xml"} if body is not None else {}
        c.request(method, self.path, body, hdrs)
        return c, c.getresponse()

    def redirect(self):
        self.send_response(302)
        self.send_header("Location", TRAP_URL + self.path)
        self.send_header("Content-Length", "0")
        self.end_headers()

    # -- POST: XML-RPC ---------------------------------------------------------------------
    def hold(self):
        """Never answer: wait until the client gives up and closes."""
        try:
            while self.rfile.read(1):
                pass
        except OSError:
            pass

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        if HUNG.is_set():
            return self.hold()
        try:
            _, method = xmlrpc.client.loads(body)
        except Exception:
            method = ""
        mode, cls = (OPTS.mode if not getattr(self.server, "honest", False) else "pass",
                     OPTS.cls)
        records = method == cls + ".get_all_records"
        login = method == "session.login_with_password"
        if mode == "redirect-http":
            return self.redirect()
        if login and mode == "slave-url":
            return self.send_body(fault_reply("HOST_IS_SLAVE", TRAP_URL))
        if login and mode == "slave-tls":
            return self.send_body(fault_reply("HOST_IS_SLAVE", MASTER2))
        if login and mode == "slave-host":
            return self.send_body(fault_reply("HOST_IS_SLAVE", TRAP_URL.split("://")[1]))
        if login and mode == "deep":
            depth = 180000
            return self.send_body(b"<?xml version='1.0'?><methodResponse><params><param>" +
                                  b"<value><array><data>" * depth +
                                  b"</data></array></value>" * depth +
                                  b"</param></params></methodResponse>")
        if records and mode == "endless":
            count = [0]

            def piece():
                out = []
                for _ in range(200):
                    count[0] += 1
                    i = count[0]
                    out.append("<member><name>OpaqueRef:x-%d</name><value><struct>"
                               "<member><name>uuid</name><value>00000000-0000-0000-0000-%012d"
                               "</value></member><member><name>name_label</name><value>vm %d"
                               "</value></member></struct></value></member>" % (i, i, i))
                return "".join(out).encode()
            return self.stream_forever(
                b"<?xml version='1.0'?><methodResponse><params><param><value><struct>"
                b"<member><name>Status</name><value>Success</value></member>"
                b"<member><name>Value</name><value><struct>", piece)
        if records and mode == "huge-value":
            chunk = b"A" * 65536
            return self.stream_forever(
                b"<?xml version='1.0'?><methodResponse><params><param><value><struct>"
                b"<member><name>Status</name><value>Success</value></member>"
                b"<member><name>Value</name><value><struct><member><name>OpaqueRef:h</name>"
                b"<value><struct><member><name>name_label</name><value>", lambda: chunk)
        if records and mode == "hang-load":
            try:
                while self.rfile.read(1):
                    pass
            except OSError:
                pass
            return
        c, r = self.upstream("POST", body)
        data = r.read()
        c.close()
        if HUNG.is_set():
            return self.hold()
        if (login and mode == "slow-login") or (records and mode == "slow-load"):
            return self.trickle(data)
        if records and mode == "nul-name":
            data = data.replace(b"<name>name_description</name>",
                                b"<name>name_description\x00\x00\x00\x00\x00</name>", 1)
        if records and mode == "bidi-name":
            data = data.replace(b"<name>name_label</name><value>",
                                b"<name>name_label</name><value>\xe2\x80\xaeevil\xe2\x80\x8b")
        self.send_body(data, r.status, r.getheader("Content-Type", "text/xml"))

    # -- GET: exports and other HTTP handlers ----------------------------------------------
    def do_GET(self):
        if OPTS.mode in ("redirect-http", "redirect-export"):
            return self.redirect()
        c, r = self.upstream("GET")
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ("connection", "transfer-encoding", "content-length"):
                self.send_header(k, v)
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        try:
            while True:
                b = r.read(65536)
                if not b:
                    break
                self.wfile.write(b)
        except OSError:
            pass
        c.close()


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    global OPTS, TRAP_URL
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--mode", default="pass")
    ap.add_argument("--class", dest="cls", default="VM")
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    ap.add_argument("--tls2", nargs=2, metavar=("CERT", "KEY"))
    ap.add_argument("--trap-log", default="/dev/null")
    OPTS = ap.parse_args()
    if OPTS.mode == "hang":
        HUNG.set()
    signal.signal(signal.SIGUSR1, lambda *_: HUNG.set())
    trap = Trap(("127.0.0.1", 0), TrapHandler)
    TRAP_URL = "http://127.0.0.1:%d" % trap.server_address[1]
    threading.Thread(target=trap.serve_forever, daemon=True).start()
    srv = Server(("127.0.0.1", 0), Handler)
    scheme = "http"
    if OPTS.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(OPTS.tls[0], OPTS.tls[1])
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
        scheme = "https"
    if OPTS.tls2:
        global MASTER2
        srv2 = Server(("127.0.0.1", 0), Handler)
        srv2.honest = True
        ctx2 = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx2.load_cert_chain(OPTS.tls2[0], OPTS.tls2[1])
        srv2.socket = ctx2.wrap_socket(srv2.socket, server_side=True)
        MASTER2 = "127.0.0.1:%d" % srv2.server_address[1]
        threading.Thread(target=srv2.serve_forever, daemon=True).start()
    print("ready %s://127.0.0.1:%d %s" % (scheme, srv.server_address[1], TRAP_URL), flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
