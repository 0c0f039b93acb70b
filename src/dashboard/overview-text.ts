/**
 * The status overview as terminal text (`roomcast status`): the same report
 * the status page draws, as plain lines.
 */
import type { StatusReport } from './status.js';

function ago(at: number, now: number): string {
  const s = Math.max(0, Math.round((now - at) / 1000));
  return s < 60 ? `${s}s ago` : s < 3600 ? `${Math.round(s / 60)}m ago` : `${Math.round(s / 3600)}h ago`;
}

export function overviewText(r: StatusReport, now: number = r.generatedAt): string {
  const lines: string[] = [];
  lines.push('Platforms:');
  for (const p of r.platforms) {
    const s = p.status;
    lines.push(s ? `  ${s.connected ? '✓' : '✗'} ${p.id}: ${s.connected ? 'connected' : 'not connected'} since ${ago(s.since, now)} — ${s.detail}${s.lastError ? ` (last error ${ago(s.lastError.at, now)}: ${s.lastError.message})` : ''}` : `  ✓ ${p.id}: in-process`);
  }
  if (r.platforms.length === 0) lines.push('  none configured');
  lines.push(`Rooms (${r.rooms.filter((x) => x.bridged).length} bridged):`);
  for (const room of r.rooms) {
    lines.push(`  ${room.platform} ${room.roomId}${room.bridged ? '' : ' (left)'} — contacts: ${room.contacts.join(', ') || 'none'} — last activity ${ago(room.lastActivity, now)}`);
  }
  lines.push('Networks:');
  for (const t of r.transports) {
    for (const e of t.endpoints) lines.push(`  ${e.connected ? '✓' : '✗'} ${t.id} ${e.endpoint} — ${e.connected ? 'up' : 'down'} since ${ago(e.since, now)}${e.lastError ? ` (${e.lastError})` : ''}`);
  }
  if (r.transports.length === 0) lines.push('  none');
  lines.push('Queues:');
  for (const [name, c] of Object.entries(r.queues)) {
    lines.push(c ? `  ${name}: waiting ${c.waiting} · active ${c.active} · delayed ${c.delayed} · failed ${c.failed} · completed ${c.completed}` : `  ${name}: unreachable`);
  }
  lines.push('Recent room messages:');
  for (const m of r.recent) {
    const who = m.contacts.map((c) => {
      const delivered = Object.entries(c.delivered).map(([p, ms]) => `${p} ${ms}ms`).join(', ') || 'not yet';
      const acked = Object.entries(c.acked).map(([p, ms]) => `${p} +${ms}ms`).join(', ');
      return `${c.name}: ${delivered}${acked ? `; acknowledged ${acked}` : ''}`;
    });
    lines.push(`  ${ago(m.at, now)} ${m.roomId} ${m.sender}: ${m.text}${who.length ? ` → ${who.join(' | ')}` : ''}`);
  }
  if (r.recent.length === 0) lines.push('  none');
  return `${lines.join('\n')}\n`;
}
