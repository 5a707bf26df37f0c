/* notify_spool.h - the notifier's files in state_dir: a subscription's
 * spool (one file per message waiting for a 2xx), its dead letters (JSON
 * Lines) and its state (a JSON file), all written so that kill -9 at any
 * moment leaves either the old or the new content.
 *
 *   STATE_DIR/notify/                          sns-signing-key.pem, sns-signing-cert.pem
 *   STATE_DIR/notify/topics.json               the topics made through SNS's API (CreateTopic)
 *   STATE_DIR/notify/sub-HASH/state.json       SubscriptionArn, confirmation state, tokens (and
 *                                              a run-time subscription's settings)
 *   STATE_DIR/notify/sub-HASH/spool/SEQ-ID.json a message (notify_format.h's record)
 *   STATE_DIR/notify/sub-HASH/dead-letters.jsonl
 * HASH: the first 32 hex digits of SHA-256(topic name, NUL, endpoint), so
 * a subscription that stays in the config (same topic, same endpoint)
 * finds its files again. SEQ: 16 hex digits, microseconds since the epoch
 * (made strictly increasing within a process), so the spool loads in
 * publish order.
 *
 * A spool file is written by atomic_write() (core/atomic_file.h: NAME.tmp,
 * fsync, rename, directory fsync) before the first attempt; it is
 * removed only after a 2xx. A spool file that does not parse (or is not a
 * record) is renamed NAME.corrupt and logged, never delivered; temporary
 * files a crash left are removed.
 *
 * Thread: control (blocking file I/O, small files).
 */
#ifndef ALBD_NOTIFY_SPOOL_H
#define ALBD_NOTIFY_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* mkdir -p PATH (mode 0700 for what it creates). 0 or -1 with errno. */
int ns_mkdirs(const char *path);

/* ns_mkdirs(PATH), and when PATH itself is there but is not a directory
 * (a file, a dangling link), it is set aside first (renamed
 * PATH.corrupt, logged) and made afresh. 0 or -1 with errno. */
int ns_mkdir_aside(const char *path);

/* Write DATA to DIR/NAME atomically (temporary file, fsync, rename, fsync
 * of DIR; DIR made again when it was deleted: atomic_write_mkdir). 0, or
 * -1 with a message in ERR. */
int ns_write_atomic(const char *dir, const char *name, const char *data, size_t len, char *err, size_t errlen);

/* Write REC (a record) into the spool directory DIR under a new name,
 * copied into NAME (at least NS_NAME_MAX bytes). 0, or -1 with ERR. */
#define NS_NAME_MAX 80
int ns_spool_put(const char *dir, const json_t *rec, char *name, size_t namelen, char *err, size_t errlen);

/* Remove DIR/NAME (and fsync DIR). 0 or -1. */
int ns_spool_remove(const char *dir, const char *name);

/* Call FN(name, record, ARG) for every message in the spool directory DIR
 * in name order; FN takes the record's reference. Corrupt files are set
 * aside (renamed NAME.corrupt, logged), temporary files removed. Returns
 * the number of records passed, or -1 when DIR cannot be read (a missing
 * DIR is 0). */
int ns_spool_load(const char *dir, void (*fn)(const char *name, json_t *rec, void *arg), void *arg);

/* Append LINE (compact JSON, one line) to the JSON Lines file PATH and
 * fsync it; when the file does not end in a newline (an append that a
 * crash tore), one is written first, so the torn line never swallows
 * LINE. 0, or -1 with ERR. */
int ns_jsonl_append(const char *path, const json_t *line, char *err, size_t errlen);

/* The lines of the JSON Lines file PATH as a JSON array (new reference):
 * lines that are not JSON objects are skipped (logged). A missing file is
 * an empty array; NULL on a read error (errno). */
json_t *ns_jsonl_read(const char *path);

/* The number of lines of PATH that are not empty (0 when missing), and
 * its size in *BYTES (may be NULL). Reads the file in small blocks. */
size_t ns_jsonl_count(const char *path, uint64_t *bytes);

/* Append to ARR up to MAX records (nf_record_check) from the JSON Lines
 * file PATH, starting at byte OFFSET (the start of a line); lines that are
 * not records are skipped (logged). *NEXT: the offset of the next page,
 * 0 when there is none. Reads only the lines the page needs. Returns the
 * number appended, or -1 (errno); a missing file is 0. */
int ns_jsonl_page(const char *path, uint64_t offset, size_t max, json_t *arr, uint64_t *next);

/* Rewrite the JSON Lines file PATH through FN, line by line (streamed):
 * FN(line) returns 1 to keep the line, 0 to drop it, 2 to set it aside;
 * lines that are not records (nf_record_check) are set aside without FN.
 * Set aside: appended to PATH.corrupt (logged). The kept lines replace
 * PATH atomically (PATH.tmp, fsync, rename; no line kept: PATH goes).
 * Returns the number kept, or -1 with ERR. */
int ns_jsonl_filter(const char *path, int (*fn)(json_t *line, void *arg), void *arg, char *err, size_t errlen);

/* Read the JSON object in PATH: a new reference, or NULL (missing: errno
 * ENOENT; unreadable or not an object: another errno). */
json_t *ns_json_read(const char *path);

#endif
