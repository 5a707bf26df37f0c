/* ui_asset.h - the dashboard's files, embedded at build time: the table
 * that scripts/embed-ui.sh generates (ui_assets.c, from src/control/ui/)
 * and control/ui.c serves. Read-only data; any thread.
 */
#ifndef ALBD_UI_ASSET_H
#define ALBD_UI_ASSET_H

#include <stddef.h>

struct ui_asset {
	const char *name;             /* path under src/control/ui/: "app.js", "vendor/uPlot.min.css" */
	const unsigned char *data;    /* its bytes (followed by a NUL that len does not count) */
	size_t len;
};

extern const struct ui_asset ui_assets[];
extern const size_t ui_nassets;

#endif
