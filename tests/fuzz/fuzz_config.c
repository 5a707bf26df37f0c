/* fuzz_config.c - libFuzzer target for config_load(): any file must give a
 * config or an error message, never a crash or a leak.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc \
 *     tests/fuzz/fuzz_config.c src/core/config*.c -lconfig -o /tmp/fuzz_config
 *   /tmp/fuzz_config -max_total_time=120 conf/
 *
 * or `make fuzz-smoke` (both targets, FUZZ_SECONDS each). Each input is
 * written to /tmp/albd-fuzz-config-PID.conf, removed at exit.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];

static void remove_input(void)
{
	unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[CONFIG_ERR_MAX];

	if (!path[0]) {
		snprintf(path, sizeof(path), "/tmp/albd-fuzz-config-%d.conf", (int)getpid());
		atexit(remove_input);
	}
	FILE *f = fopen(path, "w");
	if (!f)
		return 0;
	fwrite(data, 1, size, f);
	fclose(f);
	struct albd_config *cfg = config_load(path, err, sizeof(err));
	config_free(cfg);
	return 0;
}
