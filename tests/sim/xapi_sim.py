#!/usr/bin/env python3
"""XAPI simulator for chaintop tests and demos (python3 standard library only).

Speaks XAPI's XML-RPC dialect byte-for-byte the way xapi's ocaml-rpc codec does
(bare strings and ints, <boolean>, no whitespace), keeps a small in-memory
database of pool/host/SR/VDI/VM/VBD/PBD/task/message objects, serves
event.from with real tokens, models VHD snapshot chains and an SM-like garbage
collector per SR.  A JSON control channel under /sim/ lets tests inject faults
and inspect state.  See tests/sim/README.md.

Layout: Encoder (wire format) -> SCHEMA (every datamodel field) -> EventLog and
Store (objects, cached encodings) -> Filter (get_all_records_where) -> Storage
(VHD chains, SM snapshot) -> GC (one thread per SR) -> Sim (sessions, API
methods, event.from, actions) -> Exporter (HTTP exports) -> Handler/Control
(HTTP, XML-RPC, /sim JSON) -> Builder/Scenarios -> main.
"""

import argparse
import base64
import calendar
import errno
import hashlib
import io
import json
import os
import random
import re
import signal
import socket
import ssl
import sys
import tarfile
import threading
import time
import uuid as uuidlib
import xmlrpc.client
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

GiB = 1024 ** 3
MiB = 1024 ** 2
DAY = 86400.0
NULL = "OpaqueRef:NULL"
MAX_CHAIN = 30            # SM's MAX_CHAIN_SIZE (vhdutil.py)
MAX_BODY = 300 * 1024     # xapi refuses request bodies above 300 KiB
VHD_SR_TYPES = ("ext", "nfs", "lvm", "lvmoiscsi", "lvmohba")
RAW_LUN_SR_TYPES = ("iscsi", "hba")        # SM's LUNperVDI: one LUN per VDI
THICK_SR_TYPES = ("lvm", "lvmoiscsi", "lvmohba")


def new_uuid(rng=None):
    if rng is None:
        return str(uuidlib.uuid4())
    return str(uuidlib.UUID(int=rng.getrandbits(128), version=4))


def new_ref(rng=None):
    return "OpaqueRef:" + new_uuid(rng)


# ---------------------------------------------------------------------------
# Wire encoding (ocaml-rpc, non-strict mode)
# ---------------------------------------------------------------------------

class XDate:
    """A datetime field value (UTC seconds).  0 encodes as 19700101T00:00:00Z."""
    __slots__ = ("ts",)

    def __init__(self, ts=0.0):
        self.ts = float(ts)

    def iso(self):
        return time.strftime("%Y%m%dT%H:%M:%SZ", time.gmtime(int(self.ts)))

    def __repr__(self):
        return "XDate(%s)" % self.iso()


class I4(int):
    """An int that must go out as <i4> (only valid_ref_counts does this)."""


class Raw(str):
    """An already encoded <value> fragment."""


_CTRL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


class Encoder:
    """xapi's XML-RPC output (ocaml-rpc, non-strict): bare strings and ints,
    <boolean>, <double> %.16g, compact dateTime, no whitespace, member names
    unescaped.  Python types pick the encoding: str, int, I4, float, bool,
    XDate, list, dict, None (void), Raw (already encoded)."""

    HEAD = ('<?xml version="1.0"?><methodResponse><params><param><value><struct>'
            '<member><name>Status</name><value>Success</value></member>'
            '<member><name>Value</name>')
    TAIL = '</member></struct></value></param></params></methodResponse>'

    @staticmethod
    def escape(s):
        # xapi drops control bytes (except TAB/LF/CR) and escapes & < > "
        if _CTRL.search(s):
            s = _CTRL.sub("", s)
        return (s.replace("&", "&amp;").replace("<", "&lt;")
                 .replace(">", "&gt;").replace('"', "&quot;"))

    @staticmethod
    def value(v):
        """Encode one Python value as an XML-RPC <value> the way xapi does."""
        t = type(v)
        if t is str:
            return "<value>" + esc(v) + "</value>"
        if t is Raw:
            return str(v)
        if t is bool:
            return "<value><boolean>1</boolean></value>" if v else "<value><boolean>0</boolean></value>"
        if t is I4:
            return "<value><i4>%d</i4></value>" % v
        if t is int:
            return "<value>%d</value>" % v
        if t is float:
            return "<value><double>%s</double></value>" % ("%.16g" % v)
        if t is XDate:
            return "<value><dateTime.iso8601>" + v.iso() + "</dateTime.iso8601></value>"
        if t is list or t is tuple:
            return "<value><array><data>" + "".join(enc(x) for x in v) + "</data></array></value>"
        if t is dict:
            # member names are NOT escaped: that is xapi's behaviour
            return "<value><struct>" + "".join(
                "<member><name>%s</name>%s</member>" % (k, enc(x)) for k, x in v.items()
            ) + "</struct></value>"
        if v is None:
            return "<value></value>"
        raise TypeError("cannot encode %r" % (v,))

    @classmethod
    def success(cls, value_xml):
        return (cls.HEAD + value_xml + cls.TAIL).encode("utf-8")

    @staticmethod
    def failure(desc):
        return ('<?xml version="1.0"?><methodResponse><params><param><value><struct>'
                '<member><name>Status</name><value>Failure</value></member>'
                '<member><name>ErrorDescription</name>' + enc([str(x) for x in desc]) +
                '</member></struct></value></param></params></methodResponse>').encode("utf-8")

    @staticmethod
    def db_string(v):
        """The string form xapi's database stores (what get_all_records_where compares)."""
        t = type(v)
        if t is bool:
            return "true" if v else "false"
        if t is XDate:
            return v.iso()
        if t is float:
            return "%.16g" % v
        if t is list:
            return "(" + " ".join("'%s'" % db_string(x) for x in v) + ")"
        if t is dict:
            return "(" + " ".join("('%s' '%s')" % (k, db_string(x)) for k, x in v.items()) + ")"
        return str(v)


# short names used throughout
esc = Encoder.escape
enc = Encoder.value
success_body = Encoder.success
failure_body = Encoder.failure
db_string = Encoder.db_string


class XapiError(Exception):
    def __init__(self, code, *params):
        super().__init__(code)
        self.desc = [code] + [str(p) for p in params]


def sr_backend_failure(n, text):
    return XapiError("SR_BACKEND_FAILURE_%d" % n, "", text, "")


# ---------------------------------------------------------------------------
# Schema: every field of the datamodel for the classes we serve, with defaults
# ---------------------------------------------------------------------------

SCHEMA = {
    "pool": dict(
        uuid="", name_label="", name_description="", master=NULL, default_SR=NULL,
        suspend_image_SR=NULL, crash_dump_SR=NULL, other_config={}, ha_enabled=False,
        ha_configuration={}, ha_statefiles=[], ha_host_failures_to_tolerate=0,
        ha_plan_exists_for=0, ha_allow_overcommit=False, ha_overcommitted=False,
        blobs={}, tags=[], gui_config={}, health_check_config={}, wlb_url="",
        wlb_username="", wlb_enabled=False, wlb_verify_cert=False, redo_log_enabled=False,
        redo_log_vdi=NULL, vswitch_controller="", restrictions={}, metadata_VDIs=[],
        ha_cluster_stack="xhad", allowed_operations=[], current_operations={},
        guest_agent_config={}, cpu_info={}, policy_no_vendor_device=False,
        live_patching_disabled=False, igmp_snooping_enabled=False, uefi_certificates="",
        custom_uefi_certificates="", is_psr_pending=False, tls_verification_enabled=True,
        repositories=[], client_certificate_auth_enabled=False,
        client_certificate_auth_name="", repository_proxy_url="",
        repository_proxy_username="", repository_proxy_password=NULL,
        migration_compression=False, coordinator_bias=True, telemetry_uuid=NULL,
        telemetry_frequency="weekly", telemetry_next_collection=XDate(0),
        last_update_sync=XDate(0), update_sync_frequency="weekly", update_sync_day=0,
        update_sync_enabled=False, recommendations={}, license_server={},
        ha_reboot_vm_on_internal_shutdown=True, ext_auth_max_threads=1,
        local_auth_max_threads=8, ext_auth_cache_enabled=False, ext_auth_cache_size=50,
        ext_auth_cache_expiry=300),
    "host": dict(
        uuid="", name_label="", name_description="", memory_overhead=0,
        allowed_operations=[], current_operations={}, API_version_major=2,
        API_version_minor=21, API_version_vendor="XenSource",
        API_version_vendor_implementation={}, enabled=True, software_version={},
        other_config={}, capabilities=[], cpu_configuration={}, sched_policy="credit",
        supported_bootloaders=["pygrub", "eliloader"], resident_VMs=[], logging={},
        PIFs=[], suspend_image_sr=NULL, crash_dump_sr=NULL, crashdumps=[], patches=[],
        updates=[], PBDs=[], host_CPUs=[], cpu_info={}, hostname="", address="",
        metrics=NULL, license_params={}, ha_statefiles=[], ha_network_peers=[], blobs={},
        tags=[], external_auth_type="", external_auth_service_name="",
        external_auth_configuration={}, edition="xcp-ng", license_server={},
        bios_strings={}, power_on_mode="", power_on_config={}, local_cache_sr=NULL,
        chipset_info={}, PCIs=[], PGPUs=[], PUSBs=[], ssl_legacy=False,
        guest_VCPUs_params={}, display="enabled", virtual_hardware_platform_versions=[0, 1, 2],
        control_domain=NULL, updates_requiring_reboot=[], features=[], iscsi_iqn="",
        multipathing=False, uefi_certificates="", certificates=[], editions=["xcp-ng"],
        pending_guidances=[], tls_verification_enabled=True,
        last_software_update=XDate(0), https_only=False,
        latest_synced_updates_applied="unknown", numa_affinity_policy="default_policy",
        pending_guidances_recommended=[], pending_guidances_full=[], last_update_hash="",
        ssh_enabled=True, ssh_enabled_timeout=0, ssh_expiry=XDate(0),
        console_idle_timeout=0),
    "SR": dict(
        uuid="", name_label="", name_description="", allowed_operations=[],
        current_operations={}, VDIs=[], PBDs=[], virtual_allocation=0,
        physical_utilisation=0, physical_size=0, type="", content_type="", shared=False,
        other_config={}, tags=[], sm_config={}, blobs={}, local_cache_enabled=False,
        introduced_by=NULL, clustered=False, is_tools_sr=False),
    "VDI": dict(
        uuid="", name_label="", name_description="", allowed_operations=[],
        current_operations={}, SR=NULL, VBDs=[], crash_dumps=[], virtual_size=0,
        physical_utilisation=0, type="user", sharable=False, read_only=False,
        other_config={}, storage_lock=False, location="", managed=True, missing=False,
        parent=NULL, xenstore_data={}, sm_config={}, is_a_snapshot=False,
        snapshot_of=NULL, snapshots=[], snapshot_time=XDate(0), tags=[],
        allow_caching=False, on_boot="persist", metadata_of_pool=NULL,
        metadata_latest=False, is_tools_iso=False, cbt_enabled=False),
    "VM": dict(
        uuid="", allowed_operations=[], current_operations={}, name_label="",
        name_description="", power_state="Halted", user_version=1, is_a_template=False,
        is_default_template=False, suspend_VDI=NULL, resident_on=NULL,
        scheduled_to_be_resident_on=NULL, affinity=NULL, memory_overhead=11534336,
        memory_target=0, memory_static_max=2 * GiB, memory_dynamic_max=2 * GiB,
        memory_dynamic_min=2 * GiB, memory_static_min=512 * MiB, VCPUs_params={},
        VCPUs_max=2, VCPUs_at_startup=2, actions_after_softreboot="soft_reboot",
        actions_after_shutdown="destroy", actions_after_reboot="restart",
        actions_after_crash="restart", consoles=[], VIFs=[], VBDs=[], VUSBs=[],
        crash_dumps=[], VTPMs=[], PV_bootloader="", PV_kernel="", PV_ramdisk="",
        PV_args="", PV_bootloader_args="", PV_legacy_args="", HVM_boot_policy="BIOS order",
        HVM_boot_params={"order": "cd"}, HVM_shadow_multiplier=1.0,
        platform={"timeoffset": "0", "device-model": "qemu-upstream-compat", "acpi": "1",
                  "apic": "true", "pae": "true", "nx": "true", "viridian": "false"},
        PCI_bus="", other_config={}, domid=-1, domarch="", last_boot_CPU_flags={},
        is_control_domain=False, metrics=NULL, guest_metrics=NULL,
        last_booted_record="", recommendations="", xenstore_data={},
        ha_always_run=False, ha_restart_priority="", is_a_snapshot=False,
        snapshot_of=NULL, snapshots=[], snapshot_time=XDate(0),
        transportable_snapshot_id="", blobs={}, tags=[], blocked_operations={},
        snapshot_info={}, snapshot_metadata="", parent=NULL, children=[],
        bios_strings={}, protection_policy=NULL, is_snapshot_from_vmpp=False,
        snapshot_schedule=NULL, is_vmss_snapshot=False, appliance=NULL, start_delay=0,
        shutdown_delay=0, order=0, VGPUs=[], attached_PCIs=[], suspend_SR=NULL,
        version=0, generation_id="", hardware_platform_version=0,
        has_vendor_device=False, requires_reboot=False, reference_label="",
        domain_type="hvm", NVRAM={}, pending_guidances=[],
        pending_guidances_recommended=[], pending_guidances_full=[]),
    "VBD": dict(
        uuid="", allowed_operations=[], current_operations={}, VM=NULL, VDI=NULL,
        device="", userdevice="0", bootable=False, mode="RW", type="Disk",
        unpluggable=True, storage_lock=False, empty=False, other_config={},
        currently_attached=False, status_code=0, status_detail="", runtime_properties={},
        qos_algorithm_type="", qos_algorithm_params={}, qos_supported_algorithms=[],
        metrics=NULL),
    "PBD": dict(uuid="", host=NULL, SR=NULL, device_config={}, currently_attached=True,
                other_config={}),
    "task": dict(
        uuid="", name_label="", name_description="", allowed_operations=[],
        current_operations={}, created=XDate(0), finished=XDate(0), status="pending",
        resident_on=NULL, progress=0.0, type="<none/>", result="", error_info=[],
        other_config={}, subtask_of=NULL, subtasks=[], backtrace="()"),
    "message": dict(uuid="", name="", priority=0, cls="VM", obj_uuid="",
                    timestamp=XDate(0), body=""),
    # an update uploaded to the pool: xapi keeps its ISO in `vdi` (xapi_pool_update.ml)
    "pool_update": dict(
        uuid="", name_label="", name_description="", version="", installation_size=0,
        key="", after_apply_guidance=[], vdi=NULL, hosts=[], other_config={},
        enforce_homogeneity=False),
    # a VM snapshot schedule; its snapshots carry is_vmss_snapshot = true (xapi_vmss.ml)
    "VMSS": dict(
        uuid="", name_label="", name_description="", enabled=True, type="snapshot",
        retained_snapshots=7, frequency="daily", schedule={}, last_run_time=XDate(0),
        VMs=[]),
    # datamodel_certificate.ml: fingerprint (SHA-256, Stockholm); newer xapi adds
    # fingerprint_sha256 / fingerprint_sha1 beside it
    "Certificate": dict(uuid="", name="", type="host", host=NULL, not_before=XDate(0),
                        not_after=XDate(0), fingerprint="", fingerprint_sha256="",
                        fingerprint_sha1=""),
}
CLASSES = list(SCHEMA)                       # wire class names (VM, VDI, SR, ...)
LOWER = {c.lower(): c for c in CLASSES}      # event class names are lowercase
DB_CLASSES = [c for c in CLASSES if c != "message"]   # message is not a DB table


def make_record(_cls, **fields):
    cls = _cls
    rec = {}
    for k, v in SCHEMA[cls].items():
        t = type(v)
        rec[k] = v.copy() if (t is list or t is dict) else (XDate(v.ts) if t is XDate else v)
    for k, v in fields.items():
        if k not in rec:
            raise KeyError("%s has no field %s" % (cls, k))
        rec[k] = v
    return rec


# ---------------------------------------------------------------------------
# Store: objects, cached encodings, event log
# ---------------------------------------------------------------------------

class EventLog:
    """Generation-numbered log of add/mod/del, what event.from reads.
    Bounded like xapi's, so a very old token silently misses changes."""

    MAX = 200000

    def __init__(self, cond):
        self.cond = cond               # shared with the store; notified on append
        self.entries = []              # (id, lowercase class, ref, op)
        self.base = 1                  # id of entries[0]
        self.next_id = 1
        self.msg_gen = 0
        self.recording = True

    def append(self, cls, ref, op):
        if not self.recording:
            return
        if cls == "message":
            self.msg_gen += 1
        self.entries.append((self.next_id, cls.lower(), ref, op))
        self.next_id += 1
        if len(self.entries) > self.MAX:
            drop = len(self.entries) - self.MAX * 3 // 4
            del self.entries[:drop]
            self.base += drop
        self.cond.notify_all()

    def last_id(self):
        return self.next_id - 1

    def token(self):
        return "%020d,%020d" % (self.next_id - 1, self.msg_gen)

    def reset(self, start_id):
        """After building a scenario: forget build events, start ids at start_id."""
        self.entries = []
        self.next_id = start_id
        self.base = start_id

    def changes_since(self, since, matches, alive):
        """One (id, class, op, ref) per object changed after `since`, as
        xapi_event.ml reports them: add carries the creation id, mod the last
        modification, del the deletion; objects born and deleted in between are
        left out; messages have id 0; adds first, then mods, then dels."""
        start = max(0, since + 1 - self.base)
        agg = {}
        for eid, lc, ref, op in self.entries[start:]:
            if not matches(lc, ref):
                continue
            a = agg.get((lc, ref))
            if a is None:
                agg[(lc, ref)] = [op, eid, eid]      # first op, first id, last id
            else:
                a[2] = eid
        adds, mods, dels = [], [], []
        for (lc, ref), (first, first_id, last_id) in agg.items():
            live = alive(lc, ref)
            if first == "add" and not live:
                continue
            if lc == "message":
                first_id = last_id = 0
            if not live:
                dels.append((last_id, lc, "del", ref))
            elif first == "add":
                adds.append((first_id, lc, "add", ref))
            else:
                mods.append((last_id, lc, "mod", ref))
        return sorted(adds) + sorted(mods) + sorted(dels)


class Store:
    """In-memory database.  Every mutation goes through here so that the
    encoded-record cache is invalidated and an event is logged."""

    def __init__(self):
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.tables = {c: {} for c in CLASSES}
        self.by_uuid = {c: {} for c in CLASSES}
        self.cache = {c: {} for c in CLASSES}        # ref -> encoded <value>
        self.events = EventLog(self.cond)

    # -- reading
    def get(self, cls, ref):
        rec = self.tables[cls].get(ref)
        if rec is None:
            raise XapiError("HANDLE_INVALID", cls, ref)
        return rec

    def encoded(self, cls, ref):
        c = self.cache[cls]
        e = c.get(ref)
        if e is None:
            e = c[ref] = enc(self.tables[cls][ref])
        return e

    # -- writing
    def _event(self, cls, ref, op):
        self.events.append(cls, ref, op)

    def add(self, cls, rec, ref=None):
        ref = ref or new_ref()
        self.tables[cls][ref] = rec
        self.by_uuid[cls][rec["uuid"]] = ref
        self._event(cls, ref, "add")
        return ref

    def touch(self, cls, ref):
        self.cache[cls].pop(ref, None)
        self._event(cls, ref, "mod")

    def set(self, cls, ref, **fields):
        rec = self.tables[cls][ref]
        rec.update(fields)
        self.touch(cls, ref)

    def delete(self, cls, ref):
        rec = self.tables[cls].pop(ref, None)
        if rec is None:
            return
        self.by_uuid[cls].pop(rec["uuid"], None)
        self.cache[cls].pop(ref, None)
        self._event(cls, ref, "del")

    def list_add(self, cls, ref, field, value):
        rec = self.tables[cls].get(ref)
        if rec is not None and value not in rec[field]:
            rec[field].append(value)
            self.touch(cls, ref)

    def list_remove(self, cls, ref, field, value):
        rec = self.tables[cls].get(ref)
        if rec is not None and value in rec[field]:
            rec[field].remove(value)
            self.touch(cls, ref)

    def map_set(self, cls, ref, field, key, value):
        rec = self.tables[cls].get(ref)
        if rec is not None:
            rec[field][key] = value
            self.touch(cls, ref)

    def map_del(self, cls, ref, field, key):
        rec = self.tables[cls].get(ref)
        if rec is not None and key in rec[field]:
            del rec[field][key]
            self.touch(cls, ref)


# ---------------------------------------------------------------------------
# get_all_records_where filter language
# ---------------------------------------------------------------------------

class Filter:
    """field "x" = "y" with and/or/not/parentheses/true/false (db_filter_parse.mly)."""
    TOK = re.compile(r'\s*(?:(\()|(\))|(=)|(<>)|"((?:[^"\\]|\\.)*)"|([A-Za-z_]+))')

    def __init__(self, text):
        self.toks = []
        pos = 0
        text = text.strip()
        while pos < len(text):
            m = self.TOK.match(text, pos)
            if not m or m.end() == pos:
                raise ValueError("bad filter near %r" % text[pos:pos + 20])
            pos = m.end()
            if m.group(1):
                self.toks.append(("(",))
            elif m.group(2):
                self.toks.append((")",))
            elif m.group(3):
                self.toks.append(("=",))
            elif m.group(4):
                self.toks.append(("<>",))
            elif m.group(5) is not None:
                self.toks.append(("str", m.group(5).replace('\\"', '"').replace("\\\\", "\\")))
            else:
                self.toks.append(("word", m.group(6).lower()))
        self.i = 0
        self.ast = self._or() if self.toks else ("true",)
        if self.i != len(self.toks):
            raise ValueError("trailing tokens in filter")

    def _peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else (None,)

    def _take(self, *want):
        t = self._peek()
        if t[0] not in want and not (t[0] == "word" and t[1] in want):
            raise ValueError("filter syntax error")
        self.i += 1
        return t

    def _or(self):
        left = self._and()
        while self._peek() == ("word", "or"):
            self.i += 1
            left = ("or", left, self._and())
        return left

    def _and(self):
        left = self._not()
        while self._peek() == ("word", "and"):
            self.i += 1
            left = ("and", left, self._not())
        return left

    def _not(self):
        if self._peek() == ("word", "not"):
            self.i += 1
            return ("not", self._not())
        return self._atom()

    def _operand(self):
        t = self._peek()
        if t == ("word", "field"):
            self.i += 1
            return ("field", self._take("str")[1])
        return ("lit", self._take("str")[1])

    def _atom(self):
        t = self._peek()
        if t[0] == "(":
            self.i += 1
            e = self._or()
            self._take(")")
            return e
        if t == ("word", "true"):
            self.i += 1
            return ("true",)
        if t == ("word", "false"):
            self.i += 1
            return ("false",)
        a = self._operand()
        op = self._take("=", "<>")[0]
        b = self._operand()
        return ("eq" if op == "=" else "ne", a, b)

    def match(self, rec):
        return self._ev(self.ast, rec)

    def _val(self, operand, rec):
        if operand[0] == "lit":
            return operand[1]
        name = operand[1]
        if name not in rec:
            name = name.replace("__", "_")
        return db_string(rec.get(name, ""))

    def _ev(self, n, rec):
        k = n[0]
        if k == "true":
            return True
        if k == "false":
            return False
        if k == "not":
            return not self._ev(n[1], rec)
        if k == "and":
            return self._ev(n[1], rec) and self._ev(n[2], rec)
        if k == "or":
            return self._ev(n[1], rec) or self._ev(n[2], rec)
        eq = self._val(n[1], rec) == self._val(n[2], rec)
        return eq if k == "eq" else not eq


# ---------------------------------------------------------------------------
# Storage model: VHD chains, snapshot, destroy
# ---------------------------------------------------------------------------

class Storage:
    """SM-like behaviour on top of the store.  Callers hold store.lock."""

    SNAP_LEAF_PHYS = 4 * MiB        # an empty VHD leaf right after a snapshot

    def __init__(self, sim):
        self.sim = sim
        self.st = sim.store
        self.batch = False

    # -- chain queries
    def vdi_by_uuid(self, u):
        ref = self.st.by_uuid["VDI"].get(u)
        return ref

    def parent_ref(self, ref):
        p = self.st.tables["VDI"][ref]["sm_config"].get("vhd-parent")
        if not p:
            return None
        return self.st.by_uuid["VDI"].get(p)

    def depth(self, ref):
        d = 0
        seen = set()
        while ref is not None and ref not in seen:
            seen.add(ref)
            d += 1
            ref = self.parent_ref(ref)
        return d

    def children_map(self, sr_ref):
        """parent uuid -> [child refs] for the VDIs of one SR."""
        kids = {}
        tab = self.st.tables["VDI"]
        for r in self.st.tables["SR"][sr_ref]["VDIs"]:
            if self.is_cbt_log(tab[r]):
                continue               # SM's scan sees VHD files only, not CBT logs
            p = tab[r]["sm_config"].get("vhd-parent")
            if p:
                kids.setdefault(p, []).append(r)
        return kids

    @staticmethod
    def vhd_blocks(v):
        """sm_config vhd-blocks as SM caches it on a VDI with children (cleanup.py
        updateBlockInfo): base64 of zlib of the BAT bitmap (`vhd-util read -B`), one bit a
        2 MiB block, first block in the high bit. Here the data is taken to fill the first
        blocks."""
        nblocks = (v["virtual_size"] + 2 * MiB - 1) // (2 * MiB)
        used = min(nblocks, (v["physical_utilisation"] + 2 * MiB - 1) // (2 * MiB))
        bm = bytearray((nblocks + 7) // 8)
        for b in range(used):
            bm[b // 8] |= 0x80 >> (b % 8)
        return base64.b64encode(zlib.compress(bytes(bm))).decode()

    def update_block_info(self, ref):
        v = self.st.tables["VDI"].get(ref)
        if v is not None and self.is_vhd_sr(v["SR"]):
            self.st.map_set("VDI", ref, "sm_config", "vhd-blocks", self.vhd_blocks(v))

    @staticmethod
    def is_cbt_log(v):
        return v["type"] == "cbt_metadata" or v["sm_config"].get("vdi_type") == "cbtlog"

    def is_vhd_sr(self, sr_ref):
        return self.st.tables["SR"][sr_ref]["type"] in VHD_SR_TYPES

    def is_thick(self, sr_ref):
        return self.st.tables["SR"][sr_ref]["type"] in THICK_SR_TYPES

    def sr_free(self, sr_ref):
        sr = self.st.tables["SR"][sr_ref]
        return sr["physical_size"] - sr["physical_utilisation"]

    def update_sr(self, sr_ref):
        """Recompute utilisation/allocation from the VDIs (SR.update after SM ops)."""
        if self.batch:
            return                     # scenario build: one update at the end
        sr = self.st.tables["SR"][sr_ref]
        if sr["type"] == "udev":
            return
        tab = self.st.tables["VDI"]
        phys = sum(tab[r]["physical_utilisation"] for r in sr["VDIs"])
        virt = sum(tab[r]["virtual_size"] for r in sr["VDIs"] if tab[r]["managed"])
        if sr["physical_utilisation"] != phys or sr["virtual_allocation"] != virt:
            self.st.set("SR", sr_ref, physical_utilisation=phys, virtual_allocation=virt)

    # -- creation
    def new_vdi(self, sr_ref, name, virtual, phys, vtype="user", parent_uuid=None,
                managed=True, read_only=False, desc="", rng=None, other_config=None,
                sm_extra=None, thick_full=True):
        u = new_uuid(rng)
        sr = self.st.tables["SR"][sr_ref]
        sm = {}
        if sr["type"] in VHD_SR_TYPES:
            sm["vdi_type"] = "vhd"
            if parent_uuid:
                sm["vhd-parent"] = parent_uuid
        if sm_extra:
            sm.update(sm_extra)
        if self.is_thick(sr_ref) and thick_full:
            phys = max(phys, virtual)      # LVM: active volumes are fully inflated
        rec = make_record(
            "VDI", uuid=u, name_label=name, name_description=desc, SR=sr_ref,
            virtual_size=virtual, physical_utilisation=phys, type=vtype, managed=managed,
            read_only=read_only, location=u, sm_config=sm,
            other_config=dict(other_config or {}),
            allowed_operations=self.vdi_allowed_ops(managed))
        ref = self.st.add("VDI", rec, new_ref(rng))
        self.st.list_add("SR", sr_ref, "VDIs", ref)
        return ref

    @staticmethod
    def vdi_allowed_ops(managed):
        if not managed:
            return []
        return ["clone", "copy", "resize", "update", "generate_config", "snapshot",
                "destroy", "forget", "mirror", "disable_cbt", "enable_cbt"]

    def check_snapshot(self, vdi_refs):
        """SM refusals, checked for all disks before touching anything."""
        need = {}
        for ref in vdi_refs:
            v = self.st.tables["VDI"][ref]
            sr_ref = v["SR"]
            if not self.is_vhd_sr(sr_ref):
                continue
            if self.depth(ref) >= MAX_CHAIN:
                raise sr_backend_failure(109, "The snapshot chain is too long")
            if self.is_thick(sr_ref):
                need[sr_ref] = need.get(sr_ref, 0) + v["virtual_size"] + 2 * self.SNAP_LEAF_PHYS
            else:
                need[sr_ref] = need.get(sr_ref, 0) + 2 * self.SNAP_LEAF_PHYS
        for sr_ref, n in need.items():
            if self.sr_free(sr_ref) < n:
                raise sr_backend_failure(44, "There is insufficient space")

    def snapshot_vdi(self, ref, when=None, rng=None, other_config=None):
        """FileSR._snapshot: V's data moves to a new hidden base copy B; V stays as
        an empty child of B; the snapshot S is a second child of B."""
        st = self.st
        v = st.tables["VDI"][ref]
        sr_ref = v["SR"]
        when = time.time() if when is None else when
        oc = dict(v["other_config"])
        if other_config:
            oc.update(other_config)
        if not self.is_vhd_sr(sr_ref):
            # raw SR: a full copy, no chain
            s = self.new_vdi(sr_ref, v["name_label"], v["virtual_size"],
                             v["physical_utilisation"], v["type"], rng=rng, other_config=oc)
        else:
            old_parent = v["sm_config"].get("vhd-parent")
            base_phys = v["physical_utilisation"]
            b = self.new_vdi(sr_ref, "base copy", v["virtual_size"], base_phys, v["type"],
                             parent_uuid=old_parent, managed=False, read_only=True, rng=rng)
            self.update_block_info(b)
            b_uuid = st.tables["VDI"][b]["uuid"]
            sm = dict(v["sm_config"])
            sm["vhd-parent"] = b_uuid
            leaf_phys = v["virtual_size"] if self.is_thick(sr_ref) else self.SNAP_LEAF_PHYS
            st.set("VDI", ref, sm_config=sm, physical_utilisation=leaf_phys)
            s = self.new_vdi(sr_ref, v["name_label"], v["virtual_size"], self.SNAP_LEAF_PHYS,
                             v["type"], parent_uuid=b_uuid, rng=rng, other_config=oc,
                             desc=v["name_description"], thick_full=False)
        st.set("VDI", s, is_a_snapshot=True, snapshot_of=ref, snapshot_time=XDate(when))
        st.list_add("VDI", ref, "snapshots", s)
        self.update_sr(sr_ref)
        return s

    def destroy_vdi_record(self, ref):
        """Remove a VDI and unlink it everywhere (after the checks)."""
        st = self.st
        v = st.tables["VDI"].get(ref)
        if v is None:
            return
        if v["snapshot_of"] in st.tables["VDI"]:
            st.list_remove("VDI", v["snapshot_of"], "snapshots", ref)
        for vbd in list(v["VBDs"]):
            # only detached VBDs can be here; xapi leaves them pointing nowhere
            # for CDs, but for disks VDI.destroy destroys them
            if vbd in st.tables["VBD"]:
                vm = st.tables["VBD"][vbd]["VM"]
                st.list_remove("VM", vm, "VBDs", vbd)
                st.delete("VBD", vbd)
        # xapi's VDI.destroy clears suspend_VDI of the VMs that named it
        for vm_ref, vm in st.tables["VM"].items():
            if vm["suspend_VDI"] == ref:
                st.set("VM", vm_ref, suspend_VDI=NULL)
        sr_ref = v["SR"]
        st.list_remove("SR", sr_ref, "VDIs", ref)
        st.delete("VDI", ref)
        self.update_sr(sr_ref)
        self.sim.gc_kick(sr_ref)


# ---------------------------------------------------------------------------
# Garbage collector: one thread per VHD SR (SM cleanup.py, simplified)
# ---------------------------------------------------------------------------

class GC(threading.Thread):
    def __init__(self, sim, sr_ref):
        super().__init__(daemon=True, name="gc-" + sr_ref[-8:])
        self.sim = sim
        self.st = sim.store
        self.stor = sim.storage
        self.sr = sr_ref
        self.kick = threading.Event()
        self.paused = False
        self.task = None
        self.done = 0
        self.current = None          # description of the running action
        self.no_space = None         # SR free bytes when space last blocked us
        self.finished_tasks = []     # (time, task ref) xapi's task GC destroys later
        self.ran_before = False      # SM's gc_init file: the quiet period applies after
        self.failed = set()          # VDIs whose merge failed in this GC run
        self.inject = {}             # injected faults: unpause, gc_fail (counts), coalesce_error (errno name)
        self.quiet_until = 0         # end of the quiet period before the run starts

    def status(self):
        return {"paused": self.is_paused(), "task": self.task,
                "done": self.done, "current": self.current,
                "no_space": self.no_space is not None}

    def is_paused(self):
        # --gc-speed 0 (or /sim/gc/speed?f=0) freezes every GC
        return self.paused or self.sim.gc_paused_all or self.sim.gc_speed <= 0

    # -- planning (under lock)
    def candidates(self):
        st = self.st
        if self.sr not in st.tables["SR"]:
            return [], [], []
        sr = st.tables["SR"][self.sr]
        oc = sr["other_config"]
        if oc.get("gc") == "false":
            return [], [], []
        tab = st.tables["VDI"]
        kids = self.stor.children_map(self.sr)
        garbage, coal, leaf = [], [], []
        for r in sr["VDIs"]:
            v = tab[r]
            if self.stor.is_cbt_log(v):
                continue
            u = v["uuid"]
            mine = kids.get(u, [])
            if not v["managed"] and not mine:
                garbage.append(r)
                continue
            p = self.stor.parent_ref(r)
            if p is None or len(kids.get(tab[p]["uuid"], [])) != 1 or r in self.failed:
                continue
            if not v["managed"] and mine:
                if oc.get("coalesce") != "false":
                    coal.append(r)
            elif v["managed"] and not mine and not tab[p]["managed"]:
                # cleanup.py leafCoalesceForbidden, gatherLeafCoalesceable
                if oc.get("coalesce") != "false" and oc.get("leaf-coalesce") != "false" and \
                        v["other_config"].get("leaf-coalesce") != "false" and \
                        v.get("on_boot") != "reset" and not v.get("allow_caching"):
                    leaf.append(r)
        # tallest tree first, like SM
        coal.sort(key=lambda r: -self.stor.depth(r))
        return garbage, coal, leaf

    def _ensure_task(self):
        """cleanup.py _gcLoop: the task is created once work is found; returns True for
        a new one."""
        st = self.st
        if self.task is None or self.task not in st.tables["task"]:
            sr = st.tables["SR"][self.sr]
            self.done = 0
            self.task = self.sim.create_task(
                "Garbage Collection", "Garbage collection for SR %s" % sr["uuid"],
                other_config={"applies_to": self.sr})
            return True
        return False

    def _progress(self, ncand):
        """done / (done + candidates), set between merges only (update_task_progress)."""
        if self.task in self.st.tables["task"]:
            total = self.done + ncand
            p = self.done / total if total else 1.0
            self.st.set("task", self.task, progress=round(min(p, 1.0), 4))

    def _finish_task(self, status="success"):
        """SM sets the status only (task.set_status): finished stays at the epoch, so
        xapi's task GC (db_gc_util timeout_tasks) drops it on its next pass."""
        if self.task and self.task in self.st.tables["task"]:
            self.st.set("task", self.task, status=status)
            self.finished_tasks.append((time.time(), self.task))
        self.task = None
        self.done = 0
        self.failed.clear()
        self.ran_before = True

    def _sleep(self, seconds, on_step=None):
        """Sleep for the duration of an action; stalls while paused."""
        end_work = seconds
        spent = 0.0
        while spent < end_work:
            if self.sim.stop.is_set():
                return False
            if self.is_paused():
                time.sleep(0.05)
                continue
            step = min(0.1, end_work - spent)
            time.sleep(step)
            spent += step
            if on_step:
                on_step(spent / end_work if end_work else 1.0)
        return True

    def duration(self, nbytes):
        # 1 s per GiB merged, between 10 and 40 s at speed 1 (demo pacing)
        return min(40.0, max(10.0, nbytes / GiB)) / max(self.sim.gc_speed, 1e-6)

    def run(self):
        while not self.sim.stop.is_set():
            self.kick.wait(0.5)
            self.kick.clear()
            with self.st.lock:
                now = time.time()
                for t, ref in list(self.finished_tasks):
                    if now - t > self.sim.task_gc:
                        self.finished_tasks.remove((t, ref))
                        self.st.delete("task", ref)
                # tasks destroyed while pending go once they have completed
                for ref, t in list(self.st.tables["task"].items()):
                    if t["status"] not in ("pending", "cancelling") and \
                            "destroy" in t["current_operations"].values():
                        self.st.delete("task", ref)
            if self.is_paused():
                continue
            try:
                self.step()
            except Exception as e:       # keep the GC alive; show the error
                sys.stderr.write("gc %s: %r\n" % (self.sr, e))
                time.sleep(1)

    def _end_run(self, status="success"):
        """End of a GC run (cleanup.py _gc: set_task_status, then
        check_no_space_candidates: a message while candidates did not fit, destroyed
        once everything fitted; the SR key stays behind)."""
        st = self.st
        self._finish_task(status)
        if self.no_space is None:
            m = st.tables["SR"][self.sr]["sm_config"].get("gc_no_space")
            if m and m in st.tables["message"]:
                st.delete("message", m)

    def step(self):
        st = self.st
        with st.lock:
            if self.quiet_until and time.time() < self.quiet_until:
                return                  # _gcLoopPause: the task exists, nothing moves
            self.quiet_until = 0
            if self.inject.get("gc_fail"):
                self.inject["gc_fail"] -= 1
                if self.task:
                    st.set("task", self.task, error_info=["SR_BACKEND_FAILURE", "", "GC failed", ""])
                    self._end_run("failure")
                    return
            garbage, coal, leaf = self.candidates()
            ncand = len(garbage) + len(coal) + len(leaf)
            if ncand == 0:
                if self.task:
                    self._end_run()
                return
            if not garbage and self.no_space is not None and \
                    self.stor.sr_free(self.sr) <= self.no_space:
                return                  # still blocked by space; wait for room
            if self._ensure_task() and self.ran_before and self.sim.gc_quiet > 0:
                self.quiet_until = time.time() + self.sim.gc_quiet
                return
            self._progress(ncand)
            if garbage:
                ref = garbage[0]
                self.current = "delete garbage %s" % st.tables["VDI"][ref]["uuid"]
                self.stor.destroy_vdi_record(ref)
                self.done += 1
                self.current = None
                self._progress(ncand - 1)
                self.kick.set()
                return
            if coal:
                x = coal[0]
                kind = "coalesce"
                nbytes = st.tables["VDI"][x]["physical_utilisation"]
            else:
                x = leaf[0]
                kind = "leaf-coalesce"
                nbytes = st.tables["VDI"][x]["physical_utilisation"]
            p = self.stor.parent_ref(x)
            # space check: the parent may have to grow by the child's data
            pv = st.tables["VDI"][p]
            grow = 0 if self.stor.is_thick(self.sr) else \
                max(0, min(pv["virtual_size"], pv["physical_utilisation"] + nbytes)
                    - pv["physical_utilisation"])
            if grow > self.stor.sr_free(self.sr):
                # cleanup.py: the candidate does not fit, no work is left that fits, the
                # run ends; check_no_space_candidates posts SM_GC_NO_SPACE (unless the
                # SR's key names a live one) and keeps its ref on the SR and candidate
                self.no_space = self.stor.sr_free(self.sr)
                sr = st.tables["SR"][self.sr]
                m = sr["sm_config"].get("gc_no_space")
                if not m or m not in st.tables["message"]:
                    m = self.sim.add_message(
                        "SM_GC_NO_SPACE", 3, "SR", sr["uuid"],
                        "Unable to perform data coalesce due to a lack of space in SR %s"
                        % sr["uuid"])
                    st.map_set("SR", self.sr, "sm_config", "gc_no_space", m)
                st.map_set("VDI", x, "sm_config", "gc_no_space", m)
                if self.task:
                    self._end_run()
                return
            self.no_space = None
            # clear_no_space_msg: the candidate that fits loses its key
            if "gc_no_space" in st.tables["VDI"][x]["sm_config"]:
                st.map_del("VDI", x, "sm_config", "gc_no_space")
            self.current = "%s %s" % (kind, st.tables["VDI"][x]["uuid"])
            if kind == "leaf-coalesce":
                st.map_set("VDI", x, "sm_config", "paused", "true")
        dur = self.duration(nbytes)
        ok = self._sleep(dur)
        if ok and self.inject.get("coalesce_error"):
            with st.lock:
                self._coalesce_error(x, kind)
            self.kick.set()
            return
        relink = []
        if ok and kind == "coalesce":
            # SM marks the children "relinking" while it re-points them to P
            with st.lock:
                relink = [c for c in self.stor.children_map(self.sr).get(
                    st.tables["VDI"][x]["uuid"] if x in st.tables["VDI"] else "", [])]
                for c in relink:
                    st.map_set("VDI", c, "sm_config", "relinking", "True")
            ok = self._sleep(min(1.0, dur * 0.05))
        with st.lock:
            self._finish_action(kind, x, p, ok, ncand)
            for c in relink:            # cleared once the children point at P
                st.map_del("VDI", c, "sm_config", "relinking")
        self.kick.set()

    def _coalesce_error(self, x, kind):
        """cleanup.py _reportCoalesceError: vhd-util failed; a message named after the
        OS error, at most one per 1/coalesce-error-rate minutes (default one an hour),
        sm_config last-coalesce-error = its time; the pair is skipped for this run."""
        st = self.st
        err = self.inject["coalesce_error"]
        self.inject["coalesce_error"] = None
        self.current = None
        if kind == "leaf-coalesce" and x in st.tables["VDI"]:
            st.map_del("VDI", x, "sm_config", "paused")
        self.failed.add(x)
        code = getattr(errno, err, errno.EIO)
        body = {errno.ENOSPC: "Run out of space while coalescing.",
                errno.EIO: "I/O error while coalescing."}.get(code, "")
        sr = st.tables["SR"][self.sr]
        rate = float(sr["other_config"].get("coalesce-error-rate", 1.0 / 60))
        now = time.time()
        last = sr["sm_config"].get("last-coalesce-error")
        send = rate == 0 or (rate > 0 and (not last or now - float(last) >= 60.0 / rate))
        if rate > 0 and send:
            st.map_set("SR", self.sr, "sm_config", "last-coalesce-error", str(int(now)))
        if send:
            self.sim.add_message(os.strerror(code), 3, "SR", sr["uuid"], body)

    def _finish_action(self, kind, x, p, ok, ncand):
        """Apply a finished coalesce / leaf-coalesce (caller holds the lock)."""
        st = self.st
        self.current = None
        if kind == "leaf-coalesce" and x in st.tables["VDI"]:
            if self.inject.get("unpause"):
                # cleanup.py _report_tapdisk_unpause_error: the leaf stays paused
                self.inject["unpause"] -= 1
                sr = st.tables["SR"][self.sr]
                self.sim.add_message(
                    "failed to unpause tapdisk", 4, "SR", sr["uuid"],
                    "Failed to unpause tapdisk for VDI %s, VMs using this tapdisk have lost "
                    "access to the corresponding disk(s)" % st.tables["VDI"][x]["uuid"])
                self.failed.add(x)
                return
            st.map_del("VDI", x, "sm_config", "paused")
        if not ok:
            return
        # re-validate: the structure may have changed meanwhile
        if x not in st.tables["VDI"] or self.stor.parent_ref(x) != p or p is None:
            return
        kids = self.stor.children_map(self.sr)
        if len(kids.get(st.tables["VDI"][p]["uuid"], [])) != 1:
            return
        if kind == "coalesce":
            self._coalesce(x, p, kids)
        else:
            self._leaf_coalesce(x, p)
        self.done += 1
        self._progress(max(ncand - 1, 0))

    def _coalesce(self, x, p, kids):
        st = self.st
        xv, pv = st.tables["VDI"][x], st.tables["VDI"][p]
        if not self.stor.is_thick(self.sr):
            newp = min(pv["virtual_size"] + 8 * MiB, pv["physical_utilisation"] + xv["physical_utilisation"])
            st.set("VDI", p, physical_utilisation=newp)
        for c in kids.get(xv["uuid"], []):
            sm = dict(st.tables["VDI"][c]["sm_config"])
            sm["vhd-parent"] = pv["uuid"]
            st.set("VDI", c, sm_config=sm)
        self.stor.destroy_vdi_record(x)
        self.stor.update_block_info(p)          # _doCoalesce: parent.updateBlockInfo()

    def _leaf_coalesce(self, leaf, p):
        """P takes L's data; the merged node keeps L's uuid/ref (SM renames P to L)."""
        st = self.st
        lv, pv = st.tables["VDI"][leaf], st.tables["VDI"][p]
        sm = dict(lv["sm_config"])
        gp = pv["sm_config"].get("vhd-parent")
        if gp:
            sm["vhd-parent"] = gp
        else:
            sm.pop("vhd-parent", None)
        sm.pop("paused", None)
        sm.pop("vhd-blocks", None)              # the merged node is a leaf again
        if self.stor.is_thick(self.sr):
            phys = lv["physical_utilisation"]
        else:
            phys = min(lv["virtual_size"] + 8 * MiB,
                       pv["physical_utilisation"] + lv["physical_utilisation"])
        st.set("VDI", leaf, sm_config=sm, physical_utilisation=phys)
        self.stor.destroy_vdi_record(p)


# ---------------------------------------------------------------------------
# The simulated pool master: sessions, API methods, events, actions
# ---------------------------------------------------------------------------

def parse_xapi_time(v):
    """datetime parameter: DateTime object or text, dashes optional, Z/offset/none."""
    s = v.value if isinstance(v, xmlrpc.client.DateTime) else str(v)
    s = s.strip().replace("-", "") if "T" in s else s.strip()
    m = re.match(r"^(\d{8})T(\d\d):?(\d\d):?(\d\d)(?:\.\d+)?(Z|[+]\d\d:?\d\d|)$", s)
    if not m:
        try:
            return float(s)
        except ValueError:
            raise XapiError("INVALID_VALUE", "since", s)
    t = time.strptime(m.group(1) + m.group(2) + m.group(3) + m.group(4), "%Y%m%d%H%M%S")
    ts = calendar.timegm(t)
    z = m.group(5)
    if z and z != "Z":
        sign = 1 if z[0] == "+" else -1
        z = z[1:].replace(":", "")
        ts -= sign * (int(z[:2]) * 3600 + int(z[2:]) * 60)
    return float(ts)


def to_float(v, name="value"):
    try:
        return float(v)
    except (TypeError, ValueError):
        raise XapiError("FIELD_TYPE_ERROR", name)


class Sim:
    def __init__(self, opts):
        self.opts = opts
        self.store = Store()
        self.storage = Storage(self)
        self.rng = random.Random(opts.seed)
        self.stop = threading.Event()
        self.sessions = {}               # handle -> {"user", "originator", "created"}
        self.all_sessions = set()
        self.user = opts.user
        self.password = opts.password
        self.calls = []
        self.calls_lock = threading.Lock()
        self.faults = {}                 # method -> [error desc, remaining count]
        self.drop_next = 0
        self.slow = None                 # [seconds, remaining count]
        self.export_fail = 0
        self.faults_fired = {"drop": 0, "expire": 0, "slow": 0}   # so tests can prove faults hit
        self.gc_speed = opts.gc_speed
        self.gc_quiet = getattr(opts, "gc_quiet", 0.0)   # SM: 300 s (GCPAUSE_DEFAULT_SLEEP)
        self.task_gc = getattr(opts, "task_gc", 30.0)    # xapi's task GC pass
        self.gc_paused_all = False
        self.gcs = {}                    # SR ref -> GC thread
        self.export_scale = opts.export_scale
        self.flaky = False
        self.host_certs = {}             # host ref -> PEM of the certificate it serves
        self.member_address = None       # "127.0.0.2:PORT" of the member listener
        self.member_ref = None
        self.master_pem = self.member_pem = None
        self.checksum = "sha1"           # XVA chunk checksums: "sha1" or "xxhash"
        self.slow_methods = {}           # method -> [seconds, remaining count]
        self.slow_tasks = {}             # Async method -> [extra seconds, remaining count]
        self.no_certificate_class = False   # fault "no_certificates": a pre-Stockholm xapi
        self.redirect_scheme = "https"      # fault "redirect_http": a hostile master
        self.export_delay = 0.0          # seconds per MiB an export takes
        self.slave_of = None
        self.pool_ref = None
        self.master_ref = None
        self.methods = {}
        self.register_methods()
        self.background = []             # scenario threads
        self.scenario = opts.scenario

    # -- helpers used by scenarios and GC
    def create_task(self, name, desc="", other_config=None, cancellable=False):
        rec = make_record("task", uuid=new_uuid(), name_label=name, name_description=desc,
                          created=XDate(time.time()), resident_on=self.master_ref,
                          other_config=dict(other_config or {}),
                          allowed_operations=["cancel"] if cancellable else [])
        return self.store.add("task", rec)

    def add_message(self, name, priority, cls, obj_uuid, body, when=None, rng=None):
        rec = make_record("message", uuid=new_uuid(rng), name=name, priority=priority, cls=cls,
                          obj_uuid=obj_uuid, timestamp=XDate(time.time() if when is None else when),
                          body=body)
        return self.store.add("message", rec, new_ref(rng))

    def gc_kick(self, sr_ref):
        g = self.gcs.get(sr_ref)
        if g:
            g.kick.set()

    def start_gc(self):
        for sr_ref in list(self.store.tables["SR"]):
            if self.storage.is_vhd_sr(sr_ref) and sr_ref not in self.gcs:
                g = GC(self, sr_ref)
                self.gcs[sr_ref] = g
                g.start()

    # -- sessions
    def check_session(self, handle):
        s = self.sessions.get(handle) if isinstance(handle, str) else None
        if s is None:
            raise XapiError("SESSION_INVALID", handle)
        s["last"] = time.time()
        return s

    def expire_sessions(self):
        with self.store.lock:
            self.sessions.clear()
            self.store.cond.notify_all()   # wake event.from waiters so they fail

    # -- call log for the control channel
    def record_call(self, method, params, session_pos):
        out = []
        for i, p in enumerate(params):
            if (i == session_pos or (isinstance(p, str) and p in self.all_sessions)):
                out.append("SESSION")
            elif method.endswith("login_with_password") and i == 1:
                out.append("********")         # never log a password
            else:
                out.append(jsonable(p))
        with self.calls_lock:
            self.calls.append({"method": method, "params": out, "time": time.time()})
            if len(self.calls) > 100000:
                del self.calls[:50000]

    # -- dispatch
    def register(self, name, fn, nparams, optional=0, session=True, async_ok=False):
        self.methods[name] = (fn, nparams, optional, session)
        if async_ok:
            self.methods["Async." + name] = (self._async_wrapper(name, fn), nparams, optional, session)

    def dispatch(self, method, params):
        """Returns the encoded <value> (str) or raises XapiError."""
        entry = self.methods.get(method)
        if self.no_certificate_class and method.split(".")[0] in ("Certificate", "Async"):
            if method.startswith("Certificate.") or method.startswith("Async.Certificate."):
                entry = None     # xapi before Stockholm has no such class
        self.record_call(method, params, 0 if (entry and entry[3]) else -1)
        if entry is None:
            raise XapiError("MESSAGE_METHOD_UNKNOWN", method)
        fn, n, opt, needs_session = entry
        if not (n - opt <= len(params) <= n):
            raise XapiError("MESSAGE_PARAMETER_COUNT_MISMATCH", method, n, len(params))
        if needs_session:
            self.check_session(params[0])
            _tls.session = params[0]
        f = self.faults.get(method)
        if f and f[1] > 0 and not method.startswith("Async."):
            f[1] -= 1
            raise XapiError(*f[0])
        if needs_session:
            return fn(*params[1:])
        return fn(*params)

    def _async_wrapper(self, name, fn):
        def run_async(*args):
            with self.store.lock:
                task = self.create_task("Async." + name, "", cancellable=name == "VM.snapshot")
            f = self.faults.get("Async." + name)
            slow = self.slow_tasks.get("Async." + name)
            extra = 0.0
            if slow and slow[1] > 0:
                slow[1] -= 1
                extra = slow[0]
            fault = None
            if f and f[1] > 0:
                f[1] -= 1
                fault = f[0]
            t = threading.Thread(target=self._run_task, args=(task, fn, args, fault, extra),
                                 daemon=True)
            t.start()
            return enc(task)
        return run_async

    def _run_task(self, task, fn, args, fault, extra=0.0):
        st = self.store
        snapshot = fn == self.vm_snapshot
        begun = False
        try:
            if snapshot and not fault:
                # like xapi, the VM carries {task: "snapshot"} while the task runs
                self._snapshot_begin(args[0], task)
                begun = True
            end = time.time() + extra
            while time.time() < end:
                time.sleep(0.1)
            steps = 4 + self.rng.randint(0, 6)          # 0.5 .. 2 s of progress
            for i in range(1, steps):
                time.sleep(0.15 + self.rng.random() * 0.05)
                with st.lock:
                    if task not in st.tables["task"]:
                        return
                    if st.tables["task"][task]["status"] == "cancelling":
                        st.set("task", task, status="cancelled", finished=XDate(time.time()),
                               allowed_operations=[])
                        return
                    st.set("task", task, progress=round(i / steps * 0.9, 3))
            if fault:
                raise XapiError(*fault)
            if snapshot:
                value = self._snapshot_run(args[0], args[1], args[2] if len(args) > 2 else None,
                                           None, None, True)
            else:
                value = fn(*args)
            with st.lock:
                if task in st.tables["task"]:
                    st.set("task", task, progress=1.0, status="success",
                           finished=XDate(time.time()), result=value or "",
                           allowed_operations=[])
        except Exception as e:        # XapiError, or a simulator bug as INTERNAL_ERROR
            desc = e.desc if isinstance(e, XapiError) else ["INTERNAL_ERROR", repr(e)]
            with st.lock:
                if task in st.tables["task"]:
                    st.set("task", task, progress=1.0, status="failure",
                           finished=XDate(time.time()), error_info=desc,
                           allowed_operations=[])
        finally:
            if begun:
                self._snapshot_end(args[0], task)

    # -- generic class methods
    def register_methods(self):
        R = self.register
        R("session.login_with_password", self.login, 4, optional=2, session=False)
        R("session.logout", self.logout, 1)
        R("session.get_this_host", self.get_this_host, 2)
        R("event.from", self.event_from, 4)
        R("event.inject", self.event_inject, 3)
        R("VM.snapshot", self.vm_snapshot, 4, optional=1, async_ok=True)
        R("VM.destroy", self.vm_destroy, 2, async_ok=True)
        R("VDI.destroy", self.vdi_destroy, 2, async_ok=True)
        R("task.destroy", self.task_destroy, 2)
        R("task.cancel", self.task_cancel, 2, async_ok=True)
        R("message.get_since", self.message_get_since, 2)
        R("message.get", self.message_get, 4)
        R("message.destroy", self.message_destroy, 2)
        R("task.create", self.task_create, 3)
        R("SR.scan", self.sr_scan, 2, async_ok=True)
        R("SR.update", self.sr_scan, 2, async_ok=True)
        R("host.get_servertime", self.host_servertime, 2)
        R("host.get_server_localtime", self.host_servertime, 2)
        R("host.get_server_certificate", self.host_server_certificate, 2)
        R("VM.set_is_a_template", self.vm_set_is_a_template, 3)
        for cls in CLASSES:
            self._register_class(cls)

    def _register_class(self, cls):
        R = self.register
        st = self.store

        def get_all_records(*_):
            with st.lock:
                return "<value><struct>" + "".join(
                    "<member><name>%s</name>%s</member>" % (r, st.encoded(cls, r))
                    for r in st.tables[cls]) + "</struct></value>"

        def get_all_records_where(expr):
            if cls == "message":                    # xapi ignores the expression here
                return get_all_records()
            try:
                flt = Filter(str(expr))
            except ValueError:
                raise XapiError("INVALID_VALUE", "expr", expr)
            with st.lock:
                return "<value><struct>" + "".join(
                    "<member><name>%s</name>%s</member>" % (r, st.encoded(cls, r))
                    for r, rec in st.tables[cls].items() if flt.match(rec)) + "</struct></value>"

        def get_all():
            with st.lock:
                return enc(list(st.tables[cls]))

        def get_record(ref):
            with st.lock:
                st.get(cls, ref)
                return st.encoded(cls, ref)

        def get_by_uuid(u):
            with st.lock:
                ref = st.by_uuid[cls].get(u)
                if ref is None:
                    raise XapiError("UUID_INVALID", cls, u)
                return enc(ref)

        def get_by_name_label(label):
            with st.lock:
                return enc([r for r, rec in st.tables[cls].items() if rec["name_label"] == label])

        R(cls + ".get_all_records", get_all_records, 1)
        R(cls + ".get_all_records_where", get_all_records_where, 2)
        R(cls + ".get_all", get_all, 1)
        R(cls + ".get_record", get_record, 2)
        R(cls + ".get_by_uuid", get_by_uuid, 2)
        if "name_label" in SCHEMA[cls]:
            R(cls + ".get_by_name_label", get_by_name_label, 2)
        for field in SCHEMA[cls]:
            def getter(ref, field=field):
                with st.lock:
                    return enc(st.get(cls, ref)[field])
            R("%s.get_%s" % (cls, field), getter, 2)
        for field in ("name_label", "name_description"):
            if field in SCHEMA[cls] and cls not in ("task", "message"):
                def setter(ref, value, field=field):
                    with st.lock:
                        st.get(cls, ref)
                        st.set(cls, ref, **{field: str(value)})
                    return enc(None)
                R("%s.set_%s" % (cls, field), setter, 3)
        for mf in ("other_config", "sm_config", "xenstore_data", "blocked_operations"):
            if mf in SCHEMA[cls] and cls != "message":
                self._register_map(cls, mf)

    def _register_map(self, cls, mf):
        st = self.store

        def add_to(ref, key, value):
            with st.lock:
                rec = st.get(cls, ref)
                key = str(key)
                if key in rec[mf]:
                    raise XapiError("MAP_DUPLICATE_KEY", cls, mf, ref, key)
                st.map_set(cls, ref, mf, key, str(value))
            return enc(None)

        def remove_from(ref, key):
            with st.lock:
                st.get(cls, ref)
                st.map_del(cls, ref, mf, str(key))
            return enc(None)

        def set_map(ref, value):
            if not isinstance(value, dict):
                raise XapiError("FIELD_TYPE_ERROR", mf)
            with st.lock:
                st.get(cls, ref)
                st.set(cls, ref, **{mf: {str(k): str(v) for k, v in value.items()}})
            return enc(None)
        self.register("%s.add_to_%s" % (cls, mf), add_to, 4)
        self.register("%s.remove_from_%s" % (cls, mf), remove_from, 3)
        self.register("%s.set_%s" % (cls, mf), set_map, 3)

    # -- session
    def login(self, uname, pwd, version="1.1", originator=""):
        if self.slave_of:
            raise XapiError("HOST_IS_SLAVE", self.slave_of)
        if str(uname) != self.user or str(pwd) != self.password:
            raise XapiError("SESSION_AUTHENTICATION_FAILED", uname, "Authentication failure")
        h = new_ref()
        self.sessions[h] = {"user": str(uname), "originator": str(originator),
                            "created": time.time(), "last": time.time()}
        self.all_sessions.add(h)
        return enc(h)

    def logout(self):
        self.sessions.pop(getattr(_tls, "session", None), None)
        return enc(None)

    def get_this_host(self, self_):
        return enc(self.master_ref)

    # -- events
    def _parse_classes(self, classes):
        if not isinstance(classes, (list, tuple)):
            raise XapiError("FIELD_TYPE_ERROR", "classes")
        subs = []
        for c in classes:
            c = str(c)
            if c == "*":
                subs.append(("*", None))
                continue
            name, _, ref = c.partition("/")
            lc = name.lower()
            if lc not in LOWER:
                raise XapiError("EVENT_SUBSCRIPTION_PARSE_FAILURE", c)
            subs.append((lc, ref or None))
        return subs

    @staticmethod
    def _matches(subs, lc, ref):
        for c, r in subs:
            if c == "*" or (c == lc and (r is None or r == ref)):
                return True
        return False

    def _valid_ref_counts(self):
        return {c.lower(): I4(len(self.store.tables[c])) for c in DB_CLASSES}

    def _event_xml(self, eid, lc, op, ref):
        parts = ["<value><struct><member><name>id</name><value>%d</value></member>"
                 "<member><name>timestamp</name><value>0.0</value></member>"
                 "<member><name>class</name><value>%s</value></member>"
                 "<member><name>operation</name><value>%s</value></member>"
                 "<member><name>ref</name><value>%s</value></member>" % (eid, lc, op, ref)]
        if op != "del":
            parts.append("<member><name>snapshot</name>%s</member>"
                         % self.store.encoded(LOWER[lc], ref))
        parts.append("</struct></value>")
        return "".join(parts)

    def event_from(self, classes, token, timeout):
        st = self.store
        subs = self._parse_classes(classes)
        token = str(token)
        if token == "":
            since = None
        else:
            m = re.match(r"^(\d+)(?:,(\d+))?$", token)
            if not m:
                raise XapiError("EVENT_FROM_TOKEN_PARSE_FAILURE", token)
            since = int(m.group(1))
        timeout = to_float(timeout, "timeout")
        deadline = time.time() + max(0.0, timeout)
        handle = getattr(_tls, "session", None)
        if since is None:
            with st.lock:
                evs = []
                for cls in CLASSES:
                    lc = cls.lower()
                    for ref in st.tables[cls]:
                        if self._matches(subs, lc, ref):
                            evs.append(self._event_xml(st.events.last_id(), lc, "add", ref))
                return self._event_result(evs)
        # batch: xapi waits ~50 ms before the first look unless only tasks are watched
        if not all(c == "task" for c, _ in subs):
            time.sleep(0.05)
        with st.lock:
            while True:
                if handle is not None and handle not in self.sessions:
                    raise XapiError("SESSION_INVALID", handle)
                evs = self._collect(subs, since)
                if evs or self.stop.is_set():
                    return self._event_result(evs)
                left = deadline - time.time()
                if left <= 0:
                    return self._event_result([])
                st.cond.wait(min(left, 1.0))

    def _collect(self, subs, since):
        st = self.store
        changes = st.events.changes_since(
            since, lambda lc, ref: self._matches(subs, lc, ref),
            lambda lc, ref: ref in st.tables[LOWER[lc]])
        return [self._event_xml(*c) for c in changes]

    def _event_result(self, evs):
        return ("<value><struct><member><name>events</name><value><array><data>" +
                "".join(evs) + "</data></array></value></member>"
                "<member><name>valid_ref_counts</name>" + enc(self._valid_ref_counts()) +
                "</member><member><name>token</name><value>" + self.store.events.token() +
                "</value></member></struct></value>")

    def event_inject(self, cls, ref):
        with self.store.lock:
            c = LOWER.get(str(cls).lower())
            if c is None:
                raise XapiError("EVENT_SUBSCRIPTION_PARSE_FAILURE", cls)
            self.store.get(c, ref)
            self.store.touch(c, ref)
            # xapi returns (generation - 1, 0): event.from with it sees the touch
            return enc("%020d,%020d" % (self.store.events.last_id() - 1, 0))

    # -- VM actions
    def vm_snapshot(self, vm, new_name, ignore_vdis=None, task=None, other_config=None,
                    when=None, delay=True):
        """VM.snapshot: new snapshot VM (is_a_snapshot and is_a_template) whose VBDs
        point at snapshot VDIs; every disk's chain is restructured by SM."""
        opref = task or new_ref()
        self._snapshot_begin(vm, opref)
        try:
            return self._snapshot_run(vm, new_name, ignore_vdis, other_config, when, delay)
        finally:
            self._snapshot_end(vm, opref)

    def _snapshot_begin(self, vm, opref):
        """Lifecycle checks, then the VM shows {task: "snapshot"} in
        current_operations for as long as the snapshot runs."""
        st = self.store
        with st.lock:
            v = st.get("VM", vm)
            self.check_vm_operation(vm, "snapshot")
            ops = dict(v["current_operations"])
            ops[opref] = "snapshot"
            st.set("VM", vm, current_operations=ops)

    def _snapshot_end(self, vm, opref):
        st = self.store
        with st.lock:
            if vm in st.tables["VM"]:
                ops = dict(st.tables["VM"][vm]["current_operations"])
                if ops.pop(opref, None) is not None:
                    st.set("VM", vm, current_operations=ops)

    def _snapshot_run(self, vm, new_name, ignore_vdis, other_config, when, delay):
        """The SM part: refusals (109, 44), tapdisk pause, chain restructure."""
        st = self.store
        ignore = set(ignore_vdis or [])
        with st.lock:
            st.get("VM", vm)
            disks = self._vm_disks(vm, ignore)
            self.storage.check_snapshot([d for _, d in disks])
            # tapdisk is paused on attached disks while SM snapshots them
            paused = [d for b, d in disks if st.tables["VBD"][b]["currently_attached"]] \
                if delay else []
            for d in paused:
                st.map_set("VDI", d, "sm_config", "paused", "true")
        if delay:
            time.sleep(0.2)
        with st.lock:
            for d in paused:
                st.map_del("VDI", d, "sm_config", "paused")
            if vm not in st.tables["VM"]:
                raise XapiError("HANDLE_INVALID", "VM", vm)
            disks = self._vm_disks(vm, ignore)
            self.storage.check_snapshot([d for _, d in disks])
            sref = self._do_snapshot(vm, str(new_name), other_config, when, ignore=ignore)
            self.snapshotted_message(vm, sref)
            return enc(sref)

    def snapshotted_message(self, vm, sref):
        """xapi posts a VM_SNAPSHOTTED message (priority 5, class VM, the
        snapshotted VM's uuid) for every VM.snapshot."""
        st = self.store
        v = st.tables["VM"][vm]
        self.add_message("VM_SNAPSHOTTED", 5, "VM", v["uuid"],
                         "VM '%s' snapshotted as '%s'" % (v["name_label"],
                                                          st.tables["VM"][sref]["name_label"]))

    # power states each operation accepts (xapi_vm_lifecycle.allowed_power_states)
    OP_POWER = {"snapshot": ("Halted", "Paused", "Suspended", "Running"),
                "destroy": ("Halted", "Suspended"), "export": ("Halted", "Suspended")}

    # operations xapi lets run side by side (is_allowed_concurrently)
    CONCURRENT = (("clone", "copy", "export"), ("snapshot", "checkpoint"))

    def check_vm_operation(self, vm, op):
        """xapi_vm_lifecycle.check_operation_error, in its order: blocked
        operations, power state, concurrent operations, template/snapshot rules,
        control domain."""
        v = self.store.tables["VM"][vm]
        if op in v["blocked_operations"]:
            raise XapiError("OPERATION_BLOCKED", vm, v["blocked_operations"][op])
        allowed = self.OP_POWER[op]
        if v["power_state"] not in allowed:
            raise XapiError("VM_BAD_POWER_STATE", vm, ", ".join(p.lower() for p in allowed),
                            v["power_state"].lower())
        current = list(v["current_operations"].values())
        if current and not any(op in grp and all(c in grp for c in current)
                               for grp in self.CONCURRENT):
            ops = current[0] if len(current) == 1 else "{" + ",".join(current) + "}"
            raise XapiError("OTHER_OPERATION_IN_PROGRESS", "VM." + ops, vm)
        if v["is_a_template"] and not v["is_a_snapshot"]:
            default = v["is_default_template"] or v["other_config"].get("default_template") == "true"
            if op not in ("export",) and not (op == "destroy" and not default):
                raise XapiError("VM_IS_TEMPLATE", vm, op)
        if v["is_a_snapshot"] and op not in ("destroy", "export"):
            raise XapiError("VM_IS_SNAPSHOT", vm, op)
        if v["is_control_domain"]:
            raise XapiError("OPERATION_NOT_ALLOWED", "Operations on domain 0 are not allowed")

    def _vm_disks(self, vm, ignore=()):
        st = self.store
        out = []
        for b in st.tables["VM"][vm]["VBDs"]:
            vbd = st.tables["VBD"].get(b)
            if vbd and vbd["type"] == "Disk" and vbd["VDI"] != NULL and vbd["VDI"] not in ignore \
                    and vbd["VDI"] in st.tables["VDI"]:
                out.append((b, vbd["VDI"]))
        return out

    def _do_snapshot(self, vm, name, other_config=None, when=None, rng=None, ignore=()):
        st = self.store
        when = time.time() if when is None else when
        src = st.tables["VM"][vm]
        u = new_uuid(rng)
        rec = make_record("VM")
        for k, val in src.items():
            t = type(val)
            rec[k] = val.copy() if (t is list or t is dict) else val
        oc = dict(src["other_config"])
        oc.update(other_config or {})
        rec.update(uuid=u, name_label=name, name_description=src["name_description"],
                   is_a_snapshot=True, is_a_template=True, snapshot_of=vm, snapshots=[],
                   snapshot_time=XDate(when), power_state="Halted", resident_on=NULL,
                   domid=-1, VBDs=[], VIFs=[], current_operations={}, children=[],
                   other_config=oc, allowed_operations=["destroy", "export", "clone", "copy",
                                                         "create_template", "revert"],
                   snapshot_info={"power-state-at-snapshot": src["power_state"]},
                   transportable_snapshot_id="", parent=NULL, blocked_operations={})
        sref = st.add("VM", rec, new_ref(rng))
        for b in src["VBDs"]:
            vbd = st.tables["VBD"].get(b)
            if vbd is None:
                continue
            newvdi = vbd["VDI"]
            if vbd["VDI"] in ignore:
                continue                  # ignore_vdis: that disk is left out
            if vbd["type"] == "Disk" and vbd["VDI"] in st.tables["VDI"]:
                newvdi = self.storage.snapshot_vdi(vbd["VDI"], when, rng, other_config)
            self._add_vbd(sref, newvdi, vbd["userdevice"], vbd["type"], vbd["mode"],
                          attached=False, bootable=vbd["bootable"], rng=rng)
        st.list_add("VM", vm, "snapshots", sref)
        # lineage (VM.parent/children): the snapshot slots in between the VM and
        # its previous parent, as xapi_vm_snapshot does
        old_parent = src["parent"]
        st.set("VM", sref, parent=old_parent, children=[vm])
        if old_parent in st.tables["VM"]:
            st.list_remove("VM", old_parent, "children", vm)
            st.list_add("VM", old_parent, "children", sref)
        st.set("VM", vm, parent=sref)
        return sref

    def _add_vbd(self, vm, vdi, userdevice, vtype="Disk", mode="RW", attached=False,
                 bootable=False, rng=None):
        st = self.store
        rec = make_record("VBD", uuid=new_uuid(rng), VM=vm, VDI=vdi, userdevice=str(userdevice),
                          device=("xvd" + "abcdefghijklmnop"[int(userdevice) % 16]) if attached else "",
                          type=vtype, mode=mode, currently_attached=attached,
                          empty=(vdi == NULL), bootable=bootable,
                          allowed_operations=["attach", "unpause", "pause"] if attached else ["attach"])
        ref = st.add("VBD", rec, new_ref(rng))
        st.list_add("VM", vm, "VBDs", ref)
        if vdi != NULL and vdi in st.tables["VDI"]:
            st.list_add("VDI", vdi, "VBDs", ref)
            if attached and self.master_ref:
                st.map_set("VDI", vdi, "sm_config", "host_" + self.master_ref,
                           "RW" if mode == "RW" else "RO")
            self.refresh_vdi_ops(vdi)
        return ref

    def refresh_vdi_ops(self, vdi):
        """allowed_operations as xapi recomputes them: no destroy/resize while a
        VBD is attached; nothing for unmanaged or ISO VDIs."""
        st = self.store
        v = st.tables["VDI"].get(vdi)
        if v is None:
            return
        sr_type = st.tables["SR"][v["SR"]]["type"]
        if not v["managed"] or sr_type in ("iso", "udev"):
            ops = []
        elif any(st.tables["VBD"][b]["currently_attached"] for b in v["VBDs"] if b in st.tables["VBD"]):
            ops = ["snapshot", "clone", "copy", "mirror", "enable_cbt", "disable_cbt"]
        else:
            ops = Storage.vdi_allowed_ops(True)
        if ops != v["allowed_operations"]:
            st.set("VDI", vdi, allowed_operations=ops)

    def vm_destroy(self, vm):
        """Deletes the VM and its VBDs, never its VDIs (xapi_vm_helpers.destroy)."""
        st = self.store
        with st.lock:
            st.get("VM", vm)
            self.check_vm_operation(vm, "destroy")
            self._destroy_vm_record(vm)
        return enc(None)

    def _destroy_vm_record(self, vm):
        st = self.store
        v = st.tables["VM"][vm]
        for b in list(v["VBDs"]):
            vbd = st.tables["VBD"].get(b)
            if vbd is None:
                continue
            st.delete("VBD", b)
            if vbd["VDI"] in st.tables["VDI"]:
                st.list_remove("VDI", vbd["VDI"], "VBDs", b)
                if vbd["currently_attached"]:
                    st.map_del("VDI", vbd["VDI"], "sm_config", "host_" + str(self.master_ref))
                self.refresh_vdi_ops(vbd["VDI"])
        if v["snapshot_of"] in st.tables["VM"]:
            st.list_remove("VM", v["snapshot_of"], "snapshots", vm)
        # Snapshots of a destroyed VM keep a snapshot_of that points at a deleted
        # object; xapi does not null it (see README).  Children are rebased onto
        # the VM's parent (xapi_vm_helpers.destroy).
        for c in v["children"]:
            if c in st.tables["VM"]:
                st.set("VM", c, parent=v["parent"])
                if v["parent"] in st.tables["VM"]:
                    st.list_add("VM", v["parent"], "children", c)
        if v["parent"] in st.tables["VM"]:
            st.list_remove("VM", v["parent"], "children", vm)
        if v["resident_on"] in st.tables["host"]:
            st.list_remove("host", v["resident_on"], "resident_VMs", vm)
        st.delete("VM", vm)

    def vdi_destroy(self, vdi):
        st = self.store
        with st.lock:
            v = st.get("VDI", vdi)
            # xapi_vdi.check_operation_error order, then Xapi_vdi.destroy's own check
            if v["current_operations"]:
                raise XapiError("OTHER_OPERATION_IN_PROGRESS", "VDI", vdi)
            for b in v["VBDs"]:
                vbd = st.tables["VBD"].get(b)
                if vbd and vbd["currently_attached"]:
                    raise XapiError("VDI_IN_USE", vdi, "destroy")
            sr = st.tables["SR"][v["SR"]]
            if sr["type"] == "udev":
                raise XapiError("VDI_IS_A_PHYSICAL_DEVICE", vdi)
            if sr["type"] in ("iso", "shm"):      # no VDI_DELETE capability in the driver
                raise XapiError("SR_OPERATION_NOT_SUPPORTED", v["SR"])
            if not v["managed"]:
                raise XapiError("VDI_NOT_MANAGED", vdi)
            # on raw LUN SRs SM's LUNperVDI.delete only sets managed = false and xapi then
            # drops the record: the LUN and its data stay on the array (an SR.scan, not
            # modelled, would bring it back as an unmanaged VDI)
            self.storage.destroy_vdi_record(vdi)
        return enc(None)

    # -- tasks and messages
    def task_create(self, label, description):
        with self.store.lock:
            return enc(self.create_task(str(label), str(description), cancellable=True))

    def sr_scan(self, sr):
        """SR.scan / SR.update: refresh utilisation and kick the GC, as SM does."""
        with self.store.lock:
            self.store.get("SR", sr)
            self.storage.update_sr(sr)
        self.gc_kick(sr)
        return enc(None)

    def host_servertime(self, host):
        with self.store.lock:
            self.store.get("host", host)
        return enc(XDate(time.time()))

    def host_server_certificate(self, host):
        """host.get_server_certificate: the PEM of the certificate the host serves."""
        with self.store.lock:
            self.store.get("host", host)
            pem = self.host_certs.get(host)
        if pem is None:
            raise XapiError("INTERNAL_ERROR", "no server certificate: the simulator runs without TLS")
        return enc(pem)

    def vm_set_is_a_template(self, vm, value):
        """VM.set_is_a_template; XO clears it on its backup snapshots so that an
        exported XVA imports as a VM (@xen-orchestra/xapi vm.mjs)."""
        v = value if isinstance(value, bool) else str(value).lower() == "true"
        with self.store.lock:
            rec = self.store.get("VM", vm)
            if rec["is_control_domain"]:
                raise XapiError("OPERATION_NOT_ALLOWED", "Operations on domain 0 are not allowed")
            fields = {"is_a_template": v}
            if not v:
                fields["is_default_template"] = False
            self.store.set("VM", vm, **fields)
        return enc(None)

    def task_destroy(self, task):
        """xapi_task.ml destroy: a completed task goes at once; a pending one is only
        marked (`destroy` in current_operations) and xapi's task GC removes it once it
        has completed (db_gc_util.ml timeout_tasks)."""
        with self.store.lock:
            t = self.store.get("task", task)
            if t["status"] in ("pending", "cancelling"):
                ops = dict(t["current_operations"])
                ops[new_ref()] = "destroy"
                self.store.set("task", task, current_operations=ops)
            else:
                self.store.delete("task", task)
        return enc(None)

    def task_cancel(self, task):
        with self.store.lock:
            t = self.store.get("task", task)
            if "cancel" not in t["allowed_operations"] or t["status"] != "pending":
                raise XapiError("OPERATION_NOT_ALLOWED", "task %s cannot be cancelled" % t["uuid"])
            self.store.set("task", task, status="cancelling")
        return enc(None)

    def message_get_since(self, since):
        ts = parse_xapi_time(since)
        st = self.store
        with st.lock:
            return "<value><struct>" + "".join(
                "<member><name>%s</name>%s</member>" % (r, st.encoded("message", r))
                for r, m in st.tables["message"].items() if m["timestamp"].ts > ts) + "</struct></value>"

    def message_get(self, cls, obj_uuid, since):
        ts = parse_xapi_time(since)
        st = self.store
        with st.lock:
            return "<value><struct>" + "".join(
                "<member><name>%s</name>%s</member>" % (r, st.encoded("message", r))
                for r, m in st.tables["message"].items()
                if m["timestamp"].ts > ts and m["cls"] == cls and m["obj_uuid"] == obj_uuid) \
                + "</struct></value>"

    def message_destroy(self, msg):
        with self.store.lock:
            self.store.get("message", msg)
            self.store.delete("message", msg)
        return enc(None)

    # -- lookups for the control channel
    def set_power_state(self, vm, state):
        """Another client started/stopped the VM: VBDs, residence, domid follow."""
        st = self.store
        v = st.tables["VM"][vm]
        running = state in ("Running", "Paused")
        host = self.master_ref if running else NULL
        if v["resident_on"] in st.tables["host"] and not running:
            st.list_remove("host", v["resident_on"], "resident_VMs", vm)
        if running and v["resident_on"] == NULL:
            st.list_add("host", host, "resident_VMs", vm)
        else:
            host = v["resident_on"] if running else NULL
        st.set("VM", vm, power_state=state, resident_on=host,
               domid=(v["domid"] if v["domid"] > 0 else 7) if running else -1)
        for b in v["VBDs"]:
            vbd = st.tables["VBD"].get(b)
            if vbd is None or vbd["currently_attached"] == running:
                continue
            st.set("VBD", b, currently_attached=running,
                   device=("xvd" + "abcdefghijklmnop"[int(vbd["userdevice"]) % 16]) if running else "")
            if vbd["VDI"] in st.tables["VDI"]:
                if running:
                    st.map_set("VDI", vbd["VDI"], "sm_config", "host_" + str(self.master_ref),
                               "RW" if vbd["mode"] == "RW" else "RO")
                else:
                    st.map_del("VDI", vbd["VDI"], "sm_config", "host_" + str(self.master_ref))
                self.refresh_vdi_ops(vbd["VDI"])

    def find_vm(self, key):
        st = self.store
        if key in st.by_uuid["VM"]:
            return st.by_uuid["VM"][key]
        if key in st.tables["VM"]:
            return key
        for r, v in st.tables["VM"].items():
            if v["name_label"] == key and not v["is_a_snapshot"] and not v["is_a_template"]:
                return r
        for r, v in st.tables["VM"].items():
            if v["name_label"] == key:
                return r
        return None

    def find_sr(self, key):
        st = self.store
        if key in st.by_uuid["SR"]:
            return st.by_uuid["SR"][key]
        if key in st.tables["SR"]:
            return key
        for r, v in st.tables["SR"].items():
            if v["name_label"] == key:
                return r
        return None

    def destroy_vm_and_disks(self, vm):
        """What a careful client does: VM.destroy, then VDI.destroy of its disks."""
        st = self.store
        with st.lock:
            vdis = [d for _, d in self._vm_disks(vm)]
            for b in st.tables["VM"][vm]["VBDs"]:
                if b in st.tables["VBD"]:
                    st.set("VBD", b, currently_attached=False)
            self._destroy_vm_record(vm)
            for d in vdis:
                if d in st.tables["VDI"] and not any(
                        st.tables["VBD"][b]["currently_attached"]
                        for b in st.tables["VDI"][d]["VBDs"] if b in st.tables["VBD"]):
                    self.storage.destroy_vdi_record(d)

    def state(self):
        """JSON summary for test assertions."""
        st = self.store
        with st.lock:
            pool = next(iter(st.tables["pool"].values()), {})
            srs = []
            for r, s in st.tables["SR"].items():
                g = self.gcs.get(r)
                t = st.tables["task"].get(g.task) if g and g.task else None
                srs.append({"uuid": s["uuid"], "ref": r, "name": s["name_label"], "type": s["type"],
                            "physical_size": s["physical_size"],
                            "physical_utilisation": s["physical_utilisation"],
                            "free": s["physical_size"] - s["physical_utilisation"],
                            "vdis": len(s["VDIs"]),
                            "gc": None if g is None else dict(g.status(),
                                                              progress=t["progress"] if t else None)})
            vms = []
            for r, v in st.tables["VM"].items():
                if v["is_control_domain"] or (v["is_a_template"] and not v["is_a_snapshot"]):
                    continue
                disks = []
                for b, d in self._vm_disks(r):
                    dv = st.tables["VDI"][d]
                    chain = []
                    x = d
                    while x is not None and len(chain) < 100:
                        chain.append(st.tables["VDI"][x]["uuid"])
                        x = self.storage.parent_ref(x)
                    disks.append({"uuid": dv["uuid"], "ref": d, "name": dv["name_label"],
                                  "sr": st.tables["SR"][dv["SR"]]["name_label"],
                                  "depth": self.storage.depth(d), "chain": chain,
                                  "paused": dv["sm_config"].get("paused") == "true"})
                vms.append({"uuid": v["uuid"], "ref": r, "name": v["name_label"],
                            "power_state": v["power_state"], "is_a_snapshot": v["is_a_snapshot"],
                            "snapshot_of": v["snapshot_of"], "snapshots": len(v["snapshots"]),
                            "disks": disks})
            return {"pool": {"name": pool.get("name_label"), "uuid": pool.get("uuid")},
                    "scenario": self.scenario, "event_id": st.events.last_id(),
                    "sessions": len(self.sessions), "srs": srs, "vms": vms,
                    "counts": {c: len(st.tables[c]) for c in CLASSES},
                    "gc_speed": self.gc_speed, "gc_paused": self.gc_paused_all,
                    "faults_fired": dict(self.faults_fired)}


_tls = threading.local()


def jsonable(v):
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    if isinstance(v, xmlrpc.client.DateTime):
        return v.value
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    return str(v)


# ---------------------------------------------------------------------------
# HTTP exports (/export, /export_raw_vdi)
# ---------------------------------------------------------------------------

_M64 = (1 << 64) - 1
_XP1, _XP2, _XP3 = 11400714785074694791, 14029467366897019727, 1609587929392839161
_XP4, _XP5 = 9650029242287828579, 2870177450012600261


def _rotl64(x, r):
    return ((x << r) | (x >> (64 - r))) & _M64


def _xxh_round(acc, lane):
    return (_rotl64((acc + lane * _XP2) & _M64, 31) * _XP1) & _M64


def xxh64(data, seed=0):
    """XXH64 (the xxHash specification), as xapi writes it in an XVA's
    Ref:N/XXXXXXXX.xxhash files: "%016X" of the chunk's hash."""
    n = len(data)
    i = 0
    if n >= 32:
        v = [(seed + _XP1 + _XP2) & _M64, (seed + _XP2) & _M64, seed & _M64,
             (seed - _XP1) & _M64]
        while i + 32 <= n:
            for k in range(4):
                v[k] = _xxh_round(v[k], int.from_bytes(data[i + 8 * k:i + 8 * k + 8], "little"))
            i += 32
        h = (_rotl64(v[0], 1) + _rotl64(v[1], 7) + _rotl64(v[2], 12) + _rotl64(v[3], 18)) & _M64
        for k in range(4):
            h = (((h ^ _xxh_round(0, v[k])) * _XP1) + _XP4) & _M64
    else:
        h = (seed + _XP5) & _M64
    h = (h + n) & _M64
    while i + 8 <= n:
        h ^= _xxh_round(0, int.from_bytes(data[i:i + 8], "little"))
        h = (_rotl64(h, 27) * _XP1 + _XP4) & _M64
        i += 8
    if i + 4 <= n:
        h ^= (int.from_bytes(data[i:i + 4], "little") * _XP1) & _M64
        h = (_rotl64(h, 23) * _XP2 + _XP3) & _M64
        i += 4
    while i < n:
        h ^= (data[i] * _XP5) & _M64
        h = (_rotl64(h, 11) * _XP1) & _M64
        i += 1
    h ^= h >> 33
    h = (h * _XP2) & _M64
    h ^= h >> 29
    h = (h * _XP3) & _M64
    h ^= h >> 32
    return h


class _Pattern:
    """Deterministic filler bytes for disk contents (incompressible, like real data)."""
    BLOCK = random.Random(7).randbytes(1 << 20)

    @classmethod
    def take(cls, n):
        out = []
        while n > 0:
            k = min(n, len(cls.BLOCK))
            out.append(cls.BLOCK[:k])
            n -= k
        return b"".join(out)


class ExportBroken(Exception):
    """Raised inside an export stream: injected failure or cancelled task."""


class _Sink:
    """File-like target for an export: compresses (gzip, or zstd raw blocks:
    a valid zstd frame without a compressor), writes to the socket, counts
    bytes for task progress, breaks mid-way when a failure was injected."""

    ZSTD_BLOCK = 128 * 1024

    def __init__(self, exporter, wfile, comp, total, task, fail):
        self.ex = exporter
        self.w = wfile
        self.comp = comp
        self.total = max(total, 1)
        self.task = task
        self.fail_at = total // 2 if fail else None
        self.raw = 0
        self.last_p = 0.0
        self.z = zlib.compressobj(1, zlib.DEFLATED, 31) if comp == "gzip" else None
        if comp == "zstd":
            # frame: magic, descriptor (no size, no checksum), window 128 KiB
            self.w.write(b"\x28\xb5\x2f\xfd\x00\x38")

    def _zstd_blocks(self, data, last=False):
        for i in range(0, len(data), self.ZSTD_BLOCK):
            chunk = data[i:i + self.ZSTD_BLOCK]
            hdr = (len(chunk) << 3)                       # raw block, not last
            self.w.write(hdr.to_bytes(3, "little") + chunk)
        if last:
            self.w.write((1).to_bytes(3, "little"))       # empty last raw block

    def write(self, data):
        if self.fail_at is not None and self.raw + len(data) > self.fail_at:
            raise ExportBroken("VDI_IO_ERROR")
        self.raw += len(data)
        if self.ex.sim.export_delay:
            time.sleep(self.ex.sim.export_delay * len(data) / (1 << 20))
        if self.z:
            self.w.write(self.z.compress(data))
        elif self.comp == "zstd":
            self._zstd_blocks(data)
        else:
            self.w.write(data)
        p = min(self.raw / self.total, 0.99)
        if p - self.last_p >= 0.05:
            self.last_p = p
            self.ex.progress(self.task, p)
        return len(data)

    def close(self):
        pass                     # the socket is closed by the handler

    def flush(self):
        pass

    def finish(self):
        if self.z:
            self.w.write(self.z.flush())
        elif self.comp == "zstd":
            self._zstd_blocks(b"", last=True)
        self.w.flush()


def vhd_footer(size, uid):
    """Footer of a fixed-size VHD (Microsoft VHD spec), so vhd exports are valid."""
    sectors = min(size // 512, 65535 * 16 * 255)
    if sectors >= 65535 * 16 * 63:
        spt, heads = 255, 16
        cth = sectors // spt
    else:
        spt = 17
        cth = sectors // spt
        heads = max(4, (cth + 1023) // 1024)
        if cth >= heads * 1024 or heads > 16:
            spt, heads = 31, 16
            cth = sectors // spt
        if cth >= heads * 1024:
            spt, heads = 63, 16
            cth = sectors // spt
    cyl = cth // heads
    ts = int(time.time()) - 946684800            # seconds since 2000-01-01
    f = bytearray(512)
    f[0:8] = b"conectix"
    f[8:12] = (2).to_bytes(4, "big")
    f[12:16] = (0x00010000).to_bytes(4, "big")
    f[16:24] = b"\xff" * 8
    f[24:28] = (ts & 0xffffffff).to_bytes(4, "big")
    f[28:32] = b"tap\x00"
    f[32:36] = (0x00010003).to_bytes(4, "big")
    f[36:40] = b"Wi2k"
    f[40:48] = size.to_bytes(8, "big")
    f[48:56] = size.to_bytes(8, "big")
    f[56:58] = cyl.to_bytes(2, "big")
    f[58] = heads
    f[59] = spt
    f[60:64] = (2).to_bytes(4, "big")             # fixed disk
    f[68:84] = uuidlib.UUID(uid).bytes
    f[64:68] = ((~sum(f)) & 0xffffffff).to_bytes(4, "big")
    return bytes(f)


class Exporter:
    """GET /export (XVA: a tar of ova.xml and 1 MiB disk chunks with SHA-1
    .checksum files) and GET /export_raw_vdi (raw, fixed VHD, tar of chunks)."""

    CHUNK = 1 << 20

    def __init__(self, sim):
        self.sim = sim

    def chain_bytes(self, vdi):
        st = self.sim.store
        total = 0
        x = vdi
        while x is not None:
            total += st.tables["VDI"][x]["physical_utilisation"]
            x = self.sim.storage.parent_ref(x)
        return total

    def progress(self, task, p):
        st = self.sim.store
        with st.lock:
            t = st.tables["task"].get(task)
            if t is None:
                return
            if t["status"] == "cancelling":
                st.set("task", task, status="cancelled", finished=XDate(time.time()),
                       allowed_operations=[])
                raise ExportBroken("cancelled")
            st.set("task", task, progress=round(p, 3))

    def auth(self, handler, q):
        sim = self.sim
        s = q.get("session_id")
        if s and s in sim.sessions:
            return s
        a = handler.headers.get("Authorization", "")
        if a.lower().startswith("basic "):
            try:
                user, _, pwd = base64.b64decode(a[6:]).decode().partition(":")
            except Exception:
                return None
            if user == sim.user and pwd == sim.password and not sim.slave_of:
                h = new_ref()
                sim.sessions[h] = {"user": user, "originator": "http-basic", "created": time.time(),
                                   "last": time.time()}
                sim.all_sessions.add(h)
                return h
        return None

    def fail(self, handler, code, desc, task=None):
        body = ("<html><body><h1>HTTP %d</h1>%s</body></html>" % (code, esc(" ".join(desc)))).encode()
        handler.send_response(code)
        if task:
            handler.send_header("task-id", task)
        handler.send_header("content-type", "text/html")
        handler.send_header("Content-Length", str(len(body)))
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.wfile.write(body)
        handler.close_connection = True

    def _task(self, q, label):
        """xapi_http.with_context: with task_id= the handler runs under that task
        (exec_with_forwarded_task: completed, never destroyed); without, under a
        task it creates and destroys when the handler returns
        (Server_helpers.exec_with_new_task). Returns (task, destroy_at_end)."""
        st = self.sim.store
        t = q.get("task_id")
        if t in st.tables["task"]:
            st.set("task", t, progress=0.0)
            return t, False
        return self.sim.create_task(label, "", cancellable=True), True

    def end_task(self, task, own):
        """The end of a handler: a task it created goes away with it."""
        if not own:
            return
        st = self.sim.store
        with st.lock:
            st.delete("task", task)

    def redirect_target(self, handler, vm):
        """export.ml: a VM whose disks are not all on SRs this host sees is
        exported by a host that sees them: 302 to https://<its address>. Returns
        that host's address or None (this host serves the export)."""
        sim, st = self.sim, self.sim.store
        here = handler.server.host_ref
        srs = {st.tables["VDI"][d]["SR"] for _, d in sim._vm_disks(vm)}

        def sees(h):
            return all(any(st.tables["PBD"][p]["host"] == h and st.tables["PBD"][p]["currently_attached"]
                           for p in st.tables["SR"][sr]["PBDs"] if p in st.tables["PBD"])
                       for sr in srs if sr in st.tables["SR"])
        if here is None or sees(here):
            return None
        for h, rec in st.tables["host"].items():
            if h != here and sees(h):
                return rec["address"]
        return None

    def redirect(self, handler, address):
        url = "%s://%s%s" % (self.sim.redirect_scheme, address, handler.path)
        handler.send_response(302)
        handler.send_header("Location", url)
        handler.send_header("Content-Length", "0")
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.close_connection = True

    def export_vm(self, handler, q):
        sim, st = self.sim, self.sim.store
        session = self.auth(handler, q)
        sim.record_call("HTTP GET /export", [q.get("ref") or q.get("uuid"),
                                              q.get("use_compression", "false"),
                                              q.get("task_id", "")], -1)
        if session is None:
            return self.fail(handler, 401, ["Unauthorized"])
        with st.lock:
            vm = q.get("ref") or st.by_uuid["VM"].get(q.get("uuid", ""))
            if not vm or vm not in st.tables["VM"]:
                return self.fail(handler, 404, ["HANDLE_INVALID", "VM", str(vm)])
            v = st.tables["VM"][vm]
            target = self.redirect_target(handler, vm)
            if target is not None:
                sim.record_call("HTTP 302 /export", [target], -1)
                return self.redirect(handler, target)
            task, own = self._task(q, "Export of VM: %s" % v["uuid"])
            try:
                sim.check_vm_operation(vm, "export")
            except XapiError as e:
                st.set("task", task, status="failure", progress=1.0, error_info=e.desc,
                       finished=XDate(time.time()), allowed_operations=[])
                self.fail(handler, 500, e.desc, task)
                return self.end_task(task, own)
            # ova.xml: the exported objects as XML-RPC values, as xapi writes it
            # (objects get short ids "Ref:N"; disk chunks live under the VDI's id)
            objects = [{"class": "VM", "id": "Ref:0", "snapshot": dict(v)}]
            disks = []
            for b, d in sim._vm_disks(vm):
                n = len(objects)
                objects.append({"class": "VBD", "id": "Ref:%d" % n, "snapshot": dict(st.tables["VBD"][b])})
                objects.append({"class": "VDI", "id": "Ref:%d" % (n + 1),
                                "snapshot": dict(st.tables["VDI"][d])})
                disks.append(("Ref:%d" % (n + 1), int(self.chain_bytes(d) * sim.export_scale)))
            ova = ('<?xml version="1.0" ?>' + enc({
                "version": {"hostname": st.tables["host"][sim.master_ref]["hostname"],
                            "date": time.strftime("%Y-%m-%d"), "product_version": "8.3.0",
                            "product_brand": "XCP-ng", "build_number": "cloud",
                            "xapi_major": "24", "xapi_minor": "19", "export_vsn": "2"},
                "objects": objects})).encode()
        comp = {"true": "gzip", "gzip": "gzip", "zstd": "zstd"}.get(
            q.get("use_compression", "false").lower(), "none")
        total = sum(n for _, n in disks) + len(ova)

        def body(sink):
            with tarfile.open(fileobj=sink, mode="w|", format=tarfile.GNU_FORMAT) as tar:
                self._tar_add(tar, "ova.xml", ova)
                for ref_id, n in disks:
                    self._tar_chunks(tar, ref_id, n)
        self._stream(handler, task, "application/octet-stream", "export.xva", total, comp, body)
        self.end_task(task, own)

    def _tar_add(self, tar, name, data):
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.mtime = int(time.time())
        tar.addfile(info, io.BytesIO(data))

    def _tar_chunks(self, tar, prefix, n):
        """Disk data as 1 MiB chunks plus SHA-1 .checksum files (XVA layout)."""
        i = 0
        while n > 0:
            k = min(n, self.CHUNK)
            data = _Pattern.take(k)
            self._tar_add(tar, "%s/%08d" % (prefix, i), data)
            if self.sim.checksum == "xxhash":
                self._tar_add(tar, "%s/%08d.xxhash" % (prefix, i), b"%016X" % xxh64(data))
            else:
                self._tar_add(tar, "%s/%08d.checksum" % (prefix, i),
                              hashlib.sha1(data).hexdigest().encode())
            n -= k
            i += 1

    def export_raw(self, handler, q):
        sim, st = self.sim, self.sim.store
        session = self.auth(handler, q)
        fmt = q.get("format", "raw")
        sim.record_call("HTTP GET /export_raw_vdi", [q.get("vdi"), fmt], -1)
        if session is None:
            return self.fail(handler, 401, ["Unauthorized"])
        types = {"raw": "application/octet-stream", "vhd": "application/vhd",
                 "tar": "application/x-tar", "qcow2": "application/x-qemu-disk"}
        if fmt not in types:
            return self.fail(handler, 404, ["unknown format", fmt])
        with st.lock:
            vdi = q.get("vdi", "")
            vdi = vdi if vdi in st.tables["VDI"] else st.by_uuid["VDI"].get(vdi)
            if not vdi:
                return self.fail(handler, 404, ["HANDLE_INVALID", "VDI", q.get("vdi", "")])
            v = st.tables["VDI"][vdi]
            task, own = self._task(q, "export_raw_vdi")
            vsize = max(512, int(v["virtual_size"] * sim.export_scale) // 512 * 512)
            used = int(self.chain_bytes(vdi) * sim.export_scale)
            uid = v["uuid"]

        def body(sink):
            if fmt == "tar":
                with tarfile.open(fileobj=sink, mode="w|", format=tarfile.GNU_FORMAT) as tar:
                    self._tar_chunks(tar, "Ref:1", used)
                return
            left = vsize
            while left > 0:
                k = min(left, self.CHUNK)
                sink.write(_Pattern.take(k))
                left -= k
            if fmt == "vhd":
                sink.write(vhd_footer(vsize, uid))
        total = used if fmt == "tar" else vsize
        self._stream(handler, task, types[fmt], "%s.%s" % (uid, fmt), total, "none", body)
        self.end_task(task, own)

    def _stream(self, handler, task, ctype, fname, total, comp, body):
        sim, st = self.sim, self.sim.store
        fail = sim.export_fail > 0
        if fail:
            sim.export_fail -= 1
        # xapi answers exports with a bare HTTP/1.0 header block and no length
        hdr = ("HTTP/1.0 200 OK\r\n"
               "Connection: close\r\n"
               "cache-control: no-cache, no-store\r\n"
               "content-type: %s\r\n"
               "content-disposition: attachment; filename=\"%s\"\r\n"
               "task-id: %s\r\n\r\n" % (ctype, fname, task))
        handler.close_connection = True
        try:
            handler.wfile.write(hdr.encode())
            sink = _Sink(self, handler.wfile, comp, total, task, fail)
            body(sink)
            sink.finish()
            with st.lock:
                if task in st.tables["task"]:
                    st.set("task", task, status="success", progress=1.0,
                           finished=XDate(time.time()), allowed_operations=[])
        except (ExportBroken, OSError) as e:
            with st.lock:
                if task in st.tables["task"] and st.tables["task"][task]["status"] == "pending":
                    st.set("task", task, status="failure", progress=1.0,
                           finished=XDate(time.time()), allowed_operations=[],
                           error_info=["VDI_IO_ERROR", "Device I/O errors"] if fail else
                           ["INTERNAL_ERROR", "export stream: %s" % e])
            try:
                handler.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


# ---------------------------------------------------------------------------
# HTTP front end: XML-RPC on / (and /RPC2, any other path), JSON control on /sim
# ---------------------------------------------------------------------------

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"       # keep-alive, as libcurl expects
    disable_nagle_algorithm = True      # header and body go out in separate writes
    server_version = "xapi"
    sys_version = ""

    def version_string(self):
        return self.server_version

    def log_message(self, fmt, *args):
        if self.server.sim.opts.verbose:
            sys.stderr.write("%s - %s\n" % (self.address_string(), fmt % args))

    @property
    def sim(self):
        return self.server.sim

    def _send(self, code, body, ctype="text/xml", extra=()):
        self.send_response(code)
        self.send_header("content-type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _html_error(self, code, msg):
        body = ("<html><body><h1>HTTP %d</h1>%s</body></html>" % (code, esc(msg))).encode()
        self._send(code, body, "text/html", [("Connection", "close")])
        self.close_connection = True

    def do_GET(self):
        u = urlsplit(self.path)
        q = {k: v[-1] for k, v in parse_qs(u.query, keep_blank_values=True).items()}
        if u.path.startswith("/sim/") or u.path == "/sim":
            return Control(self).handle("GET", u.path, q)
        if u.path == "/export":
            return self.sim.exporter.export_vm(self, q)
        if u.path == "/export_raw_vdi":
            return self.sim.exporter.export_raw(self, q)
        self._html_error(404, "Not found")

    def do_POST(self):
        u = urlsplit(self.path)
        if u.path.startswith("/sim/") or u.path == "/sim":
            q = {k: v[-1] for k, v in parse_qs(u.query, keep_blank_values=True).items()}
            return Control(self).handle("POST", u.path, q)
        self.xmlrpc()

    def _read_body(self):
        n = self.headers.get("Content-Length")
        if n is None:
            self._html_error(411, "Content-Length required")
            return None
        n = int(n)
        if n > MAX_BODY:
            self._html_error(413, "Request body too large")
            return None
        return self.rfile.read(n)

    def xmlrpc(self):
        sim = self.sim
        body = self._read_body()
        if body is None:
            return
        drop = False
        if sim.drop_next > 0:
            sim.drop_next -= 1
            drop = True
        if sim.slow and sim.slow[1] > 0:
            sim.slow[1] -= 1
            sim.faults_fired["slow"] += 1
            time.sleep(sim.slow[0])
        expire = False
        if sim.flaky:
            r = sim.flaky_rng.random()
            if r < 0.03:
                drop = True
            elif r < 0.05:
                expire = True
            elif r < 0.09:
                sim.faults_fired["slow"] += 1
                time.sleep(1.5 + sim.flaky_rng.random() * 2.5)
        if urlsplit(self.path).path == "/jsonrpc":
            # JSON-RPC is not modelled: answer as a host without it (text/xml), so
            # clients fall back to XML-RPC (XO's xen-api transports/auto.mjs)
            return self._send(200, failure_body(["MESSAGE_METHOD_UNKNOWN", "jsonrpc"]))
        try:
            params, method = xmlrpc.client.loads(body)
        except Exception as e:
            return self._html_error(500, "Malformed XML-RPC request: %s" % e)
        # xapi (ocaml-rpc xmlrpc.ml call_of_string) needs a params element, in any
        # spelling: <params/>, <params />, <params> </params>
        if not method or not re.search(rb"<params\s*/?\s*>", body):
            return self._html_error(500, "No method name or no params element")
        sm = sim.slow_methods.get(method)
        if sm and sm[1] > 0:
            sm[1] -= 1
            sim.faults_fired["slow"] += 1   # the call has arrived: a test may act on that
            time.sleep(sm[0])
        if self.server.role == "member":
            # a pool member forwards nothing: clients must talk to the master
            st = sim.store
            with st.lock:
                master = st.tables["host"][sim.master_ref]["address"]
            return self._send(200, failure_body(["HOST_IS_SLAVE", master]))
        if method == "system.listMethods":
            out = ('<?xml version="1.0"?><methodResponse><params><param>' +
                   enc(sorted(sim.methods)) + '</param></params></methodResponse>').encode()
            return self._send(200, out)
        if expire:
            sim.faults_fired["expire"] += 1
            sim.expire_sessions()
        _tls.session = None
        try:
            out = success_body(sim.dispatch(method, list(params)))
        except XapiError as e:
            out = failure_body(e.desc)
        except Exception as e:      # a simulator bug: answer like xapi's INTERNAL_ERROR
            import traceback
            traceback.print_exc()
            out = failure_body(["INTERNAL_ERROR", repr(e)])
        if drop:
            sim.faults_fired["drop"] += 1
            # send headers and half the body, then cut the connection
            self.send_response(200)
            self.send_header("content-type", "text/xml")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out[:len(out) // 2])
            self.wfile.flush()
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.close_connection = True
            return
        self._send(200, out)


class Control:
    """JSON control channel for tests (not part of XAPI)."""

    def __init__(self, h):
        self.h = h
        self.sim = h.sim

    def reply(self, obj, code=200):
        body = (json.dumps(obj, indent=None) + "\n").encode()
        self.h._send(code, body, "application/json")

    def body_json(self):
        n = int(self.h.headers.get("Content-Length") or 0)
        raw = self.h.rfile.read(n) if n else b""
        if not raw.strip():
            return {}
        return json.loads(raw)

    def handle(self, verb, path, q):
        sim, st = self.sim, self.sim.store
        path = path.rstrip("/")
        try:
            body = self.body_json() if verb == "POST" else {}
        except ValueError:
            return self.reply({"error": "bad JSON body"}, 400)
        try:
            if verb == "GET" and path == "/sim/calls":
                with sim.calls_lock:
                    return self.reply(list(sim.calls))
            if verb == "POST" and path == "/sim/calls/clear":
                with sim.calls_lock:
                    sim.calls.clear()
                return self.reply({"ok": True})
            if verb == "GET" and path == "/sim/state":
                return self.reply(sim.state())
            if verb == "POST" and path in ("/sim/gc/pause", "/sim/gc/resume"):
                paused = path.endswith("pause")
                if q.get("sr"):
                    with st.lock:
                        sr = sim.find_sr(q["sr"])
                    if sr is None or sr not in sim.gcs:
                        return self.reply({"error": "no such VHD SR: %s" % q["sr"]}, 404)
                    sim.gcs[sr].paused = paused
                    if not paused:
                        sim.gcs[sr].kick.set()
                else:
                    sim.gc_paused_all = paused
                    for g in sim.gcs.values():
                        if not paused:
                            g.paused = False
                        g.kick.set()
                return self.reply({"ok": True, "paused": paused})
            if verb == "POST" and path == "/sim/sr/free":
                # shrink/grow an SR so that it has exactly `bytes` free
                with st.lock:
                    sr = sim.find_sr(q.get("sr", ""))
                    if sr is None:
                        return self.reply({"error": "no such SR"}, 404)
                    rec = st.tables["SR"][sr]
                    size = rec["physical_utilisation"] + int(q.get("bytes", "0"))
                    st.set("SR", sr, physical_size=size)
                    sim.gc_kick(sr)
                return self.reply({"ok": True, "physical_size": size})
            if verb == "POST" and path == "/sim/gc/speed":
                sim.gc_speed = float(q.get("f", body.get("f", 1.0)))
                return self.reply({"ok": True, "gc_speed": sim.gc_speed})
            if verb == "POST" and path == "/sim/snapshot":
                with st.lock:
                    vm = sim.find_vm(q.get("vm", body.get("vm", "")))
                if vm is None:
                    return self.reply({"error": "no such VM"}, 404)
                name = q.get("name") or body.get("name") or "snapshot by another client"
                try:
                    ref = xmlrpc.client.loads(
                        "<methodResponse><params><param>%s</param></params></methodResponse>"
                        % sim.vm_snapshot(vm, name))[0][0]
                except XapiError as e:
                    return self.reply({"error": e.desc}, 409)
                with st.lock:
                    return self.reply({"uuid": st.tables["VM"][ref]["uuid"], "ref": ref})
            if verb == "POST" and path == "/sim/vm/destroy":
                with st.lock:
                    vm = sim.find_vm(q.get("vm", body.get("vm", "")))
                    if vm is None:
                        return self.reply({"error": "no such VM"}, 404)
                    u = st.tables["VM"][vm]["uuid"]
                    sim.destroy_vm_and_disks(vm)
                return self.reply({"ok": True, "uuid": u})
            if verb == "POST" and path == "/sim/vbd/attach":
                # a tool or crashed backup left a disk plugged into a control domain
                with st.lock:
                    vdi = self._find("VDI", q.get("vdi", ""))
                    dom0 = [r for r, v in st.tables["VM"].items() if v["is_control_domain"]]
                    if vdi is None or not dom0:
                        return self.reply({"error": "no such VDI or no control domain"}, 404)
                    n = len(st.tables["VM"][dom0[0]]["VBDs"])
                    ref = sim._add_vbd(dom0[0], vdi, str(n + 1), attached=True)
                    return self.reply({"ok": True, "ref": ref,
                                       "uuid": st.tables["VBD"][ref]["uuid"]})
            if verb == "POST" and path == "/sim/set":
                return self.set_field(body)
            if verb == "POST" and path == "/sim/message":
                return self.message(body)
            if verb == "POST" and path == "/sim/vm/power":
                with st.lock:
                    vm = sim.find_vm(q.get("vm", body.get("vm", "")))
                    state = q.get("state", body.get("state", ""))
                    if vm is None:
                        return self.reply({"error": "no such VM"}, 404)
                    if state not in ("Halted", "Running", "Paused", "Suspended"):
                        return self.reply({"error": "bad state %r" % state}, 400)
                    sim.set_power_state(vm, state)
                return self.reply({"ok": True})
            if verb == "POST" and path == "/sim/export":
                kind = body.get("checksum", "sha1")
                if kind not in ("sha1", "xxhash"):
                    return self.reply({"error": "checksum is sha1 or xxhash"}, 400)
                sim.checksum = kind
                return self.reply({"ok": True, "checksum": kind})
            if verb == "POST" and path == "/sim/fault":
                return self.fault(body)
            if verb == "POST" and path == "/sim/shutdown":
                self.reply({"ok": True})
                threading.Thread(target=sim.shutdown, daemon=True).start()
                return
            return self.reply({"error": "unknown control call %s %s" % (verb, path)}, 404)
        except Exception as e:
            import traceback
            traceback.print_exc()
            return self.reply({"error": repr(e)}, 500)

    def _find(self, cls, key):
        st = self.sim.store
        if key in st.tables[cls]:
            return key
        if key in st.by_uuid[cls]:
            return st.by_uuid[cls][key]
        for r, rec in st.tables[cls].items():
            if rec.get("name_label") == key:
                return r
        return None

    def set_field(self, b):
        """{"class", "uuid"|"ref"|"name", "field", "value"} or, for a map field,
        {"key", "value"} (value null deletes the key).  Emits a mod event."""
        st = self.sim.store
        cls = {c.lower(): c for c in CLASSES}.get(str(b.get("class", "")).lower())
        if cls is None:
            return self.reply({"error": "unknown class"}, 400)
        with st.lock:
            ref = self._find(cls, b.get("ref") or b.get("uuid") or b.get("name") or "")
            if ref is None:
                return self.reply({"error": "no such object"}, 404)
            field = b.get("field")
            rec = st.tables[cls][ref]
            if field not in rec or field == "uuid":
                return self.reply({"error": "bad field %r" % field}, 400)
            if "key" in b:
                if not isinstance(rec[field], dict):
                    return self.reply({"error": "not a map field"}, 400)
                if b.get("value") is None:
                    st.map_del(cls, ref, field, str(b["key"]))
                else:
                    st.map_set(cls, ref, field, str(b["key"]), str(b["value"]))
            else:
                old = rec[field]
                v = b.get("value")
                if isinstance(old, XDate):
                    v = XDate(parse_xapi_time(v))
                elif isinstance(old, bool):
                    v = bool(v)
                elif isinstance(old, int):
                    v = int(v)
                elif isinstance(old, float):
                    v = float(v)
                st.set(cls, ref, **{field: v})
            if cls == "VDI":
                self.sim.storage.update_sr(rec["SR"])
                self.sim.gc_kick(rec["SR"])
        return self.reply({"ok": True, "ref": ref})

    def message(self, b):
        """{"name", "priority", "cls", "obj" (uuid or name of the object), "body"}"""
        st = self.sim.store
        cls = b.get("cls", "SR")
        table = {"VM": "VM", "Host": "host", "SR": "SR", "Pool": "pool", "VDI": "VDI"}.get(cls)
        if table is None:
            return self.reply({"error": "unsupported cls"}, 400)
        with st.lock:
            ref = self._find(table, b.get("obj", ""))
            obj_uuid = st.tables[table][ref]["uuid"] if ref else b.get("obj", "")
            m = self.sim.add_message(str(b.get("name", "ALARM")), int(b.get("priority", 3)), cls,
                                     obj_uuid, str(b.get("body", "")))
            return self.reply({"ok": True, "ref": m, "uuid": st.tables["message"][m]["uuid"]})

    def fault(self, b):
        sim = self.sim
        kind = b.get("kind")
        if "method" in b and kind is None:
            err = b.get("error") or ["INTERNAL_ERROR", "injected fault"]
            sim.faults[b["method"]] = [[str(x) for x in err], int(b.get("count", 1))]
            return self.reply({"ok": True})
        if kind == "expire_sessions":
            sim.faults_fired["expire"] += 1
            sim.expire_sessions()
        elif kind == "drop":
            sim.drop_next = int(b.get("count", 1))
        elif kind == "slow" and b.get("method"):
            # only calls of this method wait (before they are dispatched)
            sim.slow_methods[str(b["method"])] = [float(b.get("seconds", 3)), int(b.get("count", 1))]
        elif kind == "slow":
            sim.slow = [float(b.get("seconds", 3)), int(b.get("count", 1))]
        elif kind == "slow_task" and b.get("method"):
            # the next N tasks of this Async method run S seconds more (the task exists
            # and stays pending meanwhile: a client killed then finds it pending)
            sim.slow_tasks[str(b["method"])] = [float(b.get("seconds", 3)), int(b.get("count", 1))]
        elif kind == "no_certificates":
            # a pool on xapi before the Certificate class (Stockholm): its calls are unknown
            sim.no_certificate_class = True
        elif kind == "redirect_http":
            # hostile, not xapi: the 302 to a member names http:// (xapi's is always https)
            sim.redirect_scheme = "http"
        elif kind == "export_slow":
            sim.export_delay = float(b.get("seconds_per_mib", 1.0))
        elif kind == "export_fail":
            sim.export_fail = int(b.get("count", 1))
        elif kind in ("unpause", "gc_fail", "coalesce_error"):
            # SM faults on one SR's GC: the next leaf-coalesce cannot unpause its leaf,
            # the next run fails, or the next merge fails with errno b["errno"]
            with sim.store.lock:
                sr = sim.find_sr(str(b.get("sr", "")))
            if sr is None or sr not in sim.gcs:
                return self.reply({"error": "no such VHD SR: %s" % b.get("sr")}, 404)
            g = sim.gcs[sr]
            if kind == "coalesce_error":
                g.inject[kind] = str(b.get("errno", "EIO"))
            else:
                g.inject[kind] = int(b.get("count", 1))
            g.kick.set()
        elif kind == "clear":
            sim.faults.clear()
            sim.drop_next = 0
            sim.slow = None
            sim.slow_methods.clear()
            sim.slow_tasks.clear()
            sim.no_certificate_class = False
            sim.redirect_scheme = "https"
            sim.export_delay = 0.0
            sim.export_fail = 0
        else:
            return self.reply({"error": "unknown fault %r" % (b,)}, 400)
        return self.reply({"ok": True})


class SimServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # xapi accepts many clients at once; Python's default backlog of 5 drops
    # connections when a client opens several in parallel
    request_queue_size = 128
    ssl_ctx = None
    role = "master"          # "member": serves /export only (the 302 target)
    host_ref = None          # the host this listener is

    def finish_request(self, request, client_address):
        # TLS handshake in the per-connection thread, so a slow client never
        # blocks accept()
        if self.ssl_ctx is not None:
            try:
                request = self.ssl_ctx.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                return
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address):
        # dropped connections are normal here (clients, fault injection)
        if self.sim.opts.verbose:
            super().handle_error(request, client_address)


# ---------------------------------------------------------------------------
# Scenarios
# ---------------------------------------------------------------------------

def iso_day(ts):
    return time.strftime("%Y-%m-%d", time.gmtime(ts))


def chaintop_time(ts):
    return time.strftime("%Y%m%dT%H:%M:%SZ", time.gmtime(ts))


class Builder:
    """Builds a pool deterministically from the seed (uuids/refs come from rng)."""

    def __init__(self, sim):
        self.sim = sim
        self.st = sim.store
        self.stor = sim.storage
        self.rng = sim.rng
        self.now = time.time()
        self.hosts = []
        self.host_n = 0

    def ref(self):
        return new_ref(self.rng)

    def uuid(self):
        return new_uuid(self.rng)

    def pool(self, name):
        rec = make_record("pool", uuid=self.uuid(), name_label=name,
                          other_config={"memory-ratio-hvm": "0.25", "memory-ratio-pv": "0.25"},
                          cpu_info={"cpu_count": "32", "socket_count": "2", "vendor": "GenuineIntel"},
                          allowed_operations=["ha_enable", "cluster_create", "designate_new_master"])
        self.sim.pool_ref = self.st.add("pool", rec, self.ref())
        return self.sim.pool_ref

    def host(self, name, address):
        self.host_n += 1
        rec = make_record(
            "host", uuid=self.uuid(), name_label=name, hostname=name, address=address,
            name_description="Default install", memory_overhead=1031798784,
            software_version={"product_version": "8.3.0", "product_version_text": "8.3",
                              "product_version_text_short": "8.3", "platform_name": "XCP",
                              "platform_version": "3.4.0", "product_brand": "XCP-ng",
                              "build_number": "cloud", "git_id": "0", "hostname": "localhost",
                              "date": "2024-10-02", "xapi": "24.19", "xapi_build": "24.19.2",
                              "xen": "4.17.5-3", "linux": "4.19.0+1", "xencenter_min": "2.21",
                              "xencenter_max": "2.21", "network_backend": "openvswitch",
                              "db_schema": "5.786"},
            cpu_info={"cpu_count": "16", "socket_count": "1", "vendor": "GenuineIntel",
                      "speed": "2893.202", "modelname": "Intel(R) Xeon(R) Silver 4314 CPU @ 2.40GHz",
                      "family": "6", "model": "106", "stepping": "6", "flags": "fpu de tsc msr pae",
                      "features": "", "features_pv": "", "features_hvm": "",
                      "features_pv_host": "", "features_hvm_host": ""},
            API_version_vendor_implementation={}, iscsi_iqn="iqn.2024-10.com.example:%s" % name,
            capabilities=["xen-3.0-x86_64", "hvm-3.0-x86_32", "hvm-3.0-x86_32p", "hvm-3.0-x86_64"],
            allowed_operations=["vm_migrate", "provision", "vm_resume", "evacuate", "vm_start"],
            other_config={"agent_start_time": "%d." % int(self.now - 86400 * 12),
                          "boot_time": "%d." % int(self.now - 86400 * 12),
                          "iscsi_iqn": "iqn.2024-10.com.example:%s" % name})
        href = self.st.add("host", rec, self.ref())
        if self.sim.master_ref is None:
            self.sim.master_ref = href
            self.st.set("pool", self.sim.pool_ref, master=href)
        self.hosts.append(href)
        # the control domain
        dom0 = self.vm("Control domain on host: %s" % name, "Running", [], host=href,
                       dom0=True, memory=4 * GiB, vcpus=16)
        self.st.set("host", href, control_domain=dom0)
        return href

    def sr(self, name, stype, size, shared=True, host=None, desc="", content_type="user"):
        rec = make_record(
            "SR", uuid=self.uuid(), name_label=name, name_description=desc, type=stype,
            content_type=content_type, shared=shared, physical_size=size,
            sm_config={"allocation": "thick" if stype in THICK_SR_TYPES else "thin"}
            if stype in VHD_SR_TYPES else {},
            other_config={"auto-scan": "true"} if stype == "iso" else {},
            allowed_operations=["vdi_create", "vdi_clone", "vdi_snapshot", "vdi_destroy",
                                "vdi_resize", "scan", "update", "plug", "unplug",
                                "vdi_introduce", "pbd_create", "pbd_destroy"]
            if stype in VHD_SR_TYPES else ["scan", "update", "plug", "unplug", "vdi_introduce"])
        sref = self.st.add("SR", rec, self.ref())
        for h in (self.hosts if shared else [host or self.hosts[0]]):
            cfg = {"nfs": {"server": "10.10.0.20", "serverpath": "/export/%s" % name, "nfsversion": "4.1"},
                   "lvmoiscsi": {"target": "10.10.0.30", "port": "3260",
                                 "targetIQN": "iqn.2001-05.com.equallogic:%s" % name,
                                 "SCSIid": "36090a0b8001122334455667788990011"},
                   "ext": {"device": "/dev/sdb"}, "lvm": {"device": "/dev/sdc"},
                   "iso": {"location": "10.10.0.20:/export/iso", "type": "nfs_iso"},
                   "udev": {"location": "/dev/xapi/cd"}}.get(stype, {})
            pbd = make_record("PBD", uuid=self.uuid(), host=h, SR=sref, device_config=dict(cfg),
                              currently_attached=True)
            pref = self.st.add("PBD", pbd, self.ref())
            self.st.list_add("SR", sref, "PBDs", pref)
            self.st.list_add("host", h, "PBDs", pref)
        if stype in VHD_SR_TYPES and self.st.tables["pool"][self.sim.pool_ref]["default_SR"] == NULL:
            self.st.set("pool", self.sim.pool_ref, default_SR=sref, suspend_image_SR=sref,
                        crash_dump_SR=sref)
        return sref

    def iso(self, sr, name, size):
        r = self.stor.new_vdi(sr, name, size, size, rng=self.rng)
        self.st.set("VDI", r, location=name, read_only=True, sharable=False, allowed_operations=[])
        return r

    def vm(self, name, power, disks, host=None, dom0=False, memory=4 * GiB, vcpus=2,
           template=False, other_config=None, cd=None, desc=""):
        """disks: list of (sr, virtual GiB, used fraction or bytes, disk name)."""
        running = power in ("Running", "Paused")
        host = host or (self.hosts[self.rng.randrange(len(self.hosts))] if self.hosts and running else NULL)
        rec = make_record(
            "VM", uuid=self.uuid(), name_label=name, name_description=desc, power_state=power,
            is_control_domain=dom0, resident_on=host if running else NULL,
            memory_static_max=memory, memory_dynamic_max=memory, memory_dynamic_min=memory,
            memory_target=memory if running else 0, VCPUs_max=vcpus, VCPUs_at_startup=vcpus,
            is_a_template=template, domid=(0 if dom0 else self.rng.randint(1, 300)) if running else -1,
            domain_type="pv" if dom0 else "hvm", other_config=dict(other_config or {}),
            user_version=1, generation_id="" if dom0 else "%d:%d" % (self.rng.getrandbits(60), self.rng.getrandbits(60)),
            hardware_platform_version=2, has_vendor_device=not dom0 and self.rng.random() < 0.3,
            NVRAM={},
            allowed_operations=(["snapshot", "clone", "copy", "export", "destroy", "start",
                                 "start_on", "changing_VCPUs", "make_into_template"]
                                if power == "Halted" else
                                ["snapshot", "checkpoint", "clean_reboot", "clean_shutdown",
                                 "hard_reboot", "hard_shutdown", "pause", "suspend",
                                 "pool_migrate", "migrate_send"]) if not dom0 else [])
        if dom0:
            rec["other_config"].update({"storage_driver_domain": "OpaqueRef:NULL",
                                        "is_system_domain": "true"})
            rec["allowed_operations"] = []
        vref = self.st.add("VM", rec, self.ref())
        if running and host != NULL:
            self.st.list_add("host", host, "resident_VMs", vref)
        for i, (sr, gib, used, dname) in enumerate(disks):
            virt = int(gib * GiB)
            phys = int(used * virt) if used <= 1 else int(used)
            vdi = self.stor.new_vdi(sr, dname or ("%s %s" % (name, "0" if i == 0 else i)), virt,
                                    phys, rng=self.rng,
                                    desc="Created by template provisioner" if i == 0 else "")
            self.sim._add_vbd(vref, vdi, i, attached=running, bootable=(i == 0), rng=self.rng)
        if not dom0 and (cd is not None or not template):
            self.sim._add_vbd(vref, cd or NULL, 3, vtype="CD", mode="RO", attached=running,
                              rng=self.rng)
        return vref

    def disks(self, vm):
        return [d for _, d in self.sim._vm_disks(vm)]

    def write(self, vm, nbytes_each):
        """Data written to the leaves since the last snapshot."""
        for d in self.disks(vm):
            v = self.st.tables["VDI"][d]
            if self.stor.is_thick(v["SR"]):
                continue
            self.st.set("VDI", d, physical_utilisation=min(v["virtual_size"], int(nbytes_each)))
            self.stor.update_sr(v["SR"])

    def snap(self, vm, name, days_ago, other_config=None, write=None):
        when = self.now - days_ago * DAY
        s = self.sim._do_snapshot(vm, name, other_config, when, rng=self.rng)
        if write:
            self.write(vm, write)
        return s

    def drop_snapshot_disks(self, snap_vm):
        """Delete a snapshot VM and its VDIs (leaves its base copies single-child)."""
        self.sim.destroy_vm_and_disks(snap_vm)

    def stacked(self, vm, n, days=(30, 20, 10)):
        """n snapshots taken then deleted: n single-child base copies above the disk."""
        for i in range(n):
            s = self.snap(vm, "tmp", days[i % len(days)] - i, write=(3 + i) * GiB)
            self.drop_snapshot_disks(s)

    def templates(self, sr):
        for name in ("Debian Bookworm 12", "Ubuntu Jammy Jellyfish 22.04",
                     "Windows Server 2022 (64-bit)", "Rocky Linux 9", "Other install media"):
            t = self.vm(name, "Halted", [], template=True,
                        other_config={"default_template": "true", "linux_template": "true"})
            self.st.set("VM", t, is_default_template=True,
                        allowed_operations=["clone", "copy", "export", "provision"])
        t = self.vm("tpl-ubuntu-2204-base", "Halted", [(sr, 20, 0.2, "tpl-ubuntu-2204-base root")],
                    template=True)
        self.st.set("VM", t, allowed_operations=["clone", "copy", "export", "provision", "destroy"])


def build_demo(sim, small=False):
    b = Builder(sim)
    b.pool(sim.opts.pool_name or "prod-pool")
    h1 = b.host("xcp-prod-01", "10.10.0.11")
    b.host("xcp-prod-02", "10.10.0.12")
    TiB = 1024 * GiB
    nfs = b.sr("nfs-vmstore", "nfs", 4 * TiB, desc="NFS VM store (TrueNAS)")
    ext = b.sr("local-ext", "ext", 900 * GiB, shared=False, host=h1, desc="Local storage")
    lvm = b.sr("iscsi-lvm", "lvmoiscsi", 3 * TiB, desc="EqualLogic iSCSI")
    isos = b.sr("ISOs", "iso", 200 * GiB, desc="ISO library", content_type="iso")
    dvd_sr = b.sr("DVD drives", "udev", 0, shared=False, host=h1, desc="Physical DVD drives",
                  content_type="iso")
    deb = b.iso(isos, "debian-12.8.0-amd64-netinst.iso", 660 * MiB)
    b.iso(isos, "ubuntu-22.04.5-live-server-amd64.iso", 2 * GiB)
    win = b.iso(isos, "SERVER_EVAL_x64FRE_en-us.iso", 5 * GiB)
    b.iso(isos, "guest-tools.iso", 60 * MiB)
    b.templates(nfs)
    vms = {}

    def mk(name, power, disks, **kw):
        vms[name] = b.vm(name, power, disks, **kw)
        return vms[name]

    names = ["web01", "web02", "web03", "web04"] if not small else ["web01", "web02"]
    for n in names:
        mk(n, "Running", [(nfs, 40, 0.35, None)], memory=4 * GiB)
    if small:
        mk("db-primary", "Running", [(lvm, 100, 0.5, None), (lvm, 200, 0.6, "db-primary data")])
        mk("jenkins", "Running", [(nfs, 80, 0.5, None)])
        b.snap(vms["web01"], "web01 before-deploy", 2, write=2 * GiB)
        s = b.snap(vms["jenkins"], "jenkins tmp", 1, write=6 * GiB)
        b.drop_snapshot_disks(s)
        return b
    mk("db-primary", "Running", [(lvm, 100, 0.5, None), (lvm, 300, 0.7, "db-primary pgdata")],
       memory=32 * GiB, vcpus=8)
    mk("db-replica", "Running", [(lvm, 100, 0.5, None), (lvm, 300, 0.7, "db-replica pgdata")],
       memory=32 * GiB, vcpus=8)
    mk("mail", "Running", [(nfs, 60, 0.4, None), (nfs, 250, 0.55, "mail maildirs")], memory=8 * GiB)
    mk("gitlab", "Running", [(nfs, 100, 0.6, None), (nfs, 200, 0.5, "gitlab repos")],
       memory=16 * GiB, vcpus=4)
    mk("jenkins", "Running", [(nfs, 80, 0.5, None)], memory=8 * GiB, vcpus=4)
    for n in ("build-agent-01", "build-agent-02", "build-agent-03"):
        mk(n, "Running", [(ext, 60, 0.45, None)], host=h1, memory=8 * GiB, vcpus=4)
    mk("dc01", "Running", [(nfs, 60, 0.5, None)], cd=win)
    mk("dc02", "Running", [(nfs, 60, 0.5, None)])
    mk("fileserver", "Running", [(nfs, 40, 0.3, None), (nfs, 1000, 0.45, "fileserver shares")])
    mk("vpn-gw", "Running", [(nfs, 10, 0.4, None)], memory=1 * GiB)
    mk("monitoring", "Running", [(nfs, 50, 0.6, None)])
    mk("grafana", "Running", [(nfs, 20, 0.3, None)])
    mk("elk-01", "Running", [(ext, 40, 0.3, None), (ext, 300, 0.5, "elk-01 indices")], host=h1,
       memory=16 * GiB)
    mk("redis-01", "Running", [(lvm, 20, 0.3, None)])
    mk("rabbitmq", "Running", [(nfs, 20, 0.4, None)])
    mk("nextcloud", "Running", [(nfs, 40, 0.4, None), (nfs, 500, 0.3, "nextcloud data")])
    mk("wiki", "Running", [(nfs, 30, 0.3, None)])
    mk("proxy-01", "Running", [(nfs, 10, 0.3, None)], memory=1 * GiB)
    mk("k8s-master", "Running", [(nfs, 40, 0.3, None)])
    mk("k8s-worker-01", "Running", [(nfs, 100, 0.4, None)], memory=16 * GiB)
    mk("k8s-worker-02", "Running", [(nfs, 100, 0.4, None)], memory=16 * GiB)
    mk("backup-proxy", "Running", [(nfs, 20, 0.3, None)])
    mk("legacy-erp", "Running", [(nfs, 80, 0.5, None)], memory=8 * GiB,
       desc="Old ERP, nightly snapshots by cron script")
    mk("test-win10", "Halted", [(nfs, 64, 0.4, None)], cd=win)
    mk("dev-sandbox", "Halted", [(ext, 40, 0.2, None)], cd=deb)
    mk("old-crm", "Halted", [(lvm, 80, 0.5, None)])
    mk("print-server", "Suspended", [(nfs, 30, 0.4, None)])
    susp = b.stor.new_vdi(nfs, "Suspend image", 2 * GiB + 8 * MiB, 2 * GiB, vtype="suspend",
                          rng=b.rng, desc="Suspend image")
    b.st.set("VM", vms["print-server"], suspend_VDI=susp, suspend_SR=nfs)
    # the host's physical DVD drive, as every real pool shows it
    dvd = b.stor.new_vdi(dvd_sr, "SCSI 2:0:0:0", 0, 0, rng=b.rng, desc="PLDS DVD-ROM")
    b.st.set("VDI", dvd, location="/dev/xapi/cd/sr0", allowed_operations=[],
             sm_config={"hotplugged_at": "2026-01-01T00:00:00Z", "type": "cd"})

    # healthy chains: one recent snapshot each (base copy with two children)
    for n in ("web01", "web02", "dc02", "wiki", "grafana", "k8s-master", "redis-01", "db-replica"):
        b.snap(vms[n], "%s before-patch %s" % (n, iso_day(b.now - 3 * DAY)), 3,
               write=int(1.5 * GiB))
    # stale snapshots (40+ days)
    b.snap(vms["db-primary"], "before-pg16-upgrade", 47, write=12 * GiB)
    b.snap(vms["mail"], "pre-patch", 63, write=9 * GiB)
    b.snap(vms["dc01"], "pre-KB5034441", 41, write=8 * GiB)
    b.snap(vms["old-crm"], "old-crm final before decommission", 95)
    # deep chain: nightly snapshots never cleaned up -> depth 27
    for i in range(26):
        b.snap(vms["legacy-erp"], "legacy-erp nightly %s" % iso_day(b.now - (26 - i) * DAY),
               26 - i, write=int((0.4 + 0.05 * (i % 5)) * GiB))
    # pending coalesce: snapshots deleted, GC has work
    b.stacked(vms["gitlab"], 3)                       # 2 stacked + leaf-coalesce
    b.stacked(vms["elk-01"], 2)
    s = b.snap(vms["jenkins"], "jenkins pre-plugin-update", 1, write=7 * GiB)
    b.drop_snapshot_disks(s)                          # leaf-coalesce pending
    b.stacked(vms["nextcloud"], 1)
    b.snap(vms["nextcloud"], "nextcloud before 29.0.4", 5, write=3 * GiB)
    # snapshot whose source VM was deleted
    old = b.vm("intranet-old", "Halted", [(nfs, 40, 0.5, None)])
    b.snap(old, "intranet-old final", 120)
    b.sim.destroy_vm_and_disks(old)
    # orphan VDIs: nobody uses them
    b.stor.new_vdi(nfs, "restore-tmp", 100 * GiB, 37 * GiB, rng=b.rng,
                   desc="temporary restore target")
    b.stor.new_vdi(ext, "scratch-disk-2", 50 * GiB, 12 * GiB, rng=b.rng)
    # messages
    sim.add_message("VM_STARTED", 5, "VM", b.st.tables["VM"][vms["web01"]]["uuid"],
                    "VM 'web01' started", when=b.now - 2 * DAY, rng=b.rng)
    sim.add_message("ALARM", 3, "VM", b.st.tables["VM"][vms["jenkins"]]["uuid"],
                    "value: 0.97\nconfig:\n<variable><name value=\"cpu_usage\"/></variable>",
                    when=b.now - 3600, rng=b.rng)
    sim.background.append(OtherBackupTool(sim))
    return b


class OtherBackupTool(threading.Thread):
    """Keeps the demo lively: 'another backup tool' snapshots a random running VM
    every ~45 s and deletes its snapshot again a couple of minutes later."""

    def __init__(self, sim, every=45.0):
        super().__init__(daemon=True, name="other-backup-tool")
        self.sim = sim
        self.every = every
        self.rng = random.Random((sim.opts.seed or 0) + 99)

    def run(self):
        sim, st = self.sim, self.sim.store
        pending = []           # (delete at, snapshot ref)
        next_snap = time.time() + self.every * (0.5 + self.rng.random())
        while not sim.stop.wait(1.0):
            now = time.time()
            for t, s in list(pending):
                if now >= t:
                    pending.remove((t, s))
                    with st.lock:
                        if s in st.tables["VM"]:
                            sim.destroy_vm_and_disks(s)
            if now < next_snap:
                continue
            next_snap = now + self.every * (0.7 + 0.6 * self.rng.random())
            with st.lock:
                cands = sorted(r for r, v in st.tables["VM"].items()
                               if v["power_state"] == "Running" and not v["is_control_domain"]
                               and v["name_label"] != "legacy-erp")
            if not cands:
                continue
            vm = cands[self.rng.randrange(len(cands))]
            try:
                name = st.tables["VM"][vm]["name_label"]
                stamp = chaintop_time(now)
                val = sim.vm_snapshot(vm, "[XO Backup offsite] %s" % name, other_config={
                    "xo:backup:job": "6c1c7a3e-offsite", "xo:backup:schedule": "daily",
                    "xo:backup:vm": st.tables["VM"][vm]["uuid"], "xo:backup:datetime": stamp})
                ref = re.search(r"OpaqueRef:[0-9a-f-]+", val).group(0)
                pending.append((now + 60 + 90 * self.rng.random(), ref))
            except XapiError:
                pass


def build_coalescing(sim):
    b = Builder(sim)
    b.pool(sim.opts.pool_name or "coalesce-lab")
    b.host("lab-host-01", "10.20.0.11")
    nfs = b.sr("nfs-01", "nfs", 2048 * GiB)
    lvm = b.sr("lvm-01", "lvm", 1024 * GiB, shared=False)
    h = b.vm("healthy-vm", "Running", [(nfs, 40, 0.4, None)])
    b.snap(h, "healthy-vm snap", 2, write=1 * GiB)
    s = b.vm("stacked-vm", "Running", [(nfs, 60, 0.5, None)])
    b.stacked(s, 3)
    lp = b.vm("leafpending-vm", "Running", [(nfs, 40, 0.4, None)])
    t = b.snap(lp, "leafpending tmp", 1, write=2 * GiB)
    b.drop_snapshot_disks(t)
    b.vm("lvm-vm", "Running", [(lvm, 50, 0.5, None)])
    return b


def build_deep(sim):
    b = Builder(sim)
    b.pool(sim.opts.pool_name or "deep-lab")
    b.host("deep-host-01", "10.30.0.11")
    nfs = b.sr("nfs-deep", "nfs", 4096 * GiB)
    d = b.vm("deep-vm", "Running", [(nfs, 40, 0.5, None)])
    for i in range(28):      # 28 base copies + the leaf = depth 29
        b.snap(d, "deep-vm hourly %02d" % i, (28 - i) / 24.0, write=int(0.3 * GiB))
    h = b.vm("healthy-vm", "Running", [(nfs, 40, 0.4, None)])
    b.snap(h, "healthy-vm snap", 1, write=1 * GiB)
    return b


def build_prune(sim):
    b = Builder(sim)
    b.pool(sim.opts.pool_name or "prune-lab")
    b.host("prune-host-01", "10.40.0.11")
    nfs = b.sr("nfs-prune", "nfs", 2048 * GiB)
    app01 = b.vm("app01", "Running", [(nfs, 40, 0.5, None), (nfs, 100, 0.3, "app01 data")])
    b.snap(app01, "app01 weekly", 40, write=3 * GiB)
    mid = b.snap(app01, "app01 before-migration", 20, write=2 * GiB)
    t = b.now - 2 * DAY
    tags = {"chaintop:job": "nightly", "chaintop:vm": b.st.tables["VM"][app01]["uuid"],
            "chaintop:time": chaintop_time(t), "chaintop:run": "42"}
    b.snap(app01, "app01 nightly %s" % iso_day(t), 2, other_config=tags, write=1 * GiB)
    app02 = b.vm("app02", "Running", [(nfs, 60, 0.4, None)])
    b.snap(app02, "pre-upgrade", 60, write=5 * GiB)
    legacy = b.vm("legacy", "Halted", [(nfs, 30, 0.5, None)])
    b.snap(legacy, "legacy-snap", 90)
    sim.destroy_vm_and_disks(legacy)
    b.stor.new_vdi(nfs, "orphan-data", 50 * GiB, 20 * GiB, rng=b.rng)
    app03 = b.vm("app03", "Suspended", [(nfs, 30, 0.4, None)])
    susp = b.stor.new_vdi(nfs, "Suspend image", 4 * GiB + 8 * MiB, 4 * GiB, vtype="suspend",
                          rng=b.rng, desc="Suspend image")
    b.st.set("VM", app03, suspend_VDI=susp, suspend_SR=nfs)
    proxy = b.vm("backup-proxy", "Running", [(nfs, 20, 0.3, None)])
    # an old snapshot disk of app01, still mounted by the backup proxy
    snapdisk = [d for _, d in sim._vm_disks(mid)][1]
    sim._add_vbd(proxy, snapdisk, 1, mode="RO", attached=True, rng=b.rng)
    return b


def build_backup(sim):
    b = Builder(sim)
    b.pool(sim.opts.pool_name or "backup-lab")
    b.host("backup-host-01", "10.50.0.11")
    nfs = b.sr("nfs-backup", "nfs", 2048 * GiB)
    full = b.sr("lvm-full", "lvm", 560 * GiB, shared=False)
    b.vm("web01", "Running", [(nfs, 40, 0.4, None)])
    b.vm("web02", "Running", [(nfs, 40, 0.4, None)])
    s = b.vm("stacked-vm", "Running", [(nfs, 60, 0.5, None)])
    b.stacked(s, 3)
    b.vm("bigdisk-vm", "Running", [(full, 500, 0.6, None)])
    b.vm("halted-vm", "Halted", [(nfs, 30, 0.3, None)])
    return b


def build_big(sim):
    b = Builder(sim)
    n = sim.opts.vms or 2000
    b.pool(sim.opts.pool_name or "big-pool")
    nhosts = max(2, min(16, n // 100))
    for i in range(nhosts):
        b.host("xcp-big-%02d" % (i + 1), "10.60.%d.%d" % (i // 200, 11 + i % 200))
    TiB = 1024 * GiB
    srs = [b.sr("nfs-prod-%02d" % (i + 1), "nfs", 64 * TiB) for i in range(4)]
    srs += [b.sr("iscsi-lvm-%02d" % (i + 1), "lvmoiscsi", 128 * TiB) for i in range(2)]
    isos = b.sr("ISOs", "iso", 500 * GiB, content_type="iso")
    b.iso(isos, "debian-12.8.0-amd64-netinst.iso", 660 * MiB)
    b.iso(isos, "rhel-9.4-x86_64-dvd.iso", 10 * GiB)
    b.templates(srs[0])
    prefixes = ["web", "app", "db", "cache", "worker", "api", "batch", "mq", "search", "ci"]
    rng = b.rng
    for i in range(n):
        name = "%s-%04d" % (prefixes[i % len(prefixes)], i + 1)
        sr = srs[rng.randrange(len(srs))]
        r = rng.random()
        ndisks = 1 if r < 0.4 else (2 if r < 0.8 else 3)
        disks = [(sr, rng.choice((20, 40, 60, 100)), 0.2 + 0.6 * rng.random(), None)
                 for _ in range(ndisks)]
        vm = b.vm(name, "Running" if rng.random() < 0.8 else "Halted", disks)
        r = rng.random()
        if r < 0.35:
            b.snap(vm, "%s daily" % name, rng.randint(1, 60), write=int(rng.random() * 4 * GiB))
        elif r < 0.55:
            b.stacked(vm, rng.randint(1, 3))
        elif r < 0.85:
            b.snap(vm, "%s weekly" % name, rng.randint(8, 30), write=GiB)
            b.snap(vm, "%s daily" % name, rng.randint(1, 7), write=GiB)
    return b


def cert_fingerprints(pem):
    der = ssl.PEM_cert_to_DER_cert(pem)

    def colon(h):
        return ":".join("%02X" % b for b in h)
    return colon(hashlib.sha256(der).digest()), colon(hashlib.sha1(der).digest())


def add_certificate(sim, host, pem):
    """A Certificate record of type host, as xapi keeps one per host
    (datamodel_certificate.ml), and the PEM host.get_server_certificate returns."""
    sha256, sha1 = cert_fingerprints(pem)
    sim.host_certs[host] = pem
    now = time.time()
    rec = make_record("Certificate", uuid=new_uuid(sim.rng), type="host", host=host,
                      not_before=XDate(now - 86400), not_after=XDate(now + 3650 * 86400),
                      fingerprint=sha256, fingerprint_sha256=sha256, fingerprint_sha1=sha1)
    ref = sim.store.add("Certificate", rec, new_ref(sim.rng))
    sim.store.list_add("host", host, "certificates", ref)


def build_member(sim):
    """--member-tls: a pool member serving /export on its own listener and
    certificate, with a local SR and a VM whose disk lives there (exports of
    that VM are redirected to it by the master, export.ml)."""
    b = Builder(sim)
    b.hosts = [h for h in sim.store.tables["host"]]
    st = sim.store
    pool = st.tables["pool"][sim.pool_ref]["name_label"]
    member = b.host("%s-member" % pool, sim.member_address)
    local = b.sr("Local storage on %s-member" % pool, "ext", 200 * GiB, shared=False, host=member)
    b.vm("member-vm", "Halted", [(local, 20, 0.3, None)], host=member)
    sim.member_ref = member
    if sim.master_pem:
        add_certificate(sim, sim.master_ref, sim.master_pem)
    add_certificate(sim, member, sim.member_pem)


def build_slave(sim):
    build_demo(sim, small=True)
    m = sim.opts.master or "192.0.2.10"
    if "://" in m:
        m = urlsplit(m).netloc
    sim.slave_of = m
    sim.background.clear()


def build_owners(sim):
    """A pool holding every object prune must never destroy (issue 13 section 2), next to
    what it may: a stale chaintop snapshot, an old manual checkpoint and a plain orphan."""
    b = Builder(sim)
    st = b.st
    b.pool(sim.opts.pool_name or "owners-lab")
    b.host("owners-host-01", "10.70.0.11")
    nfs = b.sr("nfs-owners", "nfs", 2048 * GiB)
    raw = b.sr("iscsi-raw-luns", "iscsi", 2048 * GiB, desc="LUN per VDI")
    app01 = b.vm("app01", "Running", [(nfs, 40, 0.4, None)])
    app01_uuid = st.tables["VM"][app01]["uuid"]
    # chaintop's own stale backup snapshot (tagged as src/jobs/backup.c tags them)
    t = b.now - 20 * DAY
    b.snap(app01, "app01 nightly %s" % iso_day(t), 20, write=GiB,
           other_config={"chaintop:job": "nightly", "chaintop:vm": app01_uuid,
                         "chaintop:time": chaintop_time(t), "chaintop:run": "7"})
    # Xen Orchestra's rolling snapshot: the keys on the snapshot VM and its VDIs
    # (@xen-orchestra/backups _otherConfig.mjs setVmOtherConfig / markExportSuccessfull)
    t = b.now - 21 * DAY
    xo = {"xo:backup:datetime": time.strftime("%Y%m%dT%H:%M:%SZ", time.gmtime(t)),
          "xo:backup:job": "5f0a2c1e-8d5b-4c47-9d8e-0f4b6e1a2b3c",
          "xo:backup:schedule": "9a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
          "xo:backup:vm": app01_uuid, "xo:backup:exported": "true"}
    b.snap(app01, "[XO Backup nightly-delta] app01", 21, other_config=xo, write=GiB)
    # an old manual checkpoint: VM.destroy leaves its suspend image behind
    app02 = b.vm("app02", "Running", [(nfs, 30, 0.3, None)])
    ck = b.snap(app02, "app02 before upgrade", 40, write=GiB)
    susp = b.stor.new_vdi(nfs, "Suspend image", 4 * GiB + 8 * MiB, 4 * GiB, vtype="suspend",
                          rng=b.rng, desc="Suspend image")
    st.set("VM", ck, suspend_VDI=susp, suspend_SR=nfs,
           snapshot_info={"power-state-at-snapshot": "Running"})
    # a VMSS schedule and one of its snapshots
    db01 = b.vm("db01", "Running", [(nfs, 60, 0.5, None)])
    vmss = st.add("VMSS", make_record("VMSS", uuid=b.uuid(), name_label="daily-db",
                                      schedule={"hour": "2", "min": "0"}, VMs=[db01]),
                  b.ref())
    st.set("VM", db01, snapshot_schedule=vmss)
    vs = b.snap(db01, "db01-20261101-0200", 30, write=GiB)
    st.set("VM", vs, is_vmss_snapshot=True)
    # an old snapshot whose destroy is blocked (xapi: OPERATION_BLOCKED)
    bl = b.snap(db01, "db01 audit hold", 60, write=GiB)
    st.set("VM", bl, blocked_operations={"destroy": "Kept for audit (ticket 4411)"})
    # a VDI-level snapshot no snapshot VM holds (VDI.snapshot, as CBT backup tools do)
    b.stor.snapshot_vdi(b.disks(db01)[0], b.now - 15 * DAY, b.rng)
    # a disk SM has attached on the master without a VBD (blktap2 host_<ref> key)
    b.stor.new_vdi(nfs, "export-staging", 20 * GiB, 5 * GiB, rng=b.rng,
                   sm_extra={"host_" + sim.master_ref: "RW"})
    # the two sides of a storage migration (storage_migrate.ml sm_config keys)
    src = b.stor.new_vdi(nfs, "web09 0 (migrating)", 30 * GiB, 10 * GiB, rng=b.rng,
                         sm_extra={"mirror": "nbd:vbd/1/xvda"})
    b.stor.new_vdi(nfs, "web09 0 (mirror destination)", 30 * GiB, 10 * GiB, rng=b.rng,
                   sm_extra={"base_mirror": "%s/%s" % (st.tables["SR"][nfs]["uuid"],
                                                       st.tables["VDI"][src]["uuid"])})
    # a pool update's ISO
    upd = b.stor.new_vdi(nfs, "XS82ECU1040", 120 * MiB, 120 * MiB, rng=b.rng)
    st.add("pool_update", make_record("pool_update", uuid=b.uuid(), name_label="XS82ECU1040",
                                      name_description="Cumulative update 1040",
                                      version="1.0", installation_size=300 * MiB,
                                      key="XS82ECU1040", vdi=upd,
                                      after_apply_guidance=["restartHost"]), b.ref())
    # a raw LUN no VBD uses
    b.stor.new_vdi(raw, "LUN 3", 500 * GiB, 500 * GiB, rng=b.rng,
                   sm_extra={"LUNid": "3", "SCSIid": "36001405a1b2c3d4e5f60718293a4b5c6"})
    # a suspend image no VM refers to, and a plain orphan disk
    b.stor.new_vdi(nfs, "Suspend image", 2 * GiB + 8 * MiB, 2 * GiB, vtype="suspend",
                   rng=b.rng, desc="Suspend image")
    b.stor.new_vdi(nfs, "orphan-data", 50 * GiB, 20 * GiB, rng=b.rng)
    return b


class Scenarios:
    """The named scenarios (see README) and how a pool is built from one."""

    BUILDERS = {"demo": build_demo, "coalescing": build_coalescing, "deep": build_deep,
                "prune": build_prune, "backup": build_backup, "big": build_big,
                "owners": build_owners,
                "slave": build_slave,
                "flaky": lambda sim: build_demo(sim, small=True)}

    @classmethod
    def names(cls):
        return sorted(cls.BUILDERS)

    @classmethod
    def build(cls, sim):
        st = sim.store
        st.events.recording = False   # no build events: token "" shows everything as add
        with st.lock:
            sim.storage.batch = True
            cls.BUILDERS[sim.scenario](sim)
            if sim.member_address:
                build_member(sim)
            sim.storage.batch = False
            for sr in st.tables["SR"]:
                sim.storage.update_sr(sr)
        st.events.recording = True
        st.events.reset(1000 + sim.rng.randint(0, 100000))
        if sim.scenario == "flaky":
            sim.flaky = True
        sim.flaky_rng = random.Random((sim.opts.seed or 0) + 7)


# ---------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------

def warm_cache(sim):
    """Pre-serialize every record after start-up, in small locked batches, so the
    first get_all_records of a big pool is fast."""
    st = sim.store
    for cls in ("VDI", "VM", "VBD", "SR", "PBD", "host", "pool"):
        refs = list(st.tables[cls])
        for i in range(0, len(refs), 500):
            if sim.stop.is_set():
                return
            with st.lock:
                for r in refs[i:i + 500]:
                    if r in st.tables[cls]:
                        st.encoded(cls, r)


def main(argv=None):
    ap = argparse.ArgumentParser(description="XAPI simulator for chaintop tests")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    ap.add_argument("--member-tls", nargs=2, metavar=("CERT", "KEY"))
    ap.add_argument("--scenario", default="demo", choices=Scenarios.names())
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--gc-speed", type=float, default=1.0)
    ap.add_argument("--gc-quiet", type=float, default=0.0)
    ap.add_argument("--task-gc", type=float, default=30.0)
    ap.add_argument("--user", default="root")
    ap.add_argument("--password", default="chaintop-demo")
    ap.add_argument("--vms", type=int, default=None)
    ap.add_argument("--master", default=None)
    ap.add_argument("--pool-name", default=None)
    ap.add_argument("--export-scale", type=float, default=1.0 / 1024)
    ap.add_argument("--verbose", action="store_true")
    opts = ap.parse_args(argv)

    sim = Sim(opts)
    sim.exporter = Exporter(sim)
    sim.master_pem = open(opts.tls[0]).read() if opts.tls else None
    member = None
    if opts.member_tls:
        # the member listens on another loopback address (its own "host")
        try:
            member = SimServer(("127.0.0.2", 0), Handler)
        except OSError:
            member = SimServer((opts.bind, 0), Handler)
        mctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        mctx.load_cert_chain(opts.member_tls[0], opts.member_tls[1])
        member.ssl_ctx = mctx
        member.sim = sim
        member.role = "member"
        sim.member_pem = open(opts.member_tls[0]).read()
        sim.member_address = "%s:%d" % member.server_address[:2]
    Scenarios.build(sim)
    if member is not None:
        member.host_ref = sim.member_ref
        threading.Thread(target=member.serve_forever, kwargs={"poll_interval": 0.2},
                         daemon=True).start()

    server = SimServer((opts.bind, opts.port), Handler)
    server.sim = sim
    server.host_ref = sim.master_ref
    scheme = "http"
    if opts.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(opts.tls[0], opts.tls[1])
        server.ssl_ctx = ctx
        scheme = "https"

    def shutdown():
        if sim.stop.is_set():
            return
        sim.stop.set()
        with sim.store.lock:
            sim.store.cond.notify_all()
        if member is not None:
            member.shutdown()
        server.shutdown()
    sim.shutdown = shutdown

    def on_signal(signum, frame):
        threading.Thread(target=shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    sim.start_gc()
    threading.Thread(target=warm_cache, args=(sim,), daemon=True).start()
    for t in sim.background:
        t.start()
    host, port = server.server_address[:2]
    print("ready %s://%s:%d" % (scheme, host, port), flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        sim.stop.set()
        server.server_close()
        for g in sim.gcs.values():
            g.join(timeout=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
