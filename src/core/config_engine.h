/* config_engine.h - the configuration engine (config.c) as its section
 * files see it: config_listeners.c (listeners, rules, forwards, fixed
 * responses), config_target_groups.c (target groups, targets, health
 * checks), config_tls.c (a listener's tls group), config_limits.c
 * (timeouts and limits) and config_admin.c (name, state_dir, admin). Nothing outside src/core/config*.c includes it.
 *
 * A section describes each group of the file with a table of keys (name,
 * kind, offset of the field, bounds, default), as nginx's ngx_command_t
 * rows do. cfg_parse_group() reads a group by its table: it rejects names
 * the table does not know, reports required ones that are missing, converts
 * and range-checks the numeric kinds itself, and hands the other kinds to
 * the handler named in the row. Every default is written in its row and
 * applied by cfg_apply_defaults() alone, before the group is read (an
 * omitted group gets its defaults too); embedded groups (CFG_GROUP rows)
 * get theirs in the same pass.
 *
 * Errors go through cfg_fail(), which names the offending setting as
 * "FILE:LINE: SETTING: problem" and keeps the first one only. Every parser
 * returns -1 as soon as it has reported one, and config_load() frees the
 * partly built config with config_free(); so arrays are allocated zeroed at
 * their final size before they are filled.
 *
 * Thread: whichever calls config_load(); nothing here is shared.
 */
#ifndef ALBD_CONFIG_ENGINE_H
#define ALBD_CONFIG_ENGINE_H

#include <libconfig.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define CFG_NAME_MAX_LEN 64
#define CFG_I64_LIMIT    9223372036854775807.0

/* One config_load() call. */
struct cfg_ctx {
	const char *path; /* the file given to config_load() */
	char *err;        /* where the first error goes, may be NULL */
	size_t errlen;
	int failed; /* an error has been reported */
	struct albd_config *cfg;
};

/* ------------------------------------------------------------ key tables */

enum cfg_kind {
	K_INT = 0,     /* int, an integer in the file */
	K_UINT,        /* unsigned */
	K_U64,         /* uint64_t, int or int64 (100L) in the file */
	K_MS,          /* unsigned milliseconds; seconds, int or float, in the file */
	K_RATIO,       /* double, int or float in the file */
	K_BOOL,        /* int 0/1, true/false in the file */
	K_FN,          /* handled by fn */
	K_GROUP,       /* an embedded struct described by sub; fn, if any, checks it after */
	K_UNSUPPORTED, /* a name that later versions of albd understand */
};

#define KEY_REQUIRED 0x1 /* error when missing */
#define KEY_OR_ZERO  0x2 /* K_MS: 0 is allowed besides min..max */
#define KEY_INT_DEF  0x4 /* K_FN: the field is an int (an enum) whose default is def */

struct cfg_key;

/* Reads setting s into field (the object itself for rows with off 0).
 * Returns 0, or -1 after cfg_fail(). */
typedef int (*cfg_key_fn)(struct cfg_ctx *c, const config_setting_t *s, void *field);

/* Sets field to the default TEXT (the row's sdef). Returns 0 or -1. */
typedef int (*cfg_default_fn)(struct cfg_ctx *c, void *field, const char *text);

struct cfg_key {
	const char *name;
	enum cfg_kind kind;
	unsigned flags;            /* KEY_* */
	size_t off;                /* of the field in the object the table describes */
	double min, max, def;      /* numeric kinds, in file units (seconds for K_MS);
				    * K_FN with KEY_INT_DEF: the default */
	cfg_key_fn fn;             /* K_FN: reads the value; K_GROUP: checks the group after */
	const char *sdef;          /* K_FN: the default in the file's words, NULL: none (zero) */
	cfg_default_fn dfn;        /* applies sdef; NULL: the field is a char * that gets a copy */
	const struct cfg_key *sub; /* K_GROUP: the embedded struct's table */
};

/* clang-format off */
#define NUM(name, kind, type, field, min, max, def, flags) \
	{ name, kind, flags, offsetof(type, field), min, max, def, NULL, NULL, NULL, NULL }
#define FN(name, type, field, fn, flags) \
	{ name, K_FN, flags, offsetof(type, field), 0, 0, 0, fn, NULL, NULL, NULL }
#define FN_INT(name, type, field, fn, def, flags) \
	{ name, K_FN, (flags) | KEY_INT_DEF, offsetof(type, field), 0, 0, def, fn, NULL, NULL, NULL }
#define FN_STR(name, type, field, fn, sdef, flags) \
	{ name, K_FN, flags, offsetof(type, field), 0, 0, 0, fn, sdef, NULL, NULL }
#define FN_OBJ(name, fn, flags) \
	{ name, K_FN, flags, 0, 0, 0, 0, fn, NULL, NULL, NULL }
#define FN_OBJ_DEF(name, fn, sdef, dfn, flags) \
	{ name, K_FN, flags, 0, 0, 0, 0, fn, sdef, dfn, NULL }
#define FN_DEF(name, type, field, fn, sdef, dfn, flags) \
	{ name, K_FN, flags, offsetof(type, field), 0, 0, 0, fn, sdef, dfn, NULL }
#define GROUP(name, type, field, sub, check) \
	{ name, K_GROUP, 0, offsetof(type, field), 0, 0, 0, check, NULL, NULL, sub }
#define UNSUPPORTED(name) \
	{ name, K_UNSUPPORTED, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL }
#define KEY_END \
	{ NULL, K_FN, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL }
/* clang-format on */

/* Write the defaults of KEYS into OBJ (recursively into K_GROUP fields).
 * The only place defaults are applied. Returns 0 or -1 (out of memory). */
int cfg_apply_defaults(struct cfg_ctx *c, const struct cfg_key *keys, void *obj);

/* Read group g into obj as described by keys: first every member must be
 * known (in file order), then the keys are handled in table order, which
 * lets a table read what others refer to first (target groups before
 * listeners). Defaults are expected to be in obj already. Returns 0 or -1. */
int cfg_parse_group(struct cfg_ctx *c, const config_setting_t *g, const struct cfg_key *keys,
		    void *obj);

/* ------------------------------------------------------------ errors */

/* Report "FILE:LINE: SETTING: message" about s (s may be NULL: "FILE:
 * message"). Keeps the first error only. Returns -1 for "return
 * cfg_fail(...)". */
int cfg_fail(struct cfg_ctx *c, const config_setting_t *s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Format a message into err (err may be NULL), for the helpers of config.h
 * that report through a buffer rather than a setting. */
void cfg_seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The setting's line, or its closest ancestor's: the root has none (0). */
unsigned cfg_line_of(const config_setting_t *s);

/* ------------------------------------------------------------ helpers */

/* Allocation that reports "out of memory" through cfg_fail(). */
char *cfg_strdup(struct cfg_ctx *c, const char *s);
void *cfg_zalloc(struct cfg_ctx *c, size_t n, size_t size);

/* Replace *field (a default or NULL) with a copy of v. Returns 0 or -1. */
int cfg_replace_str(struct cfg_ctx *c, char **field, const char *v);

/* s's string, or NULL after "expected a string". */
const char *cfg_string_of(struct cfg_ctx *c, const config_setting_t *s);

/* s's integer (int or int64), or -1 after "expected an integer". */
int cfg_get_integer(struct cfg_ctx *c, const config_setting_t *s, long long *out);

/* Length of a list "( ... )" (or of an array "[ ... ]": only an empty one
 * can get past the element checks), or -1. */
int cfg_list_length(struct cfg_ctx *c, const config_setting_t *s);

/* An element of a list, as the setting its own errors should name. */
const config_setting_t *cfg_elem(const config_setting_t *list, int i);

/* The member NAME of group g if present, else g: where to point an error
 * about a value that may have come from a default. */
const config_setting_t *cfg_member_or(const config_setting_t *g, const char *name);

/* Has s a control character / a space or a control character? */
int cfg_has_ctl(const char *s);
int cfg_has_space_or_ctl(const char *s);

/* Is s valid UTF-8? Text that goes into JSON (alarm names, descriptions,
 * notifications) must be. */
int cfg_valid_utf8(const char *s);

/* A check (and in-place normalisation) of one value of a string list. */
typedef int (*cfg_value_check)(struct cfg_ctx *c, const config_setting_t *s, char *v);

/* One string or a list (array or list) of them into *out / *nout, each
 * checked by check. Returns 0 or -1. */
int cfg_set_strings(struct cfg_ctx *c, const config_setting_t *s, char ***out, size_t *nout,
		    cfg_value_check check);

/* Key handlers shared by sections; field is a char *. */
int cfg_set_name(struct cfg_ctx *c, const config_setting_t *s,
		 void *field); /* [A-Za-z0-9_.-]{1,64} */
int cfg_set_file(struct cfg_ctx *c, const config_setting_t *s, void *field); /* non-empty */
int cfg_set_str(struct cfg_ctx *c, const config_setting_t *s, void *field);  /* any string */

void cfg_free_strings(char **v, size_t n);

/* ------------------------------------------------------------ sections */

/* config_target_groups.c: "target_groups = ( ... )"; obj is the config. */
int cfg_parse_target_groups(struct cfg_ctx *c, const config_setting_t *s, void *obj);
void cfg_free_target_group(struct cfg_target_group *tg);

/* config_listeners.c: "listeners = ( ... )"; obj is the config. */
int cfg_parse_listeners(struct cfg_ctx *c, const config_setting_t *s, void *obj);
void cfg_free_listener(struct cfg_listener *l);

/* config_tls.c: a listener's "tls = { ... }"; field is a struct cfg_tls **. */
int cfg_parse_tls(struct cfg_ctx *c, const config_setting_t *s, void *field);
void cfg_free_tls(struct cfg_tls *t);

/* config_admin.c: the top-level "name" (field: char *; the default, from
 * gethostname(), ignores TEXT) and "state_dir" (field: char *), and the
 * table of "admin = { ... }" (struct cfg_admin). */
int cfg_set_lb_name(struct cfg_ctx *c, const config_setting_t *s, void *field);
int cfg_def_lb_name(struct cfg_ctx *c, void *field, const char *text);
int cfg_set_state_dir(struct cfg_ctx *c, const config_setting_t *s, void *field);
/* user = "..."; group = "...": names that exist; the ids go to the config. */
int cfg_set_user(struct cfg_ctx *c, const config_setting_t *s, void *field);
int cfg_set_group(struct cfg_ctx *c, const config_setting_t *s, void *field);
extern const struct cfg_key cfg_admin_keys[];
/* The check of the admin group's row (after cfg_admin_keys): its line. */
int cfg_admin_group(struct cfg_ctx *c, const config_setting_t *s, void *field);

/* After the whole file is read: an enabled admin listener must not clash
 * with a listener's address (the same one, or the same port and family
 * with a wildcard on either side). ROOT is the file's root setting.
 * Returns 0 or -1 after cfg_fail(). */
int cfg_check_admin(struct cfg_ctx *c, const config_setting_t *root);

/* What config_admin.c put into A (the token is wiped before it is freed). */
void cfg_free_admin(struct cfg_admin *a);

/* config_alarms.c: the top-level "region" and "account_id" (field: char *)
 * and "topics", "alarms", "composite_alarms" (obj: the config; topics
 * before alarms, which name them). */
int cfg_set_region(struct cfg_ctx *c, const config_setting_t *s, void *field);
int cfg_set_account_id(struct cfg_ctx *c, const config_setting_t *s, void *field);
int cfg_parse_topics(struct cfg_ctx *c, const config_setting_t *s, void *obj);
int cfg_parse_alarms(struct cfg_ctx *c, const config_setting_t *s, void *obj);
int cfg_parse_composite_alarms(struct cfg_ctx *c, const config_setting_t *s, void *obj);
void cfg_free_topic(struct cfg_topic *t);
void cfg_free_alarm(struct cfg_alarm *a);
void cfg_free_composite_alarm(struct cfg_composite_alarm *a);

/* config_limits.c: the tables of "timeouts = { ... }" and "limits = { ... }". */
extern const struct cfg_key cfg_timeout_keys[];
extern const struct cfg_key cfg_limit_keys[];

#endif
