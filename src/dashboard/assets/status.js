// The status page's script: reads /api/status every 5 s and draws it. No
// framework; uPlot (served from this origin) draws the time series.
'use strict';
(function () {
  const $ = (id) => document.getElementById(id);
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
  const ago = (ms) => {
    const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
    return s < 60 ? `${s}s ago` : s < 3600 ? `${Math.round(s / 60)}m ago` : `${Math.round(s / 3600)}h ago`;
  };
  const COLORS = ['#2563eb', '#16a34a', '#db2777', '#ea580c', '#7c3aed'];
  const charts = {};

  function table(head, rows) {
    if (rows.length === 0) return '<p class="none">none</p>';
    return `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
  }

  function draw(id, data, series, opts) {
    const el = $(id);
    const width = Math.max(320, el.clientWidth);
    if (charts[id] && charts[id].series.length === series.length + 1) {
      charts[id].setData(data);
      return;
    }
    if (charts[id]) charts[id].destroy();
    charts[id] = new uPlot({ width, height: 220, series: [{}, ...series], axes: [{}, { label: opts.y }], scales: { x: { time: true } } }, data, el);
  }

  function render(s) {
    $('updated').textContent = `updated ${new Date(s.generatedAt).toLocaleTimeString()}`;
    $('platforms').innerHTML = table(['platform', 'state', 'detail'], s.platforms.map((p) => [
      esc(p.id),
      p.status ? (p.status.connected ? '<span class="up">✓ connected</span>' : `<span class="down">✗ not connected</span>${p.status.lastError ? ` — ${esc(p.status.lastError.message)}` : ''}`) : 'in-process',
      p.status ? esc(p.status.detail) : '',
    ]));
    $('rooms').innerHTML = table(['room', 'platform', 'contacts', 'last activity'], s.rooms.map((r) => [
      `${esc(r.roomId)}${r.bridged ? '' : ' <span class="down">(left)</span>'}`, esc(r.platform), esc(r.contacts.join(', ') || '—'), ago(r.lastActivity),
    ]));
    $('transports').innerHTML = table(['network', 'endpoint', 'state', 'since', 'last error'], s.transports.flatMap((t) => t.endpoints.map((e) => [
      esc(t.id), esc(e.endpoint), e.connected ? '<span class="up">✓ up</span>' : '<span class="down">✗ down</span>', ago(e.since), esc(e.lastError || ''),
    ])));
    $('queues').innerHTML = table(['queue', 'waiting', 'active', 'delayed', 'failed', 'completed'], Object.entries(s.queues).map(([q, c]) => c
      ? [esc(q), c.waiting, c.active, c.delayed, c.failed, c.completed]
      : [esc(q), '<span class="down">unreachable</span>', '', '', '', '']));
    $('recent').innerHTML = table(['when', 'room', 'message', 'delivered (ms)', 'acknowledged (ms)'], s.recent.map((m) => [
      ago(m.at), esc(m.roomId), `${esc(m.sender)}: ${esc(m.text)}`,
      m.contacts.map((c) => `${esc(c.name)}: ${Object.entries(c.delivered).map(([p, ms]) => `${esc(p)} ${ms}`).join(' · ') || '—'}`).join('<br>'),
      m.contacts.map((c) => `${esc(c.name)}: ${Object.entries(c.acked).map(([p, ms]) => `${esc(p)} +${ms}`).join(' · ') || '—'}`).join('<br>'),
    ]));

    const nets = Object.keys(s.charts.latency.networks);
    const lat = [s.charts.latency.at];
    const latSeries = [];
    nets.forEach((n, i) => {
      lat.push(s.charts.latency.networks[n].p50, s.charts.latency.networks[n].p95);
      latSeries.push({ label: `${n} p50`, stroke: COLORS[i % COLORS.length], width: 2, spanGaps: true }, { label: `${n} p95`, stroke: COLORS[i % COLORS.length], dash: [6, 4], spanGaps: true });
    });
    $('latency-empty').hidden = nets.length > 0;
    if (nets.length > 0) draw('latency', lat, latSeries, { y: 'ms' });

    const first = Object.entries(s.charts.firstDelivered);
    const total = first.reduce((a, [, n]) => a + n, 0);
    $('first').innerHTML = total === 0 ? '<p class="none">nothing sent in the last hour</p>' : first.map(([p, n], i) =>
      `<div class="bar"><span class="label">${esc(p)}</span><span class="fill" style="width:${Math.round((n / total) * 100)}%;background:${COLORS[i % COLORS.length]}"></span><span>${n} (${Math.round((n / total) * 100)}%)</span></div>`).join('');

    const d = s.charts.queueDepth;
    $('depth-empty').hidden = d.at.length > 1;
    if (d.at.length > 1) draw('depth', [d.at, d.outbound, d.inbound], [{ label: 'outbound', stroke: COLORS[0], width: 2 }, { label: 'inbound', stroke: COLORS[1], width: 2 }], { y: 'jobs' });
  }

  async function refresh() {
    try {
      const res = await fetch('/api/status', { credentials: 'same-origin' });
      if (res.status === 401) return location.reload();
      render(await res.json());
      $('error').hidden = true;
    } catch (err) {
      $('error').hidden = false;
      $('error').textContent = `could not read the status: ${err}`;
    }
  }
  refresh();
  setInterval(refresh, 5000);
})();
