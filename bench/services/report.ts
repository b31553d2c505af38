/** The services benchmark's report as markdown and as an SVG chart (written by hand, no dependencies). */
import type { BenchReport } from './run.js';
import { VARIANT_IDS, type VariantId } from './variants.js';

const fmt = (v: number | undefined, digits = 1) => (v === undefined || Number.isNaN(v) ? '–' : v.toFixed(digits));
const fmtMs = (v: number | undefined) => (v === undefined ? '–' : v >= 1000 ? `${(v / 1000).toFixed(2)} s` : v >= 10 ? `${v.toFixed(0)} ms` : `${v.toFixed(3)} ms`);

/** The report as markdown tables: latency with ratios to the floor, then install/update times, then what carried traffic. */
export function reportMarkdown(r: BenchReport): string {
  const lines: string[] = [];
  lines.push(`# Services benchmark${r.quick ? ' (quick run)' : ''}`, '');
  lines.push(`${r.date}, kernel ${r.machine.kernel}, ${r.machine.cpus} CPUs, load average ${r.machine.loadavgStart.join(' / ')} at start, ${r.machine.loadavgEnd.join(' / ')} at end; ${r.durationS} s in all.`);
  lines.push(`${r.machine.iptables}; ${r.machine.nft}.`);
  lines.push(`New TCP connection (connect, 6-byte request, reply, close) from a client pod to the last-added of N ClusterIP services (2 backend pods each), `
    + `${r.settings.rounds} interleaved rounds × ${r.settings.connectionsPerRound} connections per variant per N.`);
  lines.push(`(d) attaches ${r.tsbpfPrograms.join(', ')} to the client's test cgroup; its table is written by the ServiceManager.`, '');
  lines.push('## Connection latency (µs) and ratio to (a)', '');
  lines.push(`| N | ${VARIANT_IDS.map((id) => `${r.variants[id]} p50 / p99`).join(' | ')} |`);
  lines.push(`|---:|${VARIANT_IDS.map(() => '---:').join('|')}|`);
  for (const row of r.results) {
    const cells = VARIANT_IDS.map((id) => {
      const v = row.variants[id];
      const ratio = id === 'direct' ? '' : ` (×${v.ratioP50.toFixed(2)} / ×${v.ratioP99.toFixed(2)})`;
      return `${fmt(v.latency.p50Us)} / ${fmt(v.latency.p99Us)}${ratio}`;
    });
    lines.push(`| ${row.services.toLocaleString('en-US')} | ${cells.join(' | ')} |`);
  }
  lines.push('', '## Installing N services; adding and removing one with N present', '');
  const tables: VariantId[] = ['iptables', 'nftables', 'tsbpf'];
  lines.push(`| N | ${tables.map((id) => `${r.variants[id]} install / add / remove`).join(' | ')} |`);
  lines.push(`|---:|${tables.map(() => '---:').join('|')}|`);
  for (const row of r.results) {
    lines.push(`| ${row.services.toLocaleString('en-US')} | ${tables.map((id) => {
      const v = row.variants[id];
      return `${fmtMs(v.installMs)} / ${fmtMs(v.addMs)} / ${fmtMs(v.removeMs)}`;
    }).join(' | ')} |`);
  }
  lines.push('', '## Traffic carried (connections, failures, replies by backend)', '');
  lines.push(`| N | ${VARIANT_IDS.map((id) => r.variants[id]).join(' | ')} |`);
  lines.push(`|---:|${VARIANT_IDS.map(() => '---').join('|')}|`);
  for (const row of r.results) {
    lines.push(`| ${row.services.toLocaleString('en-US')} | ${VARIANT_IDS.map((id) => {
      const v = row.variants[id];
      const by = Object.entries(v.backends).map(([b, c]) => `${b} ${c}`).join(', ');
      return `${v.connections} conn, ${v.failures} failed; ${by}`;
    }).join(' | ')} |`);
  }
  lines.push('');
  return lines.join('\n');
}

const LEGEND: Record<VariantId, string> = { direct: '(a) direct (floor)', iptables: '(b) kube-proxy iptables', nftables: '(c) kube-proxy nftables', tsbpf: '(d) tsbpf socket LB' };
const COLORS: Record<VariantId, string> = { direct: '#555555', iptables: '#d62728', nftables: '#ff7f0e', tsbpf: '#1f77b4' };

/** An SVG chart: p50 (left) and p99 (right) latency against N, one line per variant. */
export function reportSvg(r: BenchReport): string {
  const W = 900;
  const H = 420;
  const panelW = 380;
  const top = 60;
  const plotH = 280;
  const ns = r.results.map((x) => x.services);
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">New TCP connection latency to the last of N services${r.quick ? ' (quick run)' : ''}</text>`,
    `<text x="${W / 2}" y="40" text-anchor="middle" fill="#666">${esc(r.date.slice(0, 16).replace('T', ' '))} UTC, load ${r.machine.loadavgStart.join('/')}, kernel ${esc(r.machine.kernel)}</text>`,
  ];
  (['p50Us', 'p99Us'] as const).forEach((metric, panel) => {
    const max = Math.max(1, ...r.results.flatMap((x) => VARIANT_IDS.map((id) => x.variants[id].latency[metric])).filter(Number.isFinite));
    const yMax = niceCeil(max * 1.05);
    const left = 60 + panel * (panelW + 70);
    const x = (i: number) => left + (ns.length === 1 ? panelW / 2 : (i * panelW) / (ns.length - 1));
    const y = (v: number) => top + plotH - (v / yMax) * plotH;
    out.push(`<text x="${left + panelW / 2}" y="${top - 6}" text-anchor="middle" font-weight="bold">${metric === 'p50Us' ? 'p50' : 'p99'} (µs)</text>`);
    for (let t = 0; t <= 5; t++) {
      const v = (yMax * t) / 5;
      out.push(`<line x1="${left}" x2="${left + panelW}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#e5e5e5"/>`);
      out.push(`<text x="${left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end" fill="#444">${Math.round(v)}</text>`);
    }
    ns.forEach((n, i) => out.push(`<text x="${x(i).toFixed(1)}" y="${top + plotH + 18}" text-anchor="middle" fill="#444">${n.toLocaleString('en-US')}</text>`));
    out.push(`<text x="${left + panelW / 2}" y="${top + plotH + 36}" text-anchor="middle" fill="#444">services (N)</text>`);
    out.push(`<rect x="${left}" y="${top}" width="${panelW}" height="${plotH}" fill="none" stroke="#999"/>`);
    for (const id of VARIANT_IDS) {
      const pts = r.results.map((row, i) => `${x(i).toFixed(1)},${y(row.variants[id].latency[metric]).toFixed(1)}`);
      out.push(`<polyline fill="none" stroke="${COLORS[id]}" stroke-width="2" points="${pts.join(' ')}"/>`);
      for (const p of pts) out.push(`<circle cx="${p.split(',')[0]}" cy="${p.split(',')[1]}" r="3" fill="${COLORS[id]}"/>`);
    }
  });
  VARIANT_IDS.forEach((id, i) => {
    const lx = 60 + i * 210;
    out.push(`<line x1="${lx}" x2="${lx + 24}" y1="${H - 22}" y2="${H - 22}" stroke="${COLORS[id]}" stroke-width="3"/>`);
    out.push(`<text x="${lx + 30}" y="${H - 18}">${LEGEND[id]}</text>`);
  });
  out.push('</svg>', '');
  return out.join('\n');
}

/** A round axis maximum ≥ v (1, 2 or 5 times a power of ten, in steps of a fifth). */
function niceCeil(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}
