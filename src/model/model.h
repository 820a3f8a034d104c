/* model.h - the live store of one pool: typed XAPI records by ref, a uuid index and the
 * derived indexes the views and the chain engine need.
 *
 * Knows nothing of the network. One struct ct_model per pool. The watcher thread applies
 * changes (put/del) under `lock`; readers (console, commands, chain engine) take the same
 * lock for the time they read, and copy what they need to keep beyond it. Pointers returned
 * by the find/index functions are borrowed: valid while the lock is held and until the next
 * put/del/clear. Derived indexes are rebuilt lazily by the accessors after any change. */
#ifndef CT_MODEL_H
#define CT_MODEL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "lib/util.h"

/* ---- records ---------------------------------------------------------------------------
 * Every XAPI class chaintop keeps is defined once, by the lists below; they generate the
 * enum ct_class, the record structs, the field table the decoder reads replies with
 * (ct_class_fields), the table-driven ct_obj_new/free/dup and the enum name tables. A new
 * field is one line in its class's list.
 *
 * X(ID, struct name, XAPI class name): XAPI's spelling for calls; event.from sends it
 * lowercase. */
#define CT_CLASSES(X) \
	X(POOL, pool, "pool") \
	X(HOST, host, "host") \
	X(SR, sr, "SR") \
	X(VDI, vdi, "VDI") \
	X(VM, vm, "VM") \
	X(VBD, vbd, "VBD") \
	X(PBD, pbd, "PBD") \
	X(TASK, task, "task") \
	X(MESSAGE, message, "message") \
	X(POOL_UPDATE, pool_update, "pool_update")

enum ct_class {
#define CT_X_CLASS(id, st, name) CT_##id,
	CT_CLASSES(CT_X_CLASS)
#undef CT_X_CLASS
	CT_NCLASSES
};

/* XAPI's spelling for calls ("pool", "host", "SR", "VDI", "VM", "VBD", "PBD", "task",
 * "message", "pool_update"); event.from sends them lowercase. */
const char *ct_class_name(enum ct_class c);
/* Case-insensitive; -1 if unknown (classes chaintop does not keep). */
int ct_class_from_name(const char *name);

/* Enumerated fields: X(ID, XAPI's name). Each enum also has a value for a name this build
 * does not know. ct_*_name gives XAPI's name; ct_*_from_name reads one, case-insensitive,
 * -1 when unknown. */
#define CT_VDI_TYPES(X) \
	X(SYSTEM, "system") \
	X(USER, "user") \
	X(EPHEMERAL, "ephemeral") \
	X(SUSPEND, "suspend") \
	X(CRASHDUMP, "crashdump") \
	X(HA_STATEFILE, "ha_statefile") \
	X(METADATA, "metadata") \
	X(REDO_LOG, "redo_log") \
	X(RRD, "rrd") \
	X(PVS_CACHE, "pvs_cache") \
	X(CBT_METADATA, "cbt_metadata")

enum ct_vdi_type {
#define CT_X_ENUM(id, name) CT_VDI_##id,
	CT_VDI_TYPES(CT_X_ENUM)
#undef CT_X_ENUM
	CT_VDI_OTHER             /* a type newer than this build ("unknown") */
};
const char *ct_vdi_type_name(enum ct_vdi_type t);
int ct_vdi_type_from_name(const char *s);

#define CT_POWER_STATES(X) \
	X(HALTED, "Halted") \
	X(PAUSED, "Paused") \
	X(RUNNING, "Running") \
	X(SUSPENDED, "Suspended")

enum ct_power_state {
#define CT_X_ENUM(id, name) CT_POWER_##id,
	CT_POWER_STATES(CT_X_ENUM)
#undef CT_X_ENUM
	CT_POWER_UNKNOWN         /* "Unknown" */
};
const char *ct_power_state_name(enum ct_power_state p);
int ct_power_state_from_name(const char *s);

#define CT_VBD_TYPES(X) \
	X(DISK, "Disk") \
	X(CD, "CD") \
	X(FLOPPY, "Floppy")

enum ct_vbd_type {
#define CT_X_ENUM(id, name) CT_VBD_##id,
	CT_VBD_TYPES(CT_X_ENUM)
#undef CT_X_ENUM
	CT_VBD_OTHER             /* "unknown" */
};
const char *ct_vbd_type_name(enum ct_vbd_type t);
int ct_vbd_type_from_name(const char *s);

#define CT_TASK_STATUSES(X) \
	X(PENDING, "pending") \
	X(SUCCESS, "success") \
	X(FAILURE, "failure") \
	X(CANCELLING, "cancelling") \
	X(CANCELLED, "cancelled")

enum ct_task_status {
#define CT_X_ENUM(id, name) CT_TASK_##id,
	CT_TASK_STATUSES(CT_X_ENUM)
#undef CT_X_ENUM
};
const char *ct_task_status_name(enum ct_task_status s);   /* "unknown" out of range */
int ct_task_status_from_name(const char *s);

/* Every record starts with this header. ref and uuid owned. */
struct ct_obj {
	enum ct_class cls;
	char *ref;
	char *uuid;
};

/* Field kinds: the member's C type, and how the decoder reads XAPI's value into it. */
#define CT_FT_STR char *                     /* a string (refs: "OpaqueRef:NULL" for none) */
#define CT_FT_BOOL bool
#define CT_FT_INT int64_t
#define CT_FT_DOUBLE double
#define CT_FT_TIME time_t                    /* dateTime.iso8601; 0 = unset */
#define CT_FT_SET struct ct_strset           /* an <array> of strings */
#define CT_FT_MAP struct ct_map              /* a <struct> of strings */
#define CT_FT_MAPVALS struct ct_strset       /* a <struct>'s values (current_operations) */
#define CT_FT_POWER enum ct_power_state
#define CT_FT_VDITYPE enum ct_vdi_type
#define CT_FT_VBDTYPE enum ct_vbd_type
#define CT_FT_VBDMODE bool                   /* VBD mode: "RO" reads true */
#define CT_FT_TASKSTATUS enum ct_task_status /* an unknown status leaves the field as it was */

enum ct_field_kind {
	CT_F_STR, CT_F_BOOL, CT_F_INT, CT_F_DOUBLE, CT_F_TIME, CT_F_SET, CT_F_MAP, CT_F_MAPVALS,
	CT_F_POWER, CT_F_VDITYPE, CT_F_VBDTYPE, CT_F_VBDMODE, CT_F_TASKSTATUS,
};

/* The fields of each class: X(kind, member, XAPI's field name). The uuid, in every class's
 * header, is listed by ct_class_fields as a string field "uuid". */
#define CT_POOL_FIELDS(X) \
	X(STR, name_label, "name_label") \
	X(STR, master, "master")                     /* host ref */ \
	X(STR, default_sr, "default_SR")             /* SR ref */ \
	X(MAP, other_config, "other_config")

#define CT_HOST_FIELDS(X) \
	X(STR, name_label, "name_label") \
	X(STR, hostname, "hostname") \
	X(STR, address, "address") \
	X(BOOL, enabled, "enabled") \
	X(INT, api_version_major, "API_version_major") \
	X(INT, api_version_minor, "API_version_minor") \
	X(MAP, software_version, "software_version")

#define CT_SR_FIELDS(X) \
	X(STR, name_label, "name_label") \
	X(STR, name_description, "name_description") \
	X(STR, type, "type")                         /* "nfs", "ext", "lvmoiscsi", "iso", ... */ \
	X(STR, content_type, "content_type") \
	X(BOOL, shared, "shared") \
	X(INT, physical_size, "physical_size") \
	X(INT, physical_utilisation, "physical_utilisation") \
	X(INT, virtual_allocation, "virtual_allocation") \
	X(MAP, sm_config, "sm_config") \
	X(MAP, other_config, "other_config") \
	X(SET, pbds, "PBDs")
/* SR.VDIs is not kept: the model finds an SR's VDIs from VDI.SR, and every snapshot made on
 * an SR re-sends its whole VDI list in the SR's event (47,000 refs on an 8000-VM pool). */

#define CT_VDI_FIELDS(X) \
	X(STR, name_label, "name_label") \
	X(STR, name_description, "name_description") \
	X(STR, sr, "SR")                             /* SR ref */ \
	X(SET, vbds, "VBDs")                         /* VBD refs */ \
	X(INT, virtual_size, "virtual_size") \
	X(INT, physical_utilisation, "physical_utilisation") \
	X(VDITYPE, type, "type") \
	X(BOOL, managed, "managed") \
	X(BOOL, missing, "missing") \
	X(BOOL, is_a_snapshot, "is_a_snapshot") \
	X(BOOL, read_only, "read_only") \
	X(BOOL, sharable, "sharable") \
	X(BOOL, cbt_enabled, "cbt_enabled") \
	X(BOOL, allow_caching, "allow_caching")      /* IntelliCache: SM never leaf-coalesces it */ \
	X(STR, on_boot, "on_boot")                   /* "persist" or "reset" (SM never
	                                              * leaf-coalesces a reset one) */ \
	X(STR, snapshot_of, "snapshot_of")           /* VDI ref or "OpaqueRef:NULL" */ \
	X(SET, snapshots, "snapshots") \
	X(TIME, snapshot_time, "snapshot_time") \
	X(MAP, sm_config, "sm_config") \
	X(MAP, other_config, "other_config") \
	X(MAPVALS, current_operations, "current_operations")   /* operation names */

#define CT_VM_FIELDS(X) \
	X(STR, name_label, "name_label") \
	X(STR, name_description, "name_description") \
	X(POWER, power_state, "power_state") \
	X(BOOL, is_a_template, "is_a_template") \
	X(BOOL, is_default_template, "is_default_template") \
	X(BOOL, is_a_snapshot, "is_a_snapshot") \
	X(BOOL, is_control_domain, "is_control_domain") \
	X(STR, snapshot_of, "snapshot_of")           /* VM ref or "OpaqueRef:NULL" */ \
	X(SET, snapshots, "snapshots") \
	X(TIME, snapshot_time, "snapshot_time") \
	X(SET, vbds, "VBDs") \
	X(MAP, other_config, "other_config") \
	X(SET, tags, "tags") \
	X(STR, resident_on, "resident_on")           /* host ref */ \
	X(STR, suspend_vdi, "suspend_VDI")           /* VDI ref or "OpaqueRef:NULL" */ \
	X(MAPVALS, current_operations, "current_operations") \
	X(BOOL, is_vmss_snapshot, "is_vmss_snapshot")   /* made by a VM snapshot schedule */ \
	X(MAP, blocked_operations, "blocked_operations")   /* operation -> reason; "destroy"
	                                                     * blocks VM.destroy */

#define CT_VBD_FIELDS(X) \
	X(STR, vm, "VM")                             /* VM ref */ \
	X(STR, vdi, "VDI")                           /* VDI ref, "OpaqueRef:NULL" for an empty
	                                              * CD drive */ \
	X(VBDTYPE, type, "type") \
	X(VBDMODE, read_only, "mode")                /* mode RO */ \
	X(BOOL, currently_attached, "currently_attached") \
	X(BOOL, empty, "empty") \
	X(STR, userdevice, "userdevice")             /* "0", "1", ... */ \
	X(STR, device, "device")                     /* "xvda", ... */

#define CT_PBD_FIELDS(X) \
	X(STR, host, "host") \
	X(STR, sr, "SR") \
	X(BOOL, currently_attached, "currently_attached")

#define CT_TASK_FIELDS(X) \
	X(STR, name_label, "name_label") \
	X(STR, name_description, "name_description") \
	X(TASKSTATUS, status, "status") \
	X(DOUBLE, progress, "progress")              /* 0..1 */ \
	X(TIME, created, "created") \
	X(TIME, finished, "finished") \
	X(STR, result, "result")                     /* an XML-RPC value fragment, as XAPI
	                                              * sends it */ \
	X(SET, error_info, "error_info")             /* code, params... */ \
	X(MAP, other_config, "other_config")         /* "applies_to" = SR ref for the SM
	                                              * garbage collector */ \
	X(STR, resident_on, "resident_on")

#define CT_MESSAGE_FIELDS(X) \
	X(STR, name, "name")                         /* "SM_GC_NO_SPACE", ... */ \
	X(INT, priority, "priority")                 /* 1 critical .. 5 info */ \
	X(STR, cls, "cls")                           /* "SR", "VM", "Host", ... */ \
	X(STR, obj_uuid, "obj_uuid") \
	X(TIME, timestamp, "timestamp") \
	X(STR, body, "body")

/* An update uploaded to the pool (XS 7.1+): its ISO lives in a VDI that xapi owns. */
#define CT_POOL_UPDATE_FIELDS(X) \
	X(STR, name_label, "name_label") \
	X(STR, vdi, "vdi")                           /* VDI ref or "OpaqueRef:NULL" */

#define CT_X_MEMBER(kind, member, name) CT_FT_##kind member;

struct ct_pool { struct ct_obj o; CT_POOL_FIELDS(CT_X_MEMBER) };
struct ct_host { struct ct_obj o; CT_HOST_FIELDS(CT_X_MEMBER) };
struct ct_sr { struct ct_obj o; CT_SR_FIELDS(CT_X_MEMBER) };
struct ct_vdi { struct ct_obj o; CT_VDI_FIELDS(CT_X_MEMBER) };
struct ct_vm { struct ct_obj o; CT_VM_FIELDS(CT_X_MEMBER) };
struct ct_vbd { struct ct_obj o; CT_VBD_FIELDS(CT_X_MEMBER) };
struct ct_pbd { struct ct_obj o; CT_PBD_FIELDS(CT_X_MEMBER) };
struct ct_task { struct ct_obj o; CT_TASK_FIELDS(CT_X_MEMBER) };
struct ct_message { struct ct_obj o; CT_MESSAGE_FIELDS(CT_X_MEMBER) };
struct ct_pool_update { struct ct_obj o; CT_POOL_UPDATE_FIELDS(CT_X_MEMBER) };

/* One field of a class: XAPI's name (len bytes: the decoder compares member names that may
 * hold NULs), its kind and where it lives in the record. */
struct ct_field {
	const char *name;
	unsigned char kind;      /* enum ct_field_kind */
	unsigned char len;
	unsigned short off;      /* offsetof in the class's struct */
};
/* The fields of class c, uuid first; n set to their number. NULL for an invalid class. */
const struct ct_field *ct_class_fields(enum ct_class c, size_t *n);

/* Allocate an empty record of class c with every string NULL and sets/maps empty. */
struct ct_obj *ct_obj_new(enum ct_class c);
void ct_obj_free(struct ct_obj *o);
/* Deep copy. */
struct ct_obj *ct_obj_dup(const struct ct_obj *o);

struct ct_table;             /* one class's records (model_int.h) */
struct ct_model_index;       /* derived indexes, private to model.c */

struct ct_model {
	pthread_mutex_t lock;
	uint64_t generation;     /* bumped on every applied change */
	struct ct_table *t;      /* CT_NCLASSES tables */
	struct ct_model_index *idx;   /* NULL or stale until the next accessor call */
	bool idx_dirty;
};

void ct_model_init(struct ct_model *m);
void ct_model_release(struct ct_model *m);
void ct_model_lock(struct ct_model *m);
void ct_model_unlock(struct ct_model *m);

/* All functions below expect the caller to hold the lock. */

/* Remove every record (before a full re-load). Bumps the generation. */
void ct_model_clear(struct ct_model *m);
/* A full re-load: fresh's records (tables, digests, indexes) go live in live, and live's
 * old ones move to fresh, to be released with it. Both locked by the caller. live's
 * generation moves past both models' and every derived index is rebuilt on next use. */
void ct_model_swap(struct ct_model *live, struct ct_model *fresh);
/* Insert or replace the record with o->ref; takes ownership of o. Bumps the generation. */
void ct_model_put(struct ct_model *m, struct ct_obj *o);
/* Remove and free the record; no-op if absent. Bumps the generation. */
void ct_model_del(struct ct_model *m, enum ct_class c, const char *ref);

size_t ct_model_count(const struct ct_model *m, enum ct_class c);
struct ct_obj *ct_model_at(const struct ct_model *m, enum ct_class c, size_t i);
struct ct_obj *ct_model_find(const struct ct_model *m, enum ct_class c, const char *ref);
struct ct_obj *ct_model_find_uuid(struct ct_model *m, enum ct_class c, const char *uuid);

/* Typed shorthands (NULL for NULL refs, "OpaqueRef:NULL" or unknown refs). */
struct ct_pool *ct_model_pool(const struct ct_model *m);     /* the one pool record */
struct ct_sr *ct_model_sr(const struct ct_model *m, const char *ref);
struct ct_vdi *ct_model_vdi(const struct ct_model *m, const char *ref);
struct ct_vm *ct_model_vm(const struct ct_model *m, const char *ref);
struct ct_vbd *ct_model_vbd(const struct ct_model *m, const char *ref);
struct ct_host *ct_model_host(const struct ct_model *m, const char *ref);
struct ct_task *ct_model_task(const struct ct_model *m, const char *ref);

/* Derived indexes, rebuilt on first use after a change (O(records)). The arrays are
 * borrowed like the records. */
/* VDIs whose SR field is this SR (base copies included). */
struct ct_vdi *const *ct_model_sr_vdis(struct ct_model *m, const struct ct_sr *sr, size_t *n);
/* A CBT log (type cbt_metadata, or sm_config vdi_type cbtlog): it keeps the vhd-parent it
 * had until the next SR scan, but is no member of any chain (the chain engine leaves it
 * out of the forest, and so do the two lookups below). */
bool ct_vdi_not_chain(const struct ct_vdi *v);
/* The VDI named by sm_config["vhd-parent"] on the same SR, NULL if none or unknown, or if
 * v is a CBT log. */
struct ct_vdi *ct_model_vdi_parent(struct ct_model *m, const struct ct_vdi *v);
/* VDIs of the same SR whose vhd-parent is v's uuid (CBT logs left out). */
struct ct_vdi *const *ct_model_vdi_children(struct ct_model *m, const struct ct_vdi *v, size_t *n);
/* VBDs whose VDI is v / whose VM is vm (from the VBD records, not the VDI/VM sets). */
struct ct_vbd *const *ct_model_vdi_vbds(struct ct_model *m, const struct ct_vdi *v, size_t *n);
struct ct_vbd *const *ct_model_vm_vbds(struct ct_model *m, const struct ct_vm *vm, size_t *n);
/* Tasks whose other_config["applies_to"] is this ref (SR garbage collection). */
struct ct_task *const *ct_model_tasks_for(struct ct_model *m, const char *ref, size_t *n);
/* Messages whose obj_uuid is this uuid, newest first. */
struct ct_message *const *ct_model_messages_for(struct ct_model *m, const char *uuid, size_t *n);

/* Is this ref the null ref or empty? */
bool ct_ref_is_null(const char *ref);

#endif
