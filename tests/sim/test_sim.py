#!/usr/bin/env python3
"""Tests for the XAPI simulator: wire bytes, events, chains, GC, errors, exports,
control channel.  Run: python3 tests/sim/test_sim.py  (prints "N passed, M failed")."""

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import unittest
import xmlrpc.client

HERE = os.path.dirname(os.path.abspath(__file__))
SIM = os.path.join(HERE, "xapi_sim.py")
USER, PWD = "root", "chaintop-demo"


class SimProc:
    """A simulator subprocess plus a keep-alive raw HTTP client."""

    def __init__(self, scenario, *extra):
        self.p = subprocess.Popen([sys.executable, SIM, "--port", "0", "--scenario", scenario]
                                  + list(extra), stdout=subprocess.PIPE, text=True)
        line = self.p.stdout.readline().strip()
        assert line.startswith("ready http://"), line
        self.url = line.split()[1]
        self.hostport = self.url[len("http://"):]
        self.conn = None
        self.lock = threading.Lock()

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                return self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                return self.p.wait()
        return self.p.returncode

    def raw(self, method, *params, conn=None):
        """Send one XML-RPC call, return the raw response body."""
        body = xmlrpc.client.dumps(tuple(params), method)
        c = conn or http.client.HTTPConnection(self.hostport, timeout=30)
        c.request("POST", "/", body, {"Content-Type": "text/xml"})
        r = c.getresponse()
        data = r.read()
        if conn is None:
            c.close()
        assert r.status == 200, (r.status, data[:200])
        return data

    def call(self, method, *params):
        return xmlrpc.client.loads(self.raw(method, *params))[0][0]

    def ok(self, method, *params):
        r = self.call(method, *params)
        assert r["Status"] == "Success", (method, r)
        return r["Value"]

    def err(self, method, *params):
        r = self.call(method, *params)
        assert r["Status"] == "Failure", (method, r)
        return r["ErrorDescription"]

    def login(self):
        return self.ok("session.login_with_password", USER, PWD, "1.0", "test_sim")

    def http(self, verb, path, body=None):
        c = http.client.HTTPConnection(self.hostport, timeout=30)
        c.request(verb, path, body=json.dumps(body) if body is not None else None,
                  headers={"Content-Type": "application/json"})
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, data

    def ctl(self, verb, path, body=None):
        status, data = self.http(verb, path, body)
        return status, json.loads(data)

    def state(self):
        return self.ctl("GET", "/sim/state")[1]

    def vm(self, name):
        return [v for v in self.state()["vms"] if v["name"] == name and not v["is_a_snapshot"]][0]


def wait_for(pred, timeout=15.0, step=0.1):
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


class Base(unittest.TestCase):
    scenario = "demo"
    extra = ()

    @classmethod
    def setUpClass(cls):
        cls.sim = SimProc(cls.scenario, *cls.extra)
        cls.s = cls.sim.login()

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()

    def vdis(self):
        return self.sim.ok("VDI.get_all_records", self.s)

    def vm_ref(self, name):
        return self.sim.ok("VM.get_by_uuid", self.s, self.sim.vm(name)["uuid"])


# ---------------------------------------------------------------------------

class WireTest(Base):
    scenario = "demo"

    def test_login_envelope_bytes(self):
        b = self.sim.raw("session.login_with_password", USER, PWD)
        self.assertRegex(b, rb'^<\?xml version="1.0"\?><methodResponse><params><param><value><struct>'
                            rb'<member><name>Status</name><value>Success</value></member>'
                            rb'<member><name>Value</name><value>OpaqueRef:[0-9a-f-]{36}</value>'
                            rb'</member></struct></value></param></params></methodResponse>$')

    def test_record_encoding(self):
        b = self.sim.raw("VDI.get_all_records", self.s)
        self.assertNotIn(b"<string>", b)
        self.assertNotIn(b"<int>", b)
        self.assertNotIn(b"<i8>", b)
        self.assertIsNone(re.search(rb">\s+<", b), "whitespace between tags")
        self.assertIn(b"<boolean>1</boolean>", b)
        self.assertIn(b"<boolean>0</boolean>", b)
        self.assertRegex(b, rb"<name>virtual_size</name><value>\d+</value>")
        dates = re.findall(rb"<dateTime.iso8601>([^<]*)</dateTime.iso8601>", b)
        self.assertTrue(dates)
        for d in dates:
            self.assertRegex(d, rb"^\d{8}T\d\d:\d\d:\d\dZ$")
        self.assertIn(b"<dateTime.iso8601>19700101T00:00:00Z</dateTime.iso8601>", b)
        self.assertIn(b"<name>VBDs</name><value><array><data>", b)
        self.assertIn(b"<name>current_operations</name><value><struct></struct></value>", b)
        self.assertIn(b"<name>vhd-parent</name>", b)

    def test_void_and_double(self):
        s = self.sim.login()
        self.assertIn(b"<member><name>Value</name><value></value></member>",
                      self.sim.raw("session.logout", s))
        b = self.sim.raw("VM.get_HVM_shadow_multiplier", self.s, self.vm_ref("web01"))
        self.assertIn(b"<value><double>1</double></value>", b)

    def test_escaping_and_unescaped_member_names(self):
        ref = self.vm_ref("web02")
        self.sim.ok("VM.add_to_other_config", self.s, ref, "k&y", 'a<b>"c"&d')
        b = self.sim.raw("VM.get_other_config", self.s, ref)
        self.assertIn(b"<name>k&y</name><value>a&lt;b&gt;&quot;c&quot;&amp;d</value>", b)
        self.sim.ok("VM.remove_from_other_config", self.s, ref, "k&y")
        # control bytes cannot travel in a request; check the encoder directly
        sys.path.insert(0, HERE)
        import xapi_sim
        self.assertEqual(xapi_sim.enc("a\x01b\tc\x1f"), "<value>ab\tc</value>")
        self.assertEqual(xapi_sim.enc(1.0), "<value><double>1</double></value>")
        self.assertEqual(xapi_sim.enc(0.1), "<value><double>0.1</double></value>")

    def test_bare_string_params_and_text_ints(self):
        # a client that sends bare <value>text</value> (no <string>)
        body = ('<?xml version="1.0"?><methodCall><methodName>session.login_with_password'
                '</methodName><params><param><value>root</value></param><param><value>'
                'chaintop-demo</value></param></params></methodCall>')
        c = http.client.HTTPConnection(self.sim.hostport)
        c.request("POST", "/RPC2", body, {"Content-Type": "text/xml"})
        r = c.getresponse()
        self.assertEqual(r.status, 200)
        self.assertIn(b"Success", r.read())
        # the timeout as text instead of <double>
        tok = self.sim.ok("event.from", self.s, ["pool"], "", 0.0)["token"]
        body = ('<?xml version="1.0"?><methodCall><methodName>event.from</methodName><params>'
                '<param><value>%s</value></param><param><value><array><data><value>pool</value>'
                '</data></array></value></param><param><value>%s</value></param>'
                '<param><value>0.1</value></param></params></methodCall>' % (self.s, tok))
        c.request("POST", "/", body, {"Content-Type": "text/xml"})
        r = c.getresponse()
        self.assertIn(b"<name>token</name>", r.read())
        c.close()

    def test_keepalive_and_content_length(self):
        c = http.client.HTTPConnection(self.sim.hostport)
        for _ in range(3):
            c.request("POST", "/", xmlrpc.client.dumps((self.s,), "pool.get_all"),
                      {"Content-Type": "text/xml"})
            r = c.getresponse()
            self.assertEqual(r.getheader("content-type"), "text/xml")
            self.assertIsNotNone(r.getheader("Content-Length"))
            r.read()
        c.close()

    def test_malformed_xml_is_http_500_html(self):
        c = http.client.HTTPConnection(self.sim.hostport)
        c.request("POST", "/", "<methodCall><oops", {"Content-Type": "text/xml"})
        r = c.getresponse()
        self.assertEqual(r.status, 500)
        self.assertIn(b"<html>", r.read())

    def test_all_fields_and_getters(self):
        recs = self.sim.ok("VM.get_all_records", self.s)
        rec = next(iter(recs.values()))
        for f in ("uuid", "name_label", "power_state", "is_a_template", "is_a_snapshot",
                  "snapshot_of", "snapshots", "snapshot_time", "VBDs", "blocked_operations",
                  "HVM_boot_policy", "NVRAM", "domain_type", "pending_guidances"):
            self.assertIn(f, rec)
        ref = self.vm_ref("web01")
        self.assertEqual(self.sim.ok("VM.get_name_label", self.s, ref), "web01")
        self.assertEqual(self.sim.ok("VM.get_record", self.s, ref)["name_label"], "web01")

    def test_get_all_records_where(self):
        r = self.sim.ok("VM.get_all_records_where", self.s,
                        'field "is_a_template" = "true" and field "is_a_snapshot" = "false"')
        self.assertTrue(r)
        self.assertTrue(all(v["is_a_template"] and not v["is_a_snapshot"] for v in r.values()))
        r = self.sim.ok("VM.get_all_records_where", self.s,
                        '(field "name__label" = "web01" or field "name_label" = "web02") and not false')
        self.assertEqual(sorted(v["name_label"] for v in r.values()), ["web01", "web02"])
        self.assertEqual(self.sim.ok("VM.get_all_records_where", self.s, "false"), {})

    def test_error_codes(self):
        e = self.sim.err("session.login_with_password", USER, "wrong")
        self.assertEqual(e[0], "SESSION_AUTHENTICATION_FAILED")
        self.assertEqual(self.sim.err("VM.get_all_records", "OpaqueRef:bogus"),
                         ["SESSION_INVALID", "OpaqueRef:bogus"])
        s2 = self.sim.login()
        self.sim.ok("session.logout", s2)
        self.assertEqual(self.sim.err("VM.get_all", s2)[0], "SESSION_INVALID")
        self.assertEqual(self.sim.err("session.logout", s2), ["SESSION_INVALID", s2])
        self.assertEqual(self.sim.err("VM.get_record", self.s, "OpaqueRef:nope"),
                         ["HANDLE_INVALID", "VM", "OpaqueRef:nope"])
        self.assertEqual(self.sim.err("VM.get_by_uuid", self.s, "nope"),
                         ["UUID_INVALID", "VM", "nope"])
        self.assertEqual(self.sim.err("VM.frobnicate", self.s), ["MESSAGE_METHOD_UNKNOWN", "VM.frobnicate"])
        self.assertEqual(self.sim.err("VM.get_record", self.s),
                         ["MESSAGE_PARAMETER_COUNT_MISMATCH", "VM.get_record", "2", "1"])
        e = self.sim.err("VM.destroy", self.s, self.vm_ref("web03"))
        self.assertEqual(e[0], "VM_BAD_POWER_STATE")
        self.assertEqual(e[2:], ["halted, suspended", "running"])
        dom0 = next(r for r, v in self.sim.ok("VM.get_all_records", self.s).items()
                    if v["is_control_domain"])
        self.assertEqual(self.sim.err("VM.snapshot", self.s, dom0, "x"),
                         ["OPERATION_NOT_ALLOWED", "Operations on domain 0 are not allowed"])
        tpl = next(r for r, v in self.sim.ok("VM.get_all_records", self.s).items()
                   if v["is_default_template"])
        self.assertEqual(self.sim.err("VM.destroy", self.s, tpl), ["VM_IS_TEMPLATE", tpl, "destroy"])
        ref = self.vm_ref("web03")
        self.sim.ok("VM.add_to_other_config", self.s, ref, "x", "1")
        self.assertEqual(self.sim.err("VM.add_to_other_config", self.s, ref, "x", "2")[0],
                         "MAP_DUPLICATE_KEY")
        self.sim.ok("VM.remove_from_other_config", self.s, ref, "x")
        self.sim.ok("VM.remove_from_other_config", self.s, ref, "x")   # never fails

    def test_vdi_destroy_refusals(self):
        vdis = self.vdis()
        base = next(r for r, v in vdis.items() if not v["managed"])
        self.assertEqual(self.sim.err("VDI.destroy", self.s, base), ["VDI_NOT_MANAGED", base])
        srs = self.sim.ok("SR.get_all_records", self.s)
        iso = next(r for r, v in vdis.items() if srs[v["SR"]]["type"] == "iso")
        self.assertEqual(self.sim.err("VDI.destroy", self.s, iso),
                         ["SR_OPERATION_NOT_SUPPORTED", vdis[iso]["SR"]])
        vbds = self.sim.ok("VBD.get_all_records", self.s)
        used = next(v["VDI"] for v in vbds.values() if v["currently_attached"] and v["type"] == "Disk")
        self.assertEqual(self.sim.err("VDI.destroy", self.s, used), ["VDI_IN_USE", used, "destroy"])

    def test_templates_and_control_domains(self):
        vms = self.sim.ok("VM.get_all_records", self.s).values()
        self.assertEqual(sum(1 for v in vms if v["is_control_domain"]), 2)
        self.assertTrue(any(v["is_a_template"] and not v["is_a_snapshot"] for v in vms))
        pool = next(iter(self.sim.ok("pool.get_all_records", self.s).values()))
        self.assertEqual(pool["name_label"], "prod-pool")
        self.assertEqual(self.sim.ok("session.get_this_host", self.s, self.s), pool["master"])

    def test_messages(self):
        msgs = self.sim.ok("message.get_all_records", self.s)
        self.assertTrue(msgs)
        since = self.sim.ok("message.get_since", self.s, xmlrpc.client.DateTime(time.gmtime(time.time() - 7200)))
        self.assertTrue(all(m["timestamp"].value >= time.strftime("%Y%m%dT%H", time.gmtime(time.time() - 7300))
                            for m in since.values()))
        self.assertLess(len(since), len(msgs))

    def test_request_limits(self):
        c = http.client.HTTPConnection(self.sim.hostport)
        big = xmlrpc.client.dumps((self.s, "x" * (301 * 1024)), "VM.get_by_uuid")
        c.request("POST", "/", big, {"Content-Type": "text/xml"})
        r = c.getresponse()
        self.assertEqual(r.status, 413)
        r.read()
        c.close()
        c = http.client.HTTPConnection(self.sim.hostport)
        c.request("POST", "/", '<?xml version="1.0"?><methodCall><methodName>pool.get_all'
                  '</methodName></methodCall>', {"Content-Type": "text/xml"})
        r = c.getresponse()
        self.assertEqual(r.status, 500)
        self.assertIn(b"<html>", r.read())
        c.close()

    def test_async_destroy_calls(self):
        vm = self.vm_ref("web04")
        snap = self.sim.ok("VM.snapshot", self.s, vm, "to delete")
        vdis = [self.sim.ok("VBD.get_VDI", self.s, b) for b in self.sim.ok("VM.get_VBDs", self.s, snap)]
        vdis = [v for v in vdis if v != "OpaqueRef:NULL"]
        for method, arg in [("Async.VM.destroy", snap)] + [("Async.VDI.destroy", v) for v in vdis]:
            task = self.sim.ok(method, self.s, arg)
            rec = wait_for(lambda: (lambda t: t if t["status"] != "pending" else None)(
                self.sim.ok("task.get_record", self.s, task)), 5, 0.05)
            self.assertEqual((method, rec["status"]), (method, "success"))
            self.assertIn(rec["result"], ("", "<value></value>"))
        self.assertEqual(self.sim.err("VM.get_record", self.s, snap)[0], "HANDLE_INVALID")

    def test_misc_calls(self):
        host = self.sim.ok("host.get_all", self.s)[0]
        b = self.sim.raw("host.get_servertime", self.s, host)
        self.assertRegex(b, rb"<value><dateTime.iso8601>\d{8}T\d\d:\d\d:\d\dZ</dateTime.iso8601></value>")
        sr = self.sim.ok("SR.get_by_name_label", self.s, "nfs-vmstore")[0]
        self.sim.ok("SR.scan", self.s, sr)
        t = self.sim.ok("task.create", self.s, "my export", "")
        self.assertEqual(self.sim.ok("task.get_status", self.s, t), "pending")
        self.sim.ok("task.destroy", self.s, t)

    def test_system_list_methods_unwrapped(self):
        b = self.sim.raw("system.listMethods")
        self.assertNotIn(b"Status", b)
        self.assertIn(b"<value>VM.snapshot</value>", b)


class EventTest(Base):
    scenario = "coalescing"
    extra = ("--gc-speed", "0.01")        # GC effectively idle

    def test_token_empty_returns_everything_as_add(self):
        r = self.sim.ok("event.from", self.s, ["*"], "", 1.0)
        self.assertRegex(r["token"], r"^\d{20},\d{20}$")
        ops = {e["operation"] for e in r["events"]}
        self.assertEqual(ops, {"add"})
        classes = {e["class"] for e in r["events"]}
        self.assertTrue({"vm", "vdi", "sr", "vbd", "pbd", "pool", "host"} <= classes)
        self.assertEqual(len([e for e in r["events"] if e["class"] == "vdi"]),
                         r["valid_ref_counts"]["vdi"])
        for e in r["events"]:
            self.assertEqual(e["timestamp"], "0.0")
            self.assertIn("snapshot", e)

    def test_valid_ref_counts_are_i4(self):
        b = self.sim.raw("event.from", self.s, ["vm"], "", 0.0)
        m = re.search(rb"<name>valid_ref_counts</name><value><struct>(.*?)</struct>", b)
        self.assertTrue(m)
        for name in (b"vm", b"vdi", b"sr", b"vbd", b"pbd", b"task", b"pool", b"host"):
            self.assertRegex(m.group(1), rb"<member><name>" + name + rb"</name><value><i4>\d+</i4></value></member>")

    def test_timeout_round_trip_and_filters(self):
        tok = self.sim.ok("event.from", self.s, ["vm"], "", 0.0)["token"]
        t = time.time()
        r = self.sim.ok("event.from", self.s, ["vm"], tok, 0.6)
        self.assertGreaterEqual(time.time() - t, 0.5)
        self.assertEqual(r["events"], [])
        self.assertRegex(r["token"], r"^\d{20},\d{20}$")
        # inject wakes a blocked event.from, and class/ref filtering works
        vm = self.vm_ref("healthy-vm")
        other = self.vm_ref("lvm-vm")
        res = {}

        def waiter():
            res["r"] = self.sim.ok("event.from", self.s, ["VM/" + vm], r["token"], 10.0)
        th = threading.Thread(target=waiter)
        th.start()
        time.sleep(0.3)
        self.sim.ok("event.inject", self.s, "VM", other)
        t = time.time()
        tok2 = self.sim.ok("event.inject", self.s, "vm", vm)
        th.join(10)
        self.assertLess(time.time() - t, 5)
        self.assertRegex(tok2, r"^\d{20},\d{20}$")
        evs = res["r"]["events"]
        self.assertEqual([(e["class"], e["operation"], e["ref"]) for e in evs], [("vm", "mod", vm)])
        self.assertEqual(evs[0]["snapshot"]["name_label"], "healthy-vm")

    def test_inject_token_sees_the_touch(self):
        pool = self.sim.ok("pool.get_all", self.s)[0]
        tok = self.sim.ok("event.inject", self.s, "pool", pool)
        r = self.sim.ok("event.from", self.s, ["pool"], tok, 2.0)
        self.assertEqual([(e["class"], e["operation"], e["ref"]) for e in r["events"]],
                         [("pool", "mod", pool)])

    def test_bad_token_and_subscription(self):
        self.assertEqual(self.sim.err("event.from", self.s, ["*"], "garbage", 0.0),
                         ["EVENT_FROM_TOKEN_PARSE_FAILURE", "garbage"])
        self.assertEqual(self.sim.err("event.from", self.s, ["nosuchclass"], "", 0.0)[0],
                         "EVENT_SUBSCRIPTION_PARSE_FAILURE")

    def test_event_from_does_not_block_others(self):
        tok = self.sim.ok("event.from", self.s, ["pool"], "", 0.0)["token"]
        ths = [threading.Thread(target=self.sim.call, args=("event.from", self.s, ["pool"], tok, 3.0))
               for _ in range(4)]
        for th in ths:
            th.start()
        t = time.time()
        self.sim.ok("pool.get_all_records", self.s)
        self.assertLess(time.time() - t, 2.5)  # the waiters block for 3 s
        for th in ths:
            th.join()

    def test_snapshot_restructures_chain_and_del_events(self):
        st = self.sim.vm("lvm-vm")
        disk = st["disks"][0]
        self.assertEqual(disk["depth"], 1)
        tok = self.sim.ok("event.from", self.s, ["*"], "", 0.0)["token"]
        vm = self.vm_ref("lvm-vm")
        snap = self.sim.ok("VM.snapshot", self.s, vm, "lvm-vm test")
        srec = self.sim.ok("VM.get_record", self.s, snap)
        self.assertTrue(srec["is_a_snapshot"] and srec["is_a_template"])
        self.assertEqual(srec["snapshot_of"], vm)
        self.assertEqual(srec["power_state"], "Halted")
        self.assertIn(snap, self.sim.ok("VM.get_snapshots", self.s, vm))
        vdis = self.vdis()
        leaf_ref = disk["ref"]
        leaf = vdis[leaf_ref]
        base_uuid = leaf["sm_config"]["vhd-parent"]
        base_ref, base = next((r, v) for r, v in vdis.items() if v["uuid"] == base_uuid)
        self.assertEqual(leaf["uuid"], disk["uuid"])          # V keeps uuid and ref
        self.assertFalse(base["managed"])
        self.assertTrue(base["read_only"])
        self.assertEqual(base["name_label"], "base copy")
        self.assertNotIn("vhd-parent", base["sm_config"])
        kids = [r for r, v in vdis.items() if v["sm_config"].get("vhd-parent") == base_uuid]
        self.assertEqual(len(kids), 2)
        snapvdi = [k for k in kids if k != leaf_ref][0]
        self.assertTrue(vdis[snapvdi]["is_a_snapshot"])
        self.assertEqual(vdis[snapvdi]["snapshot_of"], leaf_ref)
        self.assertIn(snapvdi, leaf["snapshots"])
        vbds = self.sim.ok("VM.get_VBDs", self.s, snap)
        self.assertIn(snapvdi, [self.sim.ok("VBD.get_VDI", self.s, b) for b in vbds])
        # thick SR: base copy keeps its full size
        self.assertEqual(base["physical_utilisation"], base["virtual_size"])
        r = self.sim.ok("event.from", self.s, ["*"], tok, 1.0)
        refs = [e["ref"] for e in r["events"] if e["class"] != "message"]
        self.assertEqual(len(refs), len(set(refs)), "one event per object")
        self.assertEqual([e["operation"] for e in r["events"] if e["ref"] == snap], ["add"])
        self.assertEqual(self.sim.ok("VM.get_parent", self.s, vm), snap)   # lineage
        got = {(e["class"], e["operation"]) for e in r["events"]}
        self.assertTrue({("vm", "add"), ("vdi", "add"), ("vdi", "mod"), ("vbd", "add"), ("sr", "mod")} <= got)
        # destroy the snapshot VM: VBDs deleted, VDIs kept; del events carry no snapshot
        tok = r["token"]
        self.sim.ok("VM.destroy", self.s, snap)
        self.assertIn(snapvdi, self.vdis())
        raw = self.sim.raw("event.from", self.s, ["vm", "vbd"], tok, 1.0)
        dels = re.findall(rb"<value><struct><member><name>id</name>((?:(?!</struct></value>).)*?)"
                          rb"<member><name>operation</name><value>del</value></member>"
                          rb"<member><name>ref</name><value>[^<]*</value></member></struct></value>", raw)
        self.assertGreaterEqual(len(dels), 2)
        parsed = xmlrpc.client.loads(raw)[0][0]["Value"]["events"]
        for e in parsed:
            if e["operation"] == "del":
                self.assertNotIn("snapshot", e)
        self.sim.ok("VDI.destroy", self.s, snapvdi)
        self.assertNotIn(snapvdi, self.vdis())

    def test_async_snapshot_task(self):
        vm = self.vm_ref("healthy-vm")
        task = self.sim.ok("Async.VM.snapshot", self.s, vm, "async snap")
        self.assertTrue(task.startswith("OpaqueRef:"))
        progress = []

        def done():
            rec = self.sim.ok("task.get_record", self.s, task)
            progress.append(rec["progress"])
            return rec if rec["status"] != "pending" else None
        rec = wait_for(done, 10, 0.05)
        self.assertEqual(rec["status"], "success")
        self.assertRegex(rec["result"], r"^<value>OpaqueRef:[0-9a-f-]{36}</value>$")
        self.assertTrue(any(0 < p < 1 for p in progress))
        raw = self.sim.raw("task.get_record", self.s, task)
        self.assertIn(b"<name>result</name><value>&lt;value&gt;OpaqueRef:", raw)
        snap = rec["result"][7:-8]
        self.assertTrue(self.sim.ok("VM.get_is_a_snapshot", self.s, snap))
        self.sim.ok("task.destroy", self.s, task)
        self.assertEqual(self.sim.err("task.get_record", self.s, task)[0], "HANDLE_INVALID")

    def test_async_snapshot_marks_the_vm(self):
        vm = self.vm_ref("leafpending-vm")
        self.sim.ctl("POST", "/sim/vm/power?vm=leafpending-vm&state=Halted")
        task = self.sim.ok("Async.VM.snapshot", self.s, vm, "busy")
        ops = self.sim.ok("VM.get_current_operations", self.s, vm)
        self.assertEqual(ops, {task: "snapshot"})
        # destroy cannot run alongside a snapshot; another snapshot can
        self.assertEqual(self.sim.err("VM.destroy", self.s, vm),
                         ["OTHER_OPERATION_IN_PROGRESS", "VM.snapshot", vm])
        self.sim.ok("VM.snapshot", self.s, vm, "alongside")
        wait_for(lambda: self.sim.ok("task.get_status", self.s, task) != "pending", 5, 0.05)
        self.assertEqual(self.sim.ok("task.get_status", self.s, task), "success")
        self.assertEqual(self.sim.ok("VM.get_current_operations", self.s, vm), {})
        self.sim.ctl("POST", "/sim/vm/power?vm=leafpending-vm&state=Running")


    def test_async_snapshot_cancel(self):
        vm = self.vm_ref("healthy-vm")
        before = len(self.sim.ok("VM.get_snapshots", self.s, vm))
        task = self.sim.ok("Async.VM.snapshot", self.s, vm, "cancel me")
        self.sim.ok("task.cancel", self.s, task)
        rec = wait_for(lambda: (lambda t: t if t["status"] not in ("pending", "cancelling") else None)(
            self.sim.ok("task.get_record", self.s, task)), 5, 0.05)
        self.assertEqual(rec["status"], "cancelled")
        self.assertEqual(len(self.sim.ok("VM.get_snapshots", self.s, vm)), before)
        self.assertEqual(self.sim.err("task.cancel", self.s, task)[0], "OPERATION_NOT_ALLOWED")


class GCTest(Base):
    scenario = "coalescing"
    extra = ("--gc-speed", "40")

    def test_gc_coalesces_with_progress_task(self):
        st = self.sim.state()
        # structure at start may already be changing; read it from the DB instead
        tok = self.sim.ok("event.from", self.s, ["task"], "", 0.0)["token"]
        seen = {}
        paused_seen = [False]
        deadline = time.time() + 25
        while time.time() < deadline:
            r = self.sim.ok("event.from", self.s, ["task", "vdi"], tok, 1.0)
            tok = r["token"]
            for e in r["events"]:
                if e["class"] == "task" and e["operation"] != "del" and \
                        e["snapshot"]["name_label"] == "Garbage Collection":
                    seen.setdefault(e["ref"], []).append(e["snapshot"])
                if e["class"] == "vdi" and e["operation"] != "del" and \
                        e["snapshot"]["sm_config"].get("paused") == "true":
                    paused_seen[0] = True
            vm = self.sim.vm("stacked-vm")
            lp = self.sim.vm("leafpending-vm")
            if vm["disks"][0]["depth"] == 1 and lp["disks"][0]["depth"] == 1 and \
                    any(s[-1]["status"] == "success" for s in seen.values()):
                break
        self.assertEqual(self.sim.vm("stacked-vm")["disks"][0]["depth"], 1)
        self.assertEqual(self.sim.vm("leafpending-vm")["disks"][0]["depth"], 1)
        self.assertEqual(self.sim.vm("healthy-vm")["disks"][0]["depth"], 2)   # not coalescable
        self.assertTrue(seen, "no Garbage Collection task seen")
        recs = [r for rs in seen.values() for r in rs]
        nfs = [s for s in st["srs"] if s["name"] == "nfs-01"][0]
        self.assertTrue(all(r["other_config"]["applies_to"] == nfs["ref"] for r in recs))
        self.assertTrue(all(r["name_description"] == "Garbage collection for SR " + nfs["uuid"]
                            for r in recs))
        self.assertTrue(any(0 < r["progress"] < 1 and r["status"] == "pending" for r in recs))
        self.assertTrue(any(r["status"] == "success" for r in recs))
        self.assertTrue(paused_seen[0], "leaf-coalesce never set sm_config paused")
        # leaf kept its uuid
        self.assertEqual(self.sim.vm("leafpending-vm")["disks"][0]["uuid"],
                         [v for v in st["vms"] if v["name"] == "leafpending-vm"][0]["disks"][0]["uuid"])

    def test_gc_pause_resume_control(self):
        self.assertEqual(self.sim.ctl("POST", "/sim/gc/pause?sr=nfs-01")[0], 200)
        st = self.sim.state()
        self.assertTrue([s for s in st["srs"] if s["name"] == "nfs-01"][0]["gc"]["paused"])
        self.assertEqual(self.sim.ctl("POST", "/sim/gc/resume?sr=nfs-01")[0], 200)
        self.assertEqual(self.sim.ctl("POST", "/sim/gc/speed?f=40")[1]["gc_speed"], 40.0)


class NoSpaceTest(Base):
    scenario = "coalescing"
    extra = ("--gc-speed", "20")

    def test_gc_stops_on_full_sr_then_resumes(self):
        self.assertEqual(self.sim.ctl("POST", "/sim/sr/free?sr=nfs-01&bytes=0")[0], 200)

        def msg():
            return [m for m in self.sim.ok("message.get_all_records", self.s).values()
                    if m["name"] == "SM_GC_NO_SPACE"]
        msgs = wait_for(msg, 15, 0.2)
        self.assertTrue(msgs)
        self.assertEqual(msgs[0]["priority"], "3")     # ints travel as bare text
        self.assertEqual(msgs[0]["cls"], "SR")
        sr = self.sim.ok("SR.get_by_name_label", self.s, "nfs-01")[0]
        self.assertIn("gc_no_space", self.sim.ok("SR.get_sm_config", self.s, sr))
        self.assertEqual(msgs[0]["obj_uuid"], self.sim.ok("SR.get_uuid", self.s, sr))
        self.sim.ctl("POST", "/sim/sr/free?sr=nfs-01&bytes=%d" % (1 << 40))
        self.assertTrue(wait_for(lambda: self.sim.vm("stacked-vm")["disks"][0]["depth"] == 1
                                 and self.sim.vm("leafpending-vm")["disks"][0]["depth"] == 1, 20, 0.2))
        # everything fitted: SM destroys the message and leaves the SR's key behind
        self.assertTrue(wait_for(lambda: not msg(), 10, 0.2))
        self.assertIn("gc_no_space", self.sim.ok("SR.get_sm_config", self.s, sr))
        self.assertFalse([v for v in self.vdis().values() if "gc_no_space" in v["sm_config"]])


def gc_tasks(sim, s):
    return [t for t in sim.ok("task.get_all_records", s).values()
            if t["name_label"] == "Garbage Collection"]


class GCFaultTest(Base):
    """SM faults injected on nfs-01's GC (it starts frozen: --gc-speed 0)."""
    scenario = "coalescing"
    extra = ("--gc-speed", "0", "--task-gc", "2")

    def test_unpause_failure_and_coalesce_error(self):
        sim, s = self.sim, self.s
        self.assertEqual(sim.ctl("POST", "/sim/fault", {"kind": "unpause", "sr": "nfs-01"})[0], 200)
        self.assertEqual(sim.ctl("POST", "/sim/fault", {"kind": "coalesce_error", "sr": "nfs-01",
                                                        "errno": "EIO"})[0], 200)
        tok = sim.ok("event.from", s, ["task"], "", 0.0)["token"]
        sim.ctl("POST", "/sim/gc/speed?f=40")

        def named(n):
            return [m for m in sim.ok("message.get_all_records", s).values() if m["name"] == n]
        io = wait_for(lambda: named("Input/output error"), 20, 0.2)
        self.assertEqual(len(io), 1)
        self.assertEqual((io[0]["priority"], io[0]["cls"], io[0]["body"]),
                         ("3", "SR", "I/O error while coalescing."))
        sr = sim.ok("SR.get_by_name_label", s, "nfs-01")[0]
        last = int(sim.ok("SR.get_sm_config", s, sr)["last-coalesce-error"])
        self.assertLess(abs(last - time.time()), 60)
        up = wait_for(lambda: named("failed to unpause tapdisk"), 30, 0.2)
        self.assertEqual((up[0]["priority"], up[0]["cls"]), ("4", "SR"))
        self.assertEqual(up[0]["obj_uuid"], sim.ok("SR.get_uuid", s, sr))
        m = re.match(r"^Failed to unpause tapdisk for VDI ([0-9a-f-]{36}), VMs using this "
                     r"tapdisk have lost access to the corresponding disk\(s\)$", up[0]["body"])
        self.assertTrue(m, up[0]["body"])
        vdi = sim.ok("VDI.get_by_uuid", s, m.group(1))
        self.assertEqual(sim.ok("VDI.get_sm_config", s, vdi).get("paused"), "true")
        # a second error within the hour: no second message (coalesce-error-rate)
        sim.ctl("POST", "/sim/fault", {"kind": "coalesce_error", "sr": "nfs-01", "errno": "EIO"})
        # the run ends: status set, finished left at the epoch, then xapi's task GC
        ended = []
        deadline = time.time() + 30
        while time.time() < deadline and not ended:
            r = sim.ok("event.from", s, ["task"], tok, 1.0)
            tok = r["token"]
            ended += [e["snapshot"] for e in r["events"] if e["operation"] == "mod" and
                      e["snapshot"]["name_label"] == "Garbage Collection" and
                      e["snapshot"]["status"] != "pending"]
        self.assertTrue(ended)
        self.assertEqual(ended[0]["finished"], "19700101T00:00:00Z")
        self.assertTrue(wait_for(lambda: not [t for t in gc_tasks(sim, s) if t["status"] != "pending"],
                                 15, 0.2))
        self.assertEqual(len(named("Input/output error")), 1)


class GCExclusionTest(Base):
    """Work SM never does is left alone; CBT logs do not count as children."""
    scenario = "coalescing"
    extra = ("--gc-speed", "0")

    def test_reset_leaf_and_cbt_log(self):
        sim, s = self.sim, self.s
        lp = sim.vm("leafpending-vm")["disks"][0]
        self.assertEqual(sim.ctl("POST", "/sim/set", {"class": "VDI", "uuid": lp["uuid"],
                                                      "field": "on_boot", "value": "reset"})[0], 200)
        # healthy-vm's base copy has its leaf and a snapshot: make the snapshot a CBT log
        snap = [v for v in sim.state()["vms"] if v["is_a_snapshot"] and
                v["snapshot_of"] == sim.vm("healthy-vm")["ref"]]
        hv = sim.vm("healthy-vm")["disks"][0]
        if snap:
            cbt = snap[0]["disks"][0]["uuid"]
        else:
            base = hv["chain"][1]
            cbt = [v["uuid"] for v in self.vdis().values()
                   if v["sm_config"].get("vhd-parent") == base and v["uuid"] != hv["uuid"]][0]
        sim.ctl("POST", "/sim/set", {"class": "VDI", "uuid": cbt, "field": "type",
                                     "value": "cbt_metadata"})
        sim.ctl("POST", "/sim/gc/speed?f=40")
        self.assertTrue(wait_for(lambda: sim.vm("stacked-vm")["disks"][0]["depth"] == 1 and
                                 sim.vm("healthy-vm")["disks"][0]["depth"] == 1, 30, 0.2))
        time.sleep(1)
        self.assertEqual(sim.vm("leafpending-vm")["disks"][0]["depth"], 2)


class TLSTest(unittest.TestCase):
    def test_https(self):
        import shutil
        import ssl
        import tempfile
        if not shutil.which("openssl"):
            self.skipTest("no openssl binary to make a certificate")
        d = tempfile.mkdtemp()
        cert, key = os.path.join(d, "c.pem"), os.path.join(d, "k.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                        "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1"],
                       check=True, capture_output=True)
        p = subprocess.Popen([sys.executable, SIM, "--port", "0", "--scenario", "coalescing",
                              "--tls", cert, key], stdout=subprocess.PIPE, text=True)
        try:
            line = p.stdout.readline().strip()
            self.assertTrue(line.startswith("ready https://127.0.0.1:"), line)
            ctx = ssl.create_default_context(cafile=cert)
            ctx.check_hostname = False
            x = xmlrpc.client.ServerProxy(line.split()[1], context=ctx)
            r = x.session.login_with_password(USER, PWD)
            self.assertEqual(r["Status"], "Success")
        finally:
            p.terminate()
            self.assertEqual(p.wait(10), 0)
            shutil.rmtree(d)


class XmlRpcShapesTest(Base):
    scenario = "coalescing"

    def post(self, path, body, ctype="text/xml"):
        c = http.client.HTTPConnection(self.sim.hostport, timeout=30)
        c.request("POST", path, body, {"Content-Type": ctype})
        r = c.getresponse()
        return r.status, r.getheader("content-type"), r.read()

    def test_any_valid_params_shape(self):
        # empty params as Xen Orchestra's xen-api client writes them, and the other
        # spellings xapi's parser accepts: <params/>, <params />, whitespace inside
        for params in ("<params/>", "<params />", "<params>\n  </params>"):
            body = ('<?xml version="1.0"?>\n<methodCall>\n <methodName>system.listMethods'
                    '</methodName>\n %s\n</methodCall>\n' % params)
            st, ctype, data = self.post("/xmlrpc", body)
            self.assertEqual(st, 200, params)
            self.assertIn("session.login_with_password", xmlrpc.client.loads(data)[0][0])
        st, _, data = self.post("/", "<methodCall><methodName>session.login_with_password</methodName>"
                                "<params><param><value>root</value></param><param><value><string>"
                                "chaintop-demo</string></value></param></params></methodCall>")
        self.assertEqual(xmlrpc.client.loads(data)[0][0]["Status"], "Success")

    def test_jsonrpc_answered_as_a_host_without_it(self):
        st, ctype, data = self.post("/jsonrpc", json.dumps({"jsonrpc": "2.0", "id": 0,
                                                            "method": "session.login_with_password",
                                                            "params": [USER, PWD]}),
                                    "application/json")
        self.assertEqual((st, ctype), (200, "text/xml"))
        self.assertEqual(xmlrpc.client.loads(data)[0][0]["Status"], "Failure")

    def test_vm_snapshotted_message(self):
        vm = self.vm_ref("busy-vm") if any(v["name"] == "busy-vm" for v in self.sim.state()["vms"]) \
            else self.sim.ok("VM.get_by_uuid", self.s, [v for v in self.sim.state()["vms"]
                                                          if not v["is_a_snapshot"] and v["disks"]][0]["uuid"])
        uuid = self.sim.ok("VM.get_uuid", self.s, vm)
        before = self.sim.ok("message.get_all_records", self.s)
        self.sim.ok("VM.snapshot", self.s, vm, "msg check")
        msgs = [m for r, m in self.sim.ok("message.get_all_records", self.s).items()
                if r not in before and m["name"] == "VM_SNAPSHOTTED"]
        self.assertEqual(len(msgs), 1)
        self.assertEqual((msgs[0]["cls"], msgs[0]["obj_uuid"], msgs[0]["priority"]), ("VM", uuid, "5"))

    def test_xxh64_matches_the_specification(self):
        sys.path.insert(0, HERE)
        import xapi_sim
        self.assertEqual(xapi_sim.xxh64(b""), 0xEF46DB3751D8E999)
        self.assertEqual(xapi_sim.xxh64(b"abc"), 0x44BC2CF5AD770999)


class MemberExportTest(unittest.TestCase):
    """--member-tls: a member host with its own listener and certificate; the master
    redirects exports of VMs on its local SR there (export.ml)."""

    @classmethod
    def setUpClass(cls):
        import shutil
        import tempfile
        if not shutil.which("openssl"):
            raise unittest.SkipTest("no openssl binary to make certificates")
        cls.d = tempfile.mkdtemp()
        for n in ("m", "s"):
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                            os.path.join(cls.d, n + ".key"), "-out", os.path.join(cls.d, n + ".crt"),
                            "-days", "2", "-subj", "/CN=%s" % n], check=True, capture_output=True)
        cls.p = subprocess.Popen([sys.executable, SIM, "--port", "0", "--scenario", "backup",
                                  "--gc-speed", "0", "--tls", os.path.join(cls.d, "m.crt"),
                                  os.path.join(cls.d, "m.key"), "--member-tls",
                                  os.path.join(cls.d, "s.crt"), os.path.join(cls.d, "s.key")],
                                 stdout=subprocess.PIPE, text=True)
        cls.url = cls.p.stdout.readline().strip().split()[1]
        import ssl
        cls.ctx = ssl._create_unverified_context()
        cls.x = xmlrpc.client.ServerProxy(cls.url, context=cls.ctx)
        cls.s = cls.x.session.login_with_password(USER, PWD)["Value"]

    @classmethod
    def tearDownClass(cls):
        import shutil
        cls.p.terminate()
        cls.p.wait(10)
        shutil.rmtree(cls.d)

    def v(self, r):
        self.assertEqual(r["Status"], "Success", r)
        return r["Value"]

    def get(self, url):
        import urllib.parse
        import ssl
        u = urllib.parse.urlsplit(url)
        c = http.client.HTTPSConnection(u.hostname, u.port, context=ssl._create_unverified_context())
        c.request("GET", u.path + "?" + u.query)
        r = c.getresponse()
        return r, c

    def test_certificates_match_what_each_host_serves(self):
        import hashlib
        import ssl
        hosts = self.v(self.x.host.get_all_records(self.s))
        certs = self.v(self.x.Certificate.get_all_records(self.s))
        self.assertEqual(len(certs), 2)
        for c in certs.values():
            self.assertEqual(c["type"], "host")
            pem = self.v(self.x.host.get_server_certificate(self.s, c["host"]))
            fp = ":".join("%02X" % b for b in hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).digest())
            self.assertEqual(c["fingerprint_sha256"], fp)
            self.assertEqual(c["fingerprint"], fp)
            self.assertIn(c["host"], hosts)
        member = [h for h in hosts.values() if h["name_label"].endswith("-member")][0]
        host, port = member["address"].rsplit(":", 1)
        served = ssl.get_server_certificate((host, int(port)))
        fp = ":".join("%02X" % b for b in hashlib.sha256(ssl.PEM_cert_to_DER_cert(served)).digest())
        self.assertIn(fp, [c["fingerprint_sha256"] for c in certs.values()])

    def test_member_local_export_is_redirected(self):
        vm = self.v(self.x.VM.get_by_name_label(self.s, "member-vm"))[0]
        task = self.v(self.x.task.create(self.s, "export", ""))
        r, c = self.get("%s/export?ref=%s&session_id=%s&task_id=%s&use_compression=zstd"
                        % (self.url, vm, self.s, task))
        self.assertEqual(r.status, 302)
        loc = r.getheader("Location")
        r.read()
        member = [h for h in self.v(self.x.host.get_all_records(self.s)).values()
                  if h["name_label"].endswith("-member")][0]
        self.assertTrue(loc.startswith("https://%s/export?" % member["address"]), loc)
        for k in ("ref=" + vm, "session_id=" + self.s, "task_id=" + task, "use_compression=zstd"):
            self.assertIn(k, loc)
        # the redirect made no task of its own; the member serves the export under ours
        r, c = self.get(loc)
        self.assertEqual((r.status, r.getheader("task-id")), (200, task))
        self.assertTrue(r.read().startswith(b"\x28\xb5\x2f\xfd"))
        rec = wait_for(lambda: (lambda t: t if t["status"] != "pending" else None)(
            self.v(self.x.task.get_record(self.s, task))), 5)
        self.assertEqual(rec["status"], "success")
        # the member answers XML-RPC with HOST_IS_SLAVE
        y = xmlrpc.client.ServerProxy("https://" + member["address"], context=self.ctx)
        self.assertEqual(y.session.login_with_password(USER, PWD)["ErrorDescription"][0], "HOST_IS_SLAVE")
        # a VM on shared storage is served by the master itself
        halted = self.v(self.x.VM.get_by_name_label(self.s, "halted-vm"))[0]
        r, c = self.get("%s/export?ref=%s&session_id=%s" % (self.url, halted, self.s))
        self.assertEqual(r.status, 200)

    def fault(self, body):
        import json
        import urllib.request
        req = urllib.request.Request(self.url + "/sim/fault", data=json.dumps(body).encode(),
                                     method="POST", headers={"Content-Type": "application/json"})
        urllib.request.urlopen(req, context=self.ctx).read()

    def test_no_certificate_class_and_http_redirect_faults(self):
        # an xapi before Stockholm: no Certificate class, host.get_server_certificate answers
        self.fault({"kind": "no_certificates"})
        try:
            r = self.x.Certificate.get_all(self.s)
            self.assertEqual(r["ErrorDescription"][0], "MESSAGE_METHOD_UNKNOWN")
            host = self.v(self.x.host.get_all(self.s))[0]
            self.assertIn("BEGIN CERTIFICATE", self.v(self.x.host.get_server_certificate(self.s, host)))
            # hostile: the member redirect names http://
            self.fault({"kind": "redirect_http"})
            vm = self.v(self.x.VM.get_by_name_label(self.s, "member-vm"))[0]
            r, c = self.get("%s/export?ref=%s&session_id=%s" % (self.url, vm, self.s))
            self.assertEqual(r.status, 302)
            self.assertTrue(r.getheader("Location").startswith("http://"), r.getheader("Location"))
            r.read()
        finally:
            self.fault({"kind": "clear"})
        self.assertEqual(len(self.v(self.x.Certificate.get_all(self.s))), 2)

    def test_set_is_a_template_reaches_ova_xml(self):
        import io
        import tarfile
        vm = self.v(self.x.VM.get_by_name_label(self.s, "halted-vm"))[0]
        snap = self.v(self.x.VM.snapshot(self.s, vm, "tmpl check"))
        self.assertTrue(self.v(self.x.VM.get_is_a_template(self.s, snap)))
        self.v(self.x.VM.set_is_a_template(self.s, snap, False))
        r, c = self.get("%s/export?ref=%s&session_id=%s" % (self.url, snap, self.s))
        ova = tarfile.open(fileobj=io.BytesIO(r.read())).extractfile("ova.xml").read()
        rec = xmlrpc.client.loads(b"<methodResponse><params><param>" + ova.split(b"?>", 1)[1]
                                  + b"</param></params></methodResponse>")[0][0]
        self.assertIs(rec["objects"][0]["snapshot"]["is_a_template"], False)
        self.assertIs(rec["objects"][0]["snapshot"]["is_a_snapshot"], True)

    def test_xxhash_chunks(self):
        import io
        import tarfile
        sys.path.insert(0, HERE)
        import xapi_sim
        vm = self.v(self.x.VM.get_by_name_label(self.s, "halted-vm"))[0]
        st, _ = 0, None
        c = http.client.HTTPSConnection(self.url.split("//")[1].split(":")[0],
                                        int(self.url.rsplit(":", 1)[1]), context=self.ctx)
        c.request("POST", "/sim/export", json.dumps({"checksum": "xxhash"}))
        self.assertEqual(c.getresponse().status, 200)
        try:
            r, c = self.get("%s/export?ref=%s&session_id=%s" % (self.url, vm, self.s))
            t = tarfile.open(fileobj=io.BytesIO(r.read()))
            chunk = t.extractfile("Ref:2/00000000").read()
            want = t.extractfile("Ref:2/00000000.xxhash").read()
            self.assertEqual(want, b"%016X" % xapi_sim.xxh64(chunk))
        finally:
            c = http.client.HTTPSConnection(self.url.split("//")[1].split(":")[0],
                                            int(self.url.rsplit(":", 1)[1]), context=self.ctx)
            c.request("POST", "/sim/export", json.dumps({"checksum": "sha1"}))
            c.getresponse().read()


class DeepTest(Base):
    scenario = "deep"

    def test_depth_29_then_109(self):
        vm = self.vm_ref("deep-vm")
        self.assertEqual(self.sim.vm("deep-vm")["disks"][0]["depth"], 29)
        self.assertEqual(self.sim.vm("healthy-vm")["disks"][0]["depth"], 2)
        self.sim.ok("VM.snapshot", self.s, vm, "one more")
        self.assertEqual(self.sim.vm("deep-vm")["disks"][0]["depth"], 30)
        self.assertEqual(self.sim.err("VM.snapshot", self.s, vm, "too many"),
                         ["SR_BACKEND_FAILURE_109", "", "The snapshot chain is too long", ""])


class BackupTest(Base):
    scenario = "backup"
    extra = ("--gc-speed", "0.01")

    def test_full_sr_44(self):
        vm = self.vm_ref("bigdisk-vm")
        self.assertEqual(self.sim.err("VM.snapshot", self.s, vm, "nope"),
                         ["SR_BACKEND_FAILURE_44", "", "There is insufficient space", ""])

    def test_task_destroy_of_a_pending_task_only_marks_it(self):
        # xapi_task.ml destroy; db_gc_util.ml timeout_tasks removes it once completed
        t = self.sim.ok("task.create", self.s, "mine", "a task")
        self.sim.ok("task.destroy", self.s, t)
        rec = self.sim.ok("task.get_record", self.s, t)
        self.assertEqual(rec["status"], "pending")
        self.assertIn("destroy", rec["current_operations"].values())
        self.sim.ctl("POST", "/sim/set", {"class": "task", "ref": t, "field": "status",
                                          "value": "failure"})
        gone = wait_for(lambda: self.sim.call("task.get_record", self.s, t)["Status"] == "Failure", 10)
        self.assertTrue(gone)
        # a completed task goes at once
        t = self.sim.ok("task.create", self.s, "mine", "a task")
        self.sim.ctl("POST", "/sim/set", {"class": "task", "ref": t, "field": "status",
                                          "value": "success"})
        self.sim.ok("task.destroy", self.s, t)
        self.assertEqual(self.sim.err("task.get_record", self.s, t)[0], "HANDLE_INVALID")

    def test_stacked_vm_shape(self):
        d = self.sim.vm("stacked-vm")["disks"][0]
        self.assertEqual(d["depth"], 4)

    def test_export_streams_with_task_id(self):
        # a running VM cannot be exported
        st, body = self.sim.http("GET", "/export?ref=%s&session_id=%s" % (self.vm_ref("web01"), self.s))
        self.assertEqual(st, 500)
        self.assertIn(b"VM_BAD_POWER_STATE", body)
        snap = self.sim.ok("VM.snapshot", self.s, self.vm_ref("web01"), "for export")
        c = http.client.HTTPConnection(self.sim.hostport)
        c.request("GET", "/export?ref=%s&session_id=%s&use_compression=false" % (snap, self.s))
        r = c.getresponse()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.version, 10)
        self.assertIsNone(r.getheader("Content-Length"))
        self.assertEqual(r.getheader("content-type"), "application/octet-stream")
        self.assertIn("export.xva", r.getheader("content-disposition"))
        task = r.getheader("task-id")
        data = r.read()
        self.assertGreater(len(data), 1024)
        import io
        import tarfile
        names = tarfile.open(fileobj=io.BytesIO(data)).getnames()
        self.assertEqual(names[0], "ova.xml")
        self.assertIn("Ref:2/00000000.checksum", names)
        # gzip and zstd containers
        import gzip
        for comp, check in (("gzip", lambda b: b[:2] == b"\x1f\x8b"),
                            ("zstd", lambda b: b[:4] == b"\x28\xb5\x2f\xfd")):
            c = http.client.HTTPConnection(self.sim.hostport)
            c.request("GET", "/export?ref=%s&session_id=%s&use_compression=%s" % (snap, self.s, comp))
            body = c.getresponse().read()
            self.assertTrue(check(body), comp)
            if comp == "gzip":
                self.assertEqual(tarfile.open(fileobj=io.BytesIO(gzip.decompress(body))).getnames()[0],
                                 "ova.xml")
        # xapi_http.with_context: called without task_id, the handler's own task is
        # destroyed when it returns (the task-id header names a task already gone)
        self.assertEqual(wait_for(lambda: self.sim.err("task.get_record", self.s, task)[0] ==
                                  "HANDLE_INVALID", 5), True)
        # with task_id: that task is used, completed, and left to its creator
        mine = self.sim.ok("task.create", self.s, "client export", "")
        c = http.client.HTTPConnection(self.sim.hostport)
        c.request("GET", "/export?ref=%s&session_id=%s&task_id=%s" % (snap, self.s, mine))
        r = c.getresponse()
        self.assertEqual(r.getheader("task-id"), mine)
        r.read()
        rec = wait_for(lambda: (lambda t: t if t["status"] != "pending" else None)(
            self.sim.ok("task.get_record", self.s, mine)), 5)
        self.assertEqual(rec["status"], "success")
        self.sim.ok("task.destroy", self.s, mine)
        # basic auth + uuid + a broken export (its own task: failed, then destroyed)
        bad_task = self.sim.ok("task.create", self.s, "client export", "")
        self.assertEqual(self.sim.ctl("POST", "/sim/fault", {"kind": "export_fail"})[0], 200)
        import base64
        uuid = self.sim.ok("VM.get_uuid", self.s, snap)
        c = http.client.HTTPConnection(self.sim.hostport)
        c.request("GET", "/export?uuid=%s&use_compression=zstd&task_id=%s" % (uuid, bad_task), headers={
            "Authorization": "Basic " + base64.b64encode(b"root:chaintop-demo").decode()})
        r = c.getresponse()
        task = r.getheader("task-id")
        try:
            short = r.read()
        except http.client.IncompleteRead as e:
            short = e.partial
        self.assertLess(len(short), len(data))
        rec = wait_for(lambda: (lambda t: t if t["status"] != "pending" else None)(
            self.sim.ok("task.get_record", self.s, task)), 5)
        self.assertEqual(rec["status"], "failure")
        # raw VDI export
        vdi = self.sim.vm("web02")["disks"][0]["uuid"]
        c = http.client.HTTPConnection(self.sim.hostport)
        c.request("GET", "/export_raw_vdi?vdi=%s&format=vhd&session_id=%s" % (vdi, self.s))
        r = c.getresponse()
        self.assertEqual(r.getheader("content-type"), "application/vhd")
        self.assertTrue(r.getheader("task-id").startswith("OpaqueRef:"))
        self.assertGreater(len(r.read()), 0)

    def test_control_channel_faults_and_calls(self):
        sim, s = self.sim, self.s
        self.assertEqual(sim.ctl("POST", "/sim/calls/clear")[0], 200)
        sim.ok("VM.get_all", s)
        calls = sim.ctl("GET", "/sim/calls")[1]
        self.assertEqual(calls[-1]["method"], "VM.get_all")
        self.assertEqual(calls[-1]["params"], ["SESSION"])
        self.assertIn("time", calls[-1])
        vm = self.vm_ref("web02")
        sim.ctl("POST", "/sim/fault", {"method": "VM.snapshot", "error": ["SR_BACKEND_FAILURE_82", "", "x", ""], "count": 1})
        self.assertEqual(sim.err("VM.snapshot", s, vm, "f")[0], "SR_BACKEND_FAILURE_82")
        sim.ctl("POST", "/sim/fault", {"method": "Async.VM.snapshot", "error": ["VM_LACKS_FEATURE", vm], "count": 1})
        task = sim.ok("Async.VM.snapshot", s, vm, "f2")
        rec = wait_for(lambda: (lambda t: t if t["status"] != "pending" else None)(
            sim.ok("task.get_record", s, task)), 5)
        self.assertEqual(rec["status"], "failure")
        self.assertEqual(rec["error_info"], ["VM_LACKS_FEATURE", vm])
        # snapshot and destroy "from another client"
        st, j = sim.ctl("POST", "/sim/snapshot?vm=web02")
        self.assertEqual(st, 200)
        self.assertEqual(sim.ok("VM.get_by_uuid", s, j["uuid"])[:10], "OpaqueRef:")
        st, j = sim.ctl("POST", "/sim/vm/destroy?vm=halted-vm")
        self.assertEqual(st, 200)
        self.assertEqual(sim.err("VM.get_by_uuid", s, j["uuid"])[0], "UUID_INVALID")
        # slow and dropped connections
        sim.ctl("POST", "/sim/fault", {"kind": "slow", "seconds": 0.5, "count": 1})
        t = time.time()
        sim.ok("pool.get_all", s)
        self.assertGreaterEqual(time.time() - t, 0.45)
        sim.ctl("POST", "/sim/fault", {"kind": "drop", "count": 1})
        with self.assertRaises((http.client.HTTPException, ConnectionError, OSError)):
            sim.raw("pool.get_all_records", s)
        sim.ok("pool.get_all", s)
        # state shaping: broken chain, message, power state
        disk = sim.vm("web01")["disks"][0]
        st, j = sim.ctl("POST", "/sim/set", {"class": "VDI", "uuid": disk["uuid"], "field": "sm_config",
                                             "key": "vhd-parent", "value": "00000000-dead-beef-0000-000000000000"})
        self.assertEqual(st, 200)
        self.assertEqual(sim.ok("VDI.get_sm_config", s, disk["ref"])["vhd-parent"],
                         "00000000-dead-beef-0000-000000000000")
        sim.ctl("POST", "/sim/set", {"class": "VDI", "uuid": disk["uuid"], "field": "sm_config",
                                     "key": "vhd-parent", "value": None})
        self.assertNotIn("vhd-parent", sim.ok("VDI.get_sm_config", s, disk["ref"]))
        st, j = sim.ctl("POST", "/sim/set", {"class": "VM", "name": "web01", "field": "name_description",
                                             "value": "front end"})
        self.assertEqual(sim.ok("VM.get_name_description", s, j["ref"]), "front end")
        st, j = sim.ctl("POST", "/sim/message", {"name": "Input/output error", "priority": 3,
                                                 "cls": "SR", "obj": "nfs-backup",
                                                 "body": "I/O error while coalescing."})
        self.assertEqual(st, 200)
        self.assertEqual(sim.ok("message.get_record", s, j["ref"])["name"], "Input/output error")
        self.assertEqual(sim.ctl("POST", "/sim/vm/power?vm=web02&state=Halted")[0], 200)
        w2 = self.vm_ref("web02")
        self.assertEqual(sim.ok("VM.get_power_state", s, w2), "Halted")
        self.assertFalse(any(sim.ok("VBD.get_currently_attached", s, b) for b in sim.ok("VM.get_VBDs", s, w2)))
        sim.ctl("POST", "/sim/vm/power?vm=web02&state=Running")
        self.assertEqual(sim.ok("VM.get_resident_on", s, w2), sim.ok("pool.get_master", s,
                                                                     sim.ok("pool.get_all", s)[0]))
        # expired sessions
        sim.ctl("POST", "/sim/fault", {"kind": "expire_sessions"})
        self.assertEqual(sim.err("pool.get_all", s)[0], "SESSION_INVALID")
        type(self).s = sim.login()


class PruneTest(Base):
    scenario = "prune"
    extra = ("--gc-speed", "0.01")

    def test_prune_contents(self):
        vms = self.sim.ok("VM.get_all_records", self.s)
        by = {}
        for r, v in vms.items():
            by.setdefault(v["name_label"], []).append((r, v))
        app01 = by["app01"][0]
        snaps = [vms[x] for x in app01[1]["snapshots"]]
        now = time.time()
        ages = sorted(round((now - time.mktime(time.strptime(s["snapshot_time"].value, "%Y%m%dT%H:%M:%SZ"))
                             + time.timezone * 0) / 86400) for s in snaps)
        self.assertEqual(len(ages), 3)
        tagged = [s for s in snaps if s["other_config"].get("chaintop:job") == "nightly"]
        self.assertEqual(len(tagged), 1)
        self.assertTrue({"chaintop:vm", "chaintop:time", "chaintop:run"} <= set(tagged[0]["other_config"]))
        legacy = by["legacy-snap"][0][1]
        self.assertTrue(legacy["is_a_snapshot"])
        self.assertNotIn(legacy["snapshot_of"], vms)
        vdis = self.vdis()
        orphan = [v for v in vdis.values() if v["name_label"] == "orphan-data"][0]
        self.assertEqual(orphan["VBDs"], [])
        susp = [v for v in vdis.values() if v["type"] == "suspend"][0]
        self.assertEqual(susp["VBDs"], [])
        # the app01 snapshot disk attached to backup-proxy cannot be destroyed
        vbds = self.sim.ok("VBD.get_all_records", self.s)
        proxy = by["backup-proxy"][0][0]
        att = [b for b in vbds.values() if b["VM"] == proxy and b["userdevice"] == "1"][0]
        self.assertTrue(att["currently_attached"])
        self.assertTrue(vdis[att["VDI"]]["is_a_snapshot"])
        self.assertEqual(self.sim.err("VDI.destroy", self.s, att["VDI"]),
                         ["VDI_IN_USE", att["VDI"], "destroy"])


    def test_snapshot_ignore_vdis(self):
        vm = self.vm_ref("app01")
        disks = [d["ref"] for d in self.sim.vm("app01")["disks"]]
        self.assertEqual(len(disks), 2)
        snap = self.sim.ok("VM.snapshot", self.s, vm, "partial", [disks[1]])
        got = [self.sim.ok("VBD.get_VDI", self.s, b) for b in self.sim.ok("VM.get_VBDs", self.s, snap)
               if self.sim.ok("VBD.get_type", self.s, b) == "Disk"]
        self.assertEqual(len(got), 1)
        self.assertEqual(self.sim.ok("VDI.get_snapshot_of", self.s, got[0]), disks[0])


class OwnersTest(Base):
    scenario = "owners"
    extra = ("--gc-speed", "0.01")

    def test_owners_contents(self):
        vms = self.sim.ok("VM.get_all_records", self.s)
        vdis = self.vdis()
        srs = self.sim.ok("SR.get_all_records", self.s)
        by = {v["name_label"]: (r, v) for r, v in vms.items()}
        # XO's keys on the snapshot VM and on its disks
        xr, xo = by["[XO Backup nightly-delta] app01"]
        self.assertTrue({"xo:backup:job", "xo:backup:schedule", "xo:backup:vm",
                         "xo:backup:datetime"} <= set(xo["other_config"]))
        self.assertRegex(xo["other_config"]["xo:backup:datetime"], r"^\d{8}T\d\d:\d\d:\d\dZ$")
        for b in xo["VBDs"]:
            vdi = self.sim.ok("VBD.get_VDI", self.s, b)
            if vdi != "OpaqueRef:NULL":
                self.assertEqual(vdis[vdi]["other_config"]["xo:backup:job"],
                                 xo["other_config"]["xo:backup:job"])
        # VMSS: the snapshot's flag and the schedule record
        self.assertTrue(by["db01-20261101-0200"][1]["is_vmss_snapshot"])
        vmss = self.sim.ok("VMSS.get_all_records", self.s)
        self.assertEqual(len(vmss), 1)
        self.assertIn(list(vmss)[0], [v["snapshot_schedule"] for v in vms.values()])
        # blocked destroy: OPERATION_BLOCKED [ref, reason] (xapi_vm_lifecycle)
        br = by["db01 audit hold"][0]
        self.assertEqual(self.sim.err("VM.destroy", self.s, br),
                         ["OPERATION_BLOCKED", br, "Kept for audit (ticket 4411)"])
        # pool_update with its VDI, served like every class, in events too
        ups = self.sim.ok("pool_update.get_all_records", self.s)
        self.assertEqual(len(ups), 1)
        up = list(ups.values())[0]
        self.assertIn(up["vdi"], vdis)
        ev = self.sim.ok("event.from", self.s, ["pool_update"], "", 0.0)
        self.assertEqual([e["class"] for e in ev["events"]], ["pool_update"])
        self.assertEqual(ev["valid_ref_counts"]["pool_update"], 1)
        # SM-attached without a VBD, and the storage migration pair
        att = [v for v in vdis.values() if any(k.startswith("host_") for k in v["sm_config"])
               and not v["VBDs"]]
        self.assertEqual([v["name_label"] for v in att], ["export-staging"])
        self.assertEqual(len([v for v in vdis.values() if "base_mirror" in v["sm_config"]]), 1)
        self.assertEqual(len([v for v in vdis.values() if "mirror" in v["sm_config"]]), 1)
        # a VDI snapshot without snapshot VM
        lone = [v for v in vdis.values() if v["is_a_snapshot"] and not v["VBDs"]]
        self.assertEqual(len(lone), 1)
        # the checkpoint holds a suspend image; another one is held by no VM
        ck = by["app02 before upgrade"][1]
        self.assertEqual(vdis[ck["suspend_VDI"]]["type"], "suspend")
        held = {v["suspend_VDI"] for v in vms.values()}
        lost = [r for r, v in vdis.items() if v["type"] == "suspend" and r not in held]
        self.assertEqual(len(lost), 1)
        vm03 = by["app02 before upgrade"][0]
        # VM.destroy leaves the checkpoint's suspend image (xapi_vm_helpers.destroy)
        self.sim.ok("VM.destroy", self.s, vm03)
        self.assertIn(ck["suspend_VDI"], self.vdis())
        # raw LUN SR: VDI.destroy succeeds and only forgets the LUN (the record goes)
        lun = [r for r, v in vdis.items() if srs[v["SR"]]["type"] == "iscsi"][0]
        self.sim.ok("VDI.destroy", self.s, lun)
        self.assertNotIn(lun, self.vdis())
        # then the image the checkpoint left behind can go
        self.sim.ok("VDI.destroy", self.s, ck["suspend_VDI"])


class SlaveTest(unittest.TestCase):
    def test_host_is_slave(self):
        sim = SimProc("slave", "--master", "127.0.0.1:4443")
        try:
            self.assertEqual(sim.err("session.login_with_password", USER, PWD),
                             ["HOST_IS_SLAVE", "127.0.0.1:4443"])
        finally:
            self.assertEqual(sim.stop(), 0)


class FlakyTest(unittest.TestCase):
    def test_flaky_misbehaves_but_recovers(self):
        sim = SimProc("flaky", "--seed", "1")
        seen = {"drop": 0, "expired": 0, "slow": 0, "ok": 0}
        try:
            s = None
            for _ in range(20):
                t = time.time()
                try:
                    if s is None:
                        r = sim.call("session.login_with_password", USER, PWD)
                        if r["Status"] == "Success":
                            s = r["Value"]
                        continue
                    r = sim.call("pool.get_all", s)
                except (http.client.HTTPException, ConnectionError, OSError):
                    seen["drop"] += 1
                    continue
                if time.time() - t > 1.2:
                    seen["slow"] += 1
                if r["Status"] == "Failure":
                    self.assertEqual(r["ErrorDescription"][0], "SESSION_INVALID")
                    seen["expired"] += 1
                    s = None
                else:
                    seen["ok"] += 1
            self.assertGreater(seen["ok"], 10, seen)
            self.assertGreater(seen["drop"] + seen["expired"] + seen["slow"], 0, seen)
        finally:
            self.assertEqual(sim.stop(), 0)


class BigTest(unittest.TestCase):
    # Start-up and reply speed are measured by bench/load.sh, not asserted here.
    def test_big_serves_2000_vms(self):
        sim = SimProc("big", "--vms", "2000")
        try:
            s = sim.login()
            b = sim.raw("VDI.get_all_records", s)
            self.assertGreater(b.count(b"<name>is_a_snapshot</name>"), 8000)
        finally:
            self.assertEqual(sim.stop(), 0)


class ShutdownTest(unittest.TestCase):
    def test_sigterm_and_control_shutdown(self):
        sim = SimProc("coalescing")
        self.assertEqual(sim.stop(), 0)
        sim = SimProc("coalescing", "--seed", "5")
        sim.ctl("POST", "/sim/shutdown")
        self.assertEqual(sim.p.wait(10), 0)

    def test_deterministic_seed(self):
        a = SimProc("prune", "--seed", "3")
        b = SimProc("prune", "--seed", "3")
        try:
            sa, sb = a.state(), b.state()
            self.assertEqual([v["uuid"] for v in sa["vms"]], [v["uuid"] for v in sb["vms"]])
        finally:
            a.stop()
            b.stop()


class Result(unittest.TextTestResult):
    pass


def shard_argv(argv, shard):
    """TEST_SHARD=K/N (tests/run-all.sh): the K-th of N shares of the test classes, dealt in
    the order they are defined; several shares run side by side."""
    if not shard or len(argv) > 1:
        return argv
    k, n = (int(x) for x in shard.split("/"))
    classes = [c for c in globals().values() if isinstance(c, type) and
               issubclass(c, unittest.TestCase) and c is not Base and
               unittest.defaultTestLoader.getTestCaseNames(c)]
    names = [c.__name__ for i, c in enumerate(classes) if i % n == k - 1]
    if not names:   # more shares than classes: this one has nothing to run
        print("0 passed, 0 failed")
        sys.exit(0)
    return argv[:1] + names


if __name__ == "__main__":
    runner = unittest.TextTestRunner(verbosity=2, resultclass=Result)
    prog = unittest.main(argv=shard_argv(sys.argv, os.environ.get("TEST_SHARD")),
                         testRunner=runner, exit=False)
    r = prog.result
    failed = len(r.failures) + len(r.errors)
    passed = r.testsRun - failed - len(r.skipped)
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)
