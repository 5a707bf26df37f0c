/* boot.js - the dashboard's loader, served without the token.
 *
 * It asks albd (GET /ui/session) whether a token is needed; if so and the
 * browser session has none, it shows the login form. With the token (kept
 * in sessionStorage, so for this browser session only) it fetches uPlot
 * and the dashboard (app.js), which albd serves only with the token, and
 * runs them from blob: URLs (the page's Content-Security-Policy allows
 * scripts from 'self' and blob: only). A token albd refuses is forgotten
 * and the form shown again.
 */
'use strict';
(function () {
	var KEY = 'albd.token';
	var $ = function (id) { return document.getElementById(id); };

	function token() {
		return sessionStorage.getItem(KEY) || '';
	}

	function setConn(text, cls) {
		var c = $('conn');
		c.textContent = text;
		c.className = 'conn ' + (cls || '');
	}

	function showLogin(msg) {
		$('app').hidden = true;
		$('login').hidden = false;
		var e = $('login-error');
		e.textContent = msg || '';
		e.hidden = !msg;
		setConn('signed out', 'off');
		$('token').focus();
	}

	/* The page calls this when the API answers 401 (the token was
	 * changed in albd's config): forget it and ask again. */
	function expired() {
		sessionStorage.removeItem(KEY);
		location.reload();
	}

	function signOut() {
		sessionStorage.removeItem(KEY);
		location.reload();
	}

	async function fetchScript(path) {
		var h = {};
		if (token())
			h.Authorization = 'Bearer ' + token();
		var r = await fetch(path, { headers: h, cache: 'no-cache' });
		if (r.status === 401) {
			var e = new Error('the token was not accepted');
			e.status = 401;
			throw e;
		}
		if (!r.ok)
			throw new Error(path + ': HTTP ' + r.status);
		return URL.createObjectURL(await r.blob());
	}

	function run(url) {
		return new Promise(function (resolve, reject) {
			var s = document.createElement('script');
			s.src = url;
			s.onload = function () { URL.revokeObjectURL(url); resolve(); };
			s.onerror = function () { reject(new Error('cannot run ' + url)); };
			document.head.appendChild(s);
		});
	}

	async function start() {
		try {
			var r = await fetch('/ui/session', { cache: 'no-store' });
			var s = await r.json();
			if (s.TokenRequired && !token()) {
				showLogin('');
				return;
			}
			var plot = await fetchScript('/ui/uplot.js');
			var app = await fetchScript('/ui/app.js');
			await run(plot);
			await run(app);
			$('login').hidden = true;
			$('signout').hidden = !s.TokenRequired;
			window.albdDashboard.start();
		} catch (e) {
			if (e.status === 401) {
				sessionStorage.removeItem(KEY);
				showLogin('albd did not accept this token.');
				return;
			}
			/* albd is down or restarting: try again */
			setConn('disconnected: retrying', 'off');
			setTimeout(start, 3000);
		}
	}

	window.albdAuth = { token: token, expired: expired };

	document.addEventListener('DOMContentLoaded', function () {
		$('login-form').addEventListener('submit', function (ev) {
			ev.preventDefault();
			var t = $('token').value.trim();
			if (!t)
				return;
			sessionStorage.setItem(KEY, t);
			$('token').value = '';
			$('login').hidden = true;
			setConn('connecting…', '');
			start();
		});
		$('signout').addEventListener('click', signOut);
		start();
	});
})();
