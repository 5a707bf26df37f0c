/* app.js - albd's dashboard. Loaded by boot.js with the admin token; reads
 * only the JSON API of the admin listener:
 *
 *   POST /api/v1/metrics/query           GetMetricData: every chart and sparkline in one call
 *   GET  /api/v1/target-groups           the groups
 *   GET  /api/v1/target-groups/NAME/health  the target table
 *   GET  /api/v1/alarms, /api/v1/alarms/NAME/history
 *   GET  /api/v1/topics                  topics, subscriptions, dead letters
 *
 * Every REFRESH_MS it asks again and updates what is on the page in place
 * (uPlot's setData, tables rebuilt off-screen and swapped in one step), so
 * nothing flickers; when albd cannot be reached the header says
 * "disconnected" and the last data stays until albd answers again.
 */
'use strict';
(function () {
	var REFRESH_MS = 5000;
	/* range -> seconds and the period of a point: about 180 points, and
	 * periods the store's resolutions (1 s, 60 s, 300 s, 3600 s) serve */
	var RANGES = [
		{ key: '15m', label: '15 min', secs: 900, period: 5 },
		{ key: '1h', label: '1 h', secs: 3600, period: 20 },
		{ key: '3h', label: '3 h', secs: 10800, period: 60 },
		{ key: '1d', label: '1 d', secs: 86400, period: 600 },
		{ key: '1w', label: '1 w', secs: 604800, period: 3600 },
	];
	/* what a chart's series are: MetricName, Stat, and how a value is shown
	 * (rate: a Sum per second; scale: seconds to ms) */
	var METRICS = {
		rq: { name: 'RequestCount', stat: 'Sum', rate: true },
		p50: { name: 'TargetResponseTime', stat: 'p50', scale: 1000 },
		p90: { name: 'TargetResponseTime', stat: 'p90', scale: 1000 },
		p99: { name: 'TargetResponseTime', stat: 'p99', scale: 1000 },
		e4: { name: 'HTTPCode_ELB_4XX_Count', stat: 'Sum', rate: true },
		e5: { name: 'HTTPCode_ELB_5XX_Count', stat: 'Sum', rate: true },
		t4: { name: 'HTTPCode_Target_4XX_Count', stat: 'Sum', rate: true },
		t5: { name: 'HTTPCode_Target_5XX_Count', stat: 'Sum', rate: true },
		ac: { name: 'ActiveConnectionCount', stat: 'Average' },
		hh: { name: 'HealthyHostCount', stat: 'Minimum' },
		uh: { name: 'UnHealthyHostCount', stat: 'Maximum' },
	};
	var LB_CHARTS = [
		{ id: 'req', title: 'Request rate', unit: 'req/s', series: [['Requests', 'rq']] },
		{ id: 'lat', title: 'Target response time', unit: 'ms', series: [['p50', 'p50'], ['p90', 'p90'], ['p99', 'p99']] },
		{ id: 'err', title: 'Errors', unit: 'resp/s',
			series: [['ELB 4XX', 'e4'], ['ELB 5XX', 'e5'], ['Target 4XX', 't4'], ['Target 5XX', 't5']] },
		{ id: 'conn', title: 'Active connections', unit: 'conn', series: [['Active', 'ac']] },
	];
	var TG_CHARTS = [
		{ id: 'req', title: 'Request rate', unit: 'req/s', series: [['Requests', 'rq']] },
		{ id: 'lat', title: 'Target response time', unit: 'ms', series: [['p50', 'p50'], ['p90', 'p90'], ['p99', 'p99']] },
		{ id: 'err', title: 'Target errors', unit: 'resp/s', series: [['Target 4XX', 't4'], ['Target 5XX', 't5']] },
		{ id: 'hosts', title: 'Hosts', unit: 'hosts', series: [['Healthy', 'hh'], ['Unhealthy', 'uh']] },
	];
	var COLORS = { rq: '#0b63c5', p50: '#2e9d5b', p90: '#d4a017', p99: '#c62828', e4: '#d4a017', e5: '#c62828',
		t4: '#8e6bd6', t5: '#e0561b', ac: '#0b63c5', hh: '#2e9d5b', uh: '#c62828' };

	var S = {
		range: RANGES[0],
		scopes: [],          /* {key, title, dims, charts: [def], el, plots: {id: uPlot}, nowEls} */
		groupsKey: '',
		alarmHist: {},       /* alarm name -> {stamp, items} */
		timer: null,
		busy: false,
		again: false,
	};

	var $ = function (id) { return document.getElementById(id); };

	/* h('td', {class: 'num'}, 'text', node, [nodes], ...): an element;
	 * strings become text nodes (never HTML) */
	function h(tag, attrs) {
		var el = document.createElement(tag);
		for (var k in attrs || {}) {
			if (attrs[k] == null)
				continue;
			if (k === 'class')
				el.className = attrs[k];
			else
				el.setAttribute(k, attrs[k]);
		}
		var add = function (c) {
			if (c == null)
				return;
			if (Array.isArray(c))
				c.forEach(add);
			else
				el.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
		};
		for (var i = 2; i < arguments.length; i++)
			add(arguments[i]);
		return el;
	}

	function svg(tag, attrs) {
		var el = document.createElementNS('http://www.w3.org/2000/svg', tag);
		for (var k in attrs)
			el.setAttribute(k, attrs[k]);
		return el;
	}

	/* ------------------------------------------------------------ format */

	function fmtNum(v) {
		if (v == null || !isFinite(v))
			return '–';
		var a = Math.abs(v);
		if (a >= 1e6)
			return (v / 1e6).toFixed(2) + 'M';
		if (a >= 1e4)
			return (v / 1e3).toFixed(1) + 'k';
		if (a >= 100 || v === Math.round(v))
			return v.toFixed(0);
		if (a >= 1)
			return v.toFixed(2);
		return v.toPrecision(2);
	}

	function withUnit(v, unit) {
		return fmtNum(v) + ' ' + unit;
	}

	function pad(n) {
		return (n < 10 ? '0' : '') + n;
	}

	function fmtTime(secs, withDate) {
		var d = new Date(secs * 1000);
		var t = pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
		return withDate ? d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' ' + t : t;
	}

	function ago(ms) {
		var s = Math.max(0, Math.round((Date.now() - ms) / 1000));
		if (s < 90)
			return s + ' s ago';
		if (s < 5400)
			return Math.round(s / 60) + ' min ago';
		if (s < 129600)
			return Math.round(s / 3600) + ' h ago';
		return Math.round(s / 86400) + ' d ago';
	}

	function when(iso) {
		if (!iso)
			return '–';
		var ms = Date.parse(iso);
		if (!isFinite(ms))
			return iso;
		return fmtTime(ms / 1000, Date.now() - ms > 86400000) + ' (' + ago(ms) + ')';
	}

	/* ------------------------------------------------------------ API */

	function Unauthorised() {}
	function Disconnected() {}

	async function api(method, path, body) {
		var headers = { Accept: 'application/json' };
		var t = window.albdAuth.token();
		if (t)
			headers.Authorization = 'Bearer ' + t;
		if (body)
			headers['Content-Type'] = 'application/json';
		var r;
		try {
			r = await fetch(path, { method: method, headers: headers, cache: 'no-store',
				body: body ? JSON.stringify(body) : undefined });
		} catch (e) {
			throw new Disconnected();   /* no answer: albd is down or restarting */
		}
		if (r.status === 401)
			throw new Unauthorised();
		var j = await r.json();
		if (!r.ok)
			throw new Error(path + ': ' + (j && j.Error ? j.Error.Message : 'HTTP ' + r.status));
		return j;
	}

	/* ------------------------------------------------------------ layout */

	function setConn(ok, text) {
		var c = $('conn');
		c.textContent = text;
		c.className = 'conn ' + (ok ? 'on' : 'off');
	}

	function rangeButtons() {
		var nav = $('ranges');
		nav.replaceChildren();
		RANGES.forEach(function (r) {
			var b = h('button', { type: 'button', 'aria-pressed': String(r === S.range), 'data-range': r.key }, r.label);
			b.addEventListener('click', function () {
				S.range = r;
				sessionStorage.setItem('albd.range', r.key);
				nav.querySelectorAll('button').forEach(function (x) {
					x.setAttribute('aria-pressed', String(x === b));
				});
				refresh();
			});
			nav.appendChild(b);
		});
		nav.hidden = false;
	}

	function cssVar(name) {
		return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
	}

	function chartWidth(el) {
		return Math.max(200, Math.floor(el.clientWidth || 300));
	}

	function makePlot(def, el) {
		var fg = cssVar('--muted') || '#666', grid = cssVar('--grid') || '#eee';
		var axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
		var opts = {
			width: chartWidth(el),
			height: 160,
			cursor: { drag: { x: false, y: false } },
			legend: { live: true },
			scales: { x: { time: true }, y: { range: function (u, min, max) { return [0, max > 0 ? max * 1.1 : 1]; } } },
			series: [{ label: 'Time', value: function (u, v) { return v == null ? '–' : fmtTime(v, S.range.secs > 86400); } }]
				.concat(def.series.map(function (s) {
					/* points only where few are drawn (a fresh albd, a quiet
					 * range): a lone point has no line to show it */
					return { label: s[0], stroke: COLORS[s[1]], width: 1.5, spanGaps: false,
						points: { size: 5, show: function (u, si) {
							return u.data[si].filter(function (v) { return v != null; }).length <= 12;
						} },
						value: function (u, v) { return v == null ? '–' : withUnit(v, def.unit); } };
				})),
			axes: [
				Object.assign({}, axis),
				Object.assign({}, axis, { size: 50, label: def.unit, labelSize: 14, labelFont: '11px system-ui',
					values: function (u, vals) { return vals.map(fmtNum); } }),
			],
		};
		var data = [[]].concat(def.series.map(function () { return []; }));
		return new uPlot(opts, data, el);
	}

	/* The scopes: the load balancer, then each target group. Rebuilt only
	 * when the set of groups changes (a reload). */
	function buildScopes(groups) {
		var app = $('app');
		S.scopes.forEach(function (sc) {
			Object.values(sc.plots).forEach(function (p) { p.destroy(); });
		});
		S.scopes = [];
		app.replaceChildren();
		app.appendChild(h('div', { id: 'alarms' }));
		var mk = function (key, title, sub, dims, charts, group) {
			var el = h('section', { class: 'scope', id: 'scope-' + key, 'data-scope': key },
				h('h2', null, title, ' ', h('span', { class: 'sub' }, sub)));
			var grid = h('div', { class: 'charts' });
			var sc = { key: key, dims: dims, charts: charts, el: el, plots: {}, nows: {}, group: group };
			charts.forEach(function (def) {
				var now = h('span', { class: 'now' }, '–');
				var box = h('div', { class: 'chart', 'data-chart': def.id });
				grid.appendChild(h('div', { class: 'card' }, h('h3', null, h('span', null, def.title), now), box));
				sc.nows[def.id] = now;
				sc.boxes = sc.boxes || {};
				sc.boxes[def.id] = box;
			});
			el.appendChild(grid);
			if (group) {
				sc.targets = h('div', { class: 'scroll', 'data-targets': group });
				el.appendChild(sc.targets);
			}
			app.appendChild(el);
			S.scopes.push(sc);
		};
		mk('lb', 'Load balancer', 'all listeners', [], LB_CHARTS, null);
		groups.forEach(function (g, i) {
			mk('tg' + i, 'Target group ' + g.TargetGroupName,
				(g.Protocol || 'HTTP') + (g.Port ? ', port ' + g.Port : ''),
				[{ Name: 'TargetGroup', Value: g.TargetGroupName }], TG_CHARTS, g.TargetGroupName);
		});
		app.appendChild(h('div', { id: 'topics' }));
		app.hidden = false;
		/* the plots are made once their boxes have a width */
		S.scopes.forEach(function (sc) {
			sc.charts.forEach(function (def) {
				sc.plots[def.id] = makePlot(def, sc.boxes[def.id]);
			});
		});
	}

	function resize() {
		S.scopes.forEach(function (sc) {
			sc.charts.forEach(function (def) {
				var p = sc.plots[def.id];
				var w = chartWidth(sc.boxes[def.id]);
				if (p && p.width !== w)
					p.setSize({ width: w, height: 160 });
			});
		});
	}

	/* Light and dark differ in the axes' colours, which live in the canvas:
	 * make the plots again. */
	function restyle() {
		S.scopes.forEach(function (sc) {
			sc.charts.forEach(function (def) {
				var old = sc.plots[def.id], data = old.data;
				old.destroy();
				sc.plots[def.id] = makePlot(def, sc.boxes[def.id]);
				sc.plots[def.id].setData(data);
			});
		});
	}

	/* ------------------------------------------------------------ metrics */

	function targetName(d) {
		var id = d.Target.Id;
		return (id.indexOf(':') >= 0 ? '[' + id + ']' : id) + ':' + d.Target.Port;
	}

	/* One GetMetricData call: every series of every chart, and each
	 * target's RequestCount for its sparkline. */
	async function queryMetrics(healths) {
		var r = S.range, end = Math.ceil(Date.now() / 1000 / r.period) * r.period, start = end - r.secs;
		var qs = [], want = {};
		var add = function (id, key, dims, period) {
			var m = METRICS[key];
			qs.push({ Id: id, MetricStat: { Metric: { Namespace: 'AWS/ApplicationELB', MetricName: m.name,
				Dimensions: dims }, Stat: m.stat, Period: period } });
			want[id] = m;
		};
		S.scopes.forEach(function (sc, si) {
			sc.charts.forEach(function (def) {
				def.series.forEach(function (s) {
					add('s' + si + '_' + s[1], s[1], sc.dims, r.period);
				});
			});
			if (sc.group && healths[sc.group]) {
				healths[sc.group].forEach(function (d, ti) {
					add('s' + si + 't' + ti, 'rq', sc.dims.concat([{ Name: 'Target', Value: targetName(d) }]),
						r.period * 6);
				});
			}
		});
		var res = await api('POST', '/api/v1/metrics/query',
			{ MetricDataQueries: qs, StartTime: start, EndTime: end, ScanBy: 'TimestampAscending' });
		var out = {};
		(res.MetricDataResults || []).forEach(function (m) {
			var spec = want[m.Id], q = qs.find(function (x) { return x.Id === m.Id; });
			var per = q.MetricStat.Period;
			out[m.Id] = {
				t: m.Timestamps.map(function (s) { return Date.parse(s) / 1000; }),
				v: m.Values.map(function (v) {
					return spec.rate ? v / per : spec.scale ? v * spec.scale : v;
				}),
			};
		});
		return { series: out, start: start, end: end };
	}

	/* uPlot's data for chart DEF of scope SI: one x for every period of the
	 * range, null where the store has no point. */
	function chartData(si, def, m) {
		var per = S.range.period, xs = [];
		for (var t = m.start + per; t <= m.end; t += per)
			xs.push(t);
		var idx = {};
		xs.forEach(function (t, i) { idx[t] = i; });
		var data = [xs];
		def.series.forEach(function (s) {
			var col = xs.map(function () { return null; });
			var ser = m.series['s' + si + '_' + s[1]];
			if (ser)
				ser.t.forEach(function (t, i) {
					var k = idx[t];
					if (k === undefined) {
						k = Math.round((t - m.start) / per) - 1;
						if (k < 0 || k >= xs.length)
							return;
					}
					col[k] = ser.v[i];
				});
			data.push(col);
		});
		return data;
	}

	function lastValue(col) {
		for (var i = col.length - 1; i >= 0; i--)
			if (col[i] != null)
				return col[i];
		return null;
	}

	function drawCharts(m) {
		S.scopes.forEach(function (sc, si) {
			sc.charts.forEach(function (def) {
				var data = chartData(si, def, m);
				sc.plots[def.id].setData(data);
				var parts = def.series.map(function (s, k) {
					return (def.series.length > 1 ? s[0] + ' ' : '') + withUnit(lastValue(data[k + 1]), def.unit);
				});
				sc.nows[def.id].textContent = parts.slice(0, 2).join(' · ');
				/* for the tests: how many points are drawn, the largest value */
				var vals = [].concat.apply([], data.slice(1)).filter(function (v) { return v != null; });
				sc.boxes[def.id].setAttribute('data-points', String(vals.length));
				sc.boxes[def.id].setAttribute('data-max', String(vals.length ? Math.max.apply(null, vals) : 0));
			});
		});
	}

	/* ------------------------------------------------------------ targets */

	function sparkline(ser, period) {
		var w = 120, hgt = 28, el = svg('svg', { class: 'spark', viewBox: '0 0 ' + w + ' ' + hgt, role: 'img' });
		var vals = ser ? ser.v : [];
		var max = Math.max.apply(null, vals.concat([0.000001]));
		var n = vals.length;
		el.appendChild(svg('line', { x1: 0, y1: hgt - 1, x2: w, y2: hgt - 1 }));
		if (n > 0) {
			var pts = vals.map(function (v, i) {
				var x = n === 1 ? w : (i / (n - 1)) * w;
				return x.toFixed(1) + ',' + (hgt - 2 - (v / max) * (hgt - 4)).toFixed(1);
			});
			if (n === 1)
				el.appendChild(svg('circle', { cx: w - 2, cy: pts[0].split(',')[1], r: 2 }));
			else
				el.appendChild(svg('polyline', { points: pts.join(' ') }));
		}
		var title = svg('title', {});
		title.textContent = 'Requests per ' + period + ' s, max ' + fmtNum(max < 0.001 ? 0 : max * period) + ' req';
		el.appendChild(title);
		el.setAttribute('data-points', String(n));
		return el;
	}

	function drawTargets(healths, m) {
		S.scopes.forEach(function (sc, si) {
			if (!sc.group)
				return;
			var list = healths[sc.group] || [];
			var per = S.range.period * 6;
			var rows = list.map(function (d, ti) {
				var th = d.TargetHealth || {}, ser = m.series['s' + si + 't' + ti];
				var last = ser && ser.v.length ? ser.v[ser.v.length - 1] : null;
				return h('tr', { 'data-target': targetName(d), 'data-state': th.State },
					h('td', { class: 'nowrap' }, targetName(d)),
					h('td', null, h('span', { class: 'state ' + th.State }, th.State)),
					h('td', { class: 'nowrap' }, th.Reason || '–'),
					h('td', null, th.Description || '–'),
					h('td', { class: 'nowrap' }, when(d.StateUpdatedTimestamp)),
					h('td', null, sparkline(ser, per)),
					h('td', { class: 'num' }, withUnit(last, 'req/s')));
			});
			var table = h('table', null,
				h('thead', null, h('tr', null, h('th', null, 'Target'), h('th', null, 'State'), h('th', null, 'Reason'),
					h('th', null, 'Description'), h('th', null, 'Since'), h('th', null, 'Requests'),
					h('th', { class: 'num' }, 'Now'))),
				h('tbody', null, rows.length ? rows : h('tr', null, h('td', { colspan: 7, class: 'empty' }, 'No targets'))));
			sc.targets.replaceChildren(table);
		});
	}

	/* ------------------------------------------------------------ alarms */

	async function alarmHistory(a) {
		var c = S.alarmHist[a.AlarmName];
		if (c && c.stamp === a.StateUpdatedTimestamp)
			return c.items;
		var j = await api('GET', '/api/v1/alarms/' + encodeURIComponent(a.AlarmName) +
			'/history?HistoryItemType=StateUpdate&MaxRecords=3');
		S.alarmHist[a.AlarmName] = { stamp: a.StateUpdatedTimestamp, items: j.AlarmHistoryItems || [] };
		return S.alarmHist[a.AlarmName].items;
	}

	function drawAlarms(alarms, hist) {
		var firing = alarms.filter(function (a) { return a.StateValue === 'ALARM'; });
		var banner = $('banner');
		if (firing.length) {
			banner.replaceChildren(h('div', null, firing.length === 1 ? '1 alarm in ALARM' : firing.length + ' alarms in ALARM'),
				h('ul', null, firing.map(function (a) {
					return h('li', null, a.AlarmName + ': ' + (a.StateReason || ''));
				})));
			banner.hidden = false;
		} else {
			banner.hidden = true;
			banner.replaceChildren();
		}
		var order = { ALARM: 0, INSUFFICIENT_DATA: 1, OK: 2 };
		alarms = alarms.slice().sort(function (a, b) {
			return (order[a.StateValue] - order[b.StateValue]) || a.AlarmName.localeCompare(b.AlarmName);
		});
		var rows = alarms.map(function (a) {
			var items = hist[a.AlarmName] || [];
			return h('tr', { class: a.StateValue === 'ALARM' ? 'alarm' : null, 'data-alarm': a.AlarmName,
				'data-state': a.StateValue },
			h('td', { class: 'nowrap' }, a.AlarmName),
			h('td', null, h('span', { class: 'state ' + a.StateValue }, a.StateValue)),
			h('td', null, a.StateReason || '–'),
			h('td', { class: 'nowrap' }, when(a.StateUpdatedTimestamp)),
			h('td', null, items.length ? h('ul', { class: 'hist' }, items.map(function (it) {
				return h('li', null, fmtTime(Date.parse(it.Timestamp) / 1000, true) + ' ' + it.HistorySummary);
			})) : '–'));
		});
		var el = $('alarms');
		el.replaceChildren(h('section', { class: 'scope' }, h('h2', null, 'Alarms ',
			h('span', { class: 'sub' }, alarms.length + (alarms.length === 1 ? ' alarm' : ' alarms'))),
		h('div', { class: 'scroll' }, h('table', null,
			h('thead', null, h('tr', null, h('th', null, 'Alarm'), h('th', null, 'State'), h('th', null, 'Reason'),
				h('th', null, 'Since'), h('th', null, 'Recent history'))),
			h('tbody', null, rows.length ? rows : h('tr', null, h('td', { colspan: 5, class: 'empty' }, 'No alarms')))))));
	}

	/* ------------------------------------------------------------ topics */

	function drawTopics(topics) {
		var rows = [];
		topics.forEach(function (t) {
			var subs = t.Subscriptions || [];
			if (!subs.length)
				rows.push(h('tr', null, h('td', null, t.Name), h('td', { colspan: 6, class: 'empty' }, 'No subscriptions')));
			subs.forEach(function (s) {
				rows.push(h('tr', { 'data-topic': t.Name },
					h('td', { class: 'nowrap' }, t.Name),
					h('td', null, s.Endpoint),
					h('td', null, s.Format || s.Protocol),
					h('td', null, h('span', { class: 'state ' + s.ConfirmationState }, s.ConfirmationState)),
					h('td', { class: 'num' }, withUnit(s.Pending, 'msg')),
					h('td', { class: 'num' }, withUnit(s.Delivered, 'msg')),
					h('td', { class: 'num' + (s.DeadLetters ? ' error' : '') }, withUnit(s.DeadLetters, 'msg'))));
			});
		});
		$('topics').replaceChildren(h('section', { class: 'scope' }, h('h2', null, 'Topics ',
			h('span', { class: 'sub' }, topics.length + (topics.length === 1 ? ' topic' : ' topics'))),
		h('div', { class: 'scroll' }, h('table', null,
			h('thead', null, h('tr', null, h('th', null, 'Topic'), h('th', null, 'Endpoint'), h('th', null, 'Format'),
				h('th', null, 'Confirmation'), h('th', { class: 'num' }, 'Pending'), h('th', { class: 'num' }, 'Delivered'),
				h('th', { class: 'num' }, 'Dead letters'))),
			h('tbody', null, rows.length ? rows : h('tr', null, h('td', { colspan: 7, class: 'empty' }, 'No topics')))))));
	}

	/* ------------------------------------------------------------ refresh */

	async function refresh() {
		if (S.busy) {
			S.again = true;   /* a new range while a refresh runs */
			return;
		}
		S.busy = true;
		S.again = false;
		clearTimeout(S.timer);
		try {
			var tgs = (await api('GET', '/api/v1/target-groups')).TargetGroups || [];
			var key = tgs.map(function (g) { return g.TargetGroupName; }).join('\n');
			if (key !== S.groupsKey || !S.scopes.length) {
				buildScopes(tgs);
				S.groupsKey = key;
			}
			var healths = {};
			await Promise.all(tgs.map(async function (g) {
				var j = await api('GET', '/api/v1/target-groups/' + encodeURIComponent(g.TargetGroupName) + '/health');
				healths[g.TargetGroupName] = j.TargetHealthDescriptions || [];
			}));
			var parts = await Promise.all([
				queryMetrics(healths),
				api('GET', '/api/v1/alarms'),
				api('GET', '/api/v1/topics'),
			]);
			var aj = parts[1], alarms = (aj.MetricAlarms || []).concat(aj.CompositeAlarms || []);
			var hist = {};
			await Promise.all(alarms.map(async function (a) {
				hist[a.AlarmName] = await alarmHistory(a);
			}));
			drawCharts(parts[0]);
			drawTargets(healths, parts[0]);
			drawAlarms(alarms, hist);
			drawTopics(parts[2].Topics || []);
			setConn(true, 'live · updated ' + fmtTime(Date.now() / 1000));
			document.body.setAttribute('data-updated', String(Date.now()));
		} catch (e) {
			if (e instanceof Unauthorised) {
				window.albdAuth.expired();
				return;
			}
			/* albd restarting, or not reachable: keep what is shown, say
			 * so, try again */
			setConn(false, e instanceof Disconnected ? 'disconnected: retrying every ' + REFRESH_MS / 1000 + ' s'
				: 'error: ' + e.message);
			if (!(e instanceof Disconnected))
				console.error('albd dashboard:', e);
		} finally {
			S.busy = false;
			S.timer = setTimeout(refresh, S.again ? 0 : REFRESH_MS);
		}
	}

	function start() {
		var saved = sessionStorage.getItem('albd.range');
		S.range = RANGES.find(function (r) { return r.key === saved; }) || RANGES[0];
		rangeButtons();
		var t;
		window.addEventListener('resize', function () {
			clearTimeout(t);
			t = setTimeout(resize, 100);
		});
		var mq = window.matchMedia('(prefers-color-scheme: dark)');
		if (mq.addEventListener)
			mq.addEventListener('change', restyle);
		refresh();
	}

	window.albdDashboard = { start: start };
})();
