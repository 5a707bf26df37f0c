/* ui.h - the built-in dashboard on the admin listener: one page and its
 * files, embedded in the binary (ui_asset.h), which read only the JSON API.
 *
 *   GET /              index.html: the login form and the page's frame
 *   GET /ui/boot.js    asks for the token (when one is set), keeps it in
 *                      sessionStorage, then loads the two below with it
 *   GET /ui/style.css, /ui/uplot.css
 *   GET /ui/session    {"TokenRequired": true|false}
 *   GET /ui/app.js     the dashboard itself   } token, as the API
 *   GET /ui/uplot.js   uPlot (vendored)       }
 *
 * Everything but app.js and uplot.js is ADMIN_OPEN: without the token a
 * browser gets the login form and nothing else. Every file carries a
 * strict Content-Security-Policy (default-src 'self'; scripts also from
 * blob:, which is how boot.js runs what it fetched with the token), an
 * ETag (answered 304 on If-None-Match) and "Cache-Control: no-cache".
 *
 * Thread: control.
 */
#ifndef ALBD_UI_H
#define ALBD_UI_H

/* Register the routes with admin_route(). Call after admin_init(). */
void ui_init(void);

#endif
