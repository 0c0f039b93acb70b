/** The status page's HTML: the layout only; assets/status.js fills it from /api/status. */
export function statusPage(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>roomcast status</title>
<link rel="stylesheet" href="/assets/uplot.css">
<style>
body{font:14px system-ui,sans-serif;margin:0 auto;max-width:72rem;padding:1rem;color:#111}
h1{font-size:1.4rem;margin:.2rem 0}h2{font-size:1.05rem;margin:1.4rem 0 .4rem}
header{display:flex;gap:1rem;align-items:baseline;flex-wrap:wrap}header nav{margin-left:auto}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.25rem .5rem;border-bottom:1px solid #e5e7eb;vertical-align:top}
.up{color:#15803d}.down{color:#b91c1c}.none{color:#6b7280}#error{color:#b91c1c}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(20rem,1fr));gap:1rem}
.bar{display:flex;align-items:center;gap:.5rem;margin:.2rem 0}.bar .label{width:5rem}.bar .fill{height:.9rem;display:inline-block}
</style></head><body>
<header><h1>roomcast</h1><span id="updated"></span><nav><a href="/admin/queues">queue dashboard</a> · <a href="/metrics">metrics</a> · <form method="post" action="/logout" style="display:inline"><button>log out</button></form></nav></header>
<p id="error" hidden></p>
<h2>Delivery latency per network (last hour)</h2><div id="latency"></div><p id="latency-empty" class="none">nothing delivered in the last hour</p>
<div class="grid">
<section><h2>Delivered first</h2><div id="first"></div></section>
<section><h2>Queue depth (jobs waiting, active or delayed)</h2><div id="depth"></div><p id="depth-empty" class="none">collecting…</p></section>
</div>
<h2>Platforms</h2><div id="platforms"></div>
<h2>Rooms</h2><div id="rooms"></div>
<h2>Networks</h2><div id="transports"></div>
<h2>Queues</h2><div id="queues"></div>
<h2>Recent room messages</h2><div id="recent"></div>
<script src="/assets/uplot.js"></script>
<script src="/assets/status.js"></script>
</body></html>`;
}
