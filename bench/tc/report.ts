/** The tc benchmark's report as markdown and as an SVG bar chart of the ratios (by hand, no dependencies). */
import type { InsnMix } from './insn-classes.js';
import type { LatencyLab, LatencyRow, LatencySettings } from './latency.js';
import type { ScenarioResult } from './measure.js';
import { THROUGHPUT_VARIANTS, type ThroughputResult } from './nodeport-throughput.js';

/** Size of one side's program as the kernel holds it. */
export interface ProgramSize {
  /** Instructions as loaded (xlated, 8-byte slots). */
  readonly xlatedInsns: number;
  readonly jitedBytes: number;
  /** Instructions the verifier processed. */
  readonly verifiedInsns: number;
}

/** The whole report. */
export interface TcBenchReport {
  readonly benchmark: 'tc';
  readonly quick: boolean;
  readonly date: string;
  readonly machine: { kernel: string; cpus: number; loadavgStart: number[]; loadavgEnd: number[] };
  readonly settings: { rounds: number; runs: number; extraServices: number; profile: string; clang: string };
  /** A single test run's timer cost (an empty tc program), ns: part of every path's ns/pkt on both sides. */
  readonly timerFloorNs: number;
  readonly sizes: { program: string; tsbpf: ProgramSize; clang: ProgramSize }[];
  /** Static instruction mix of each program, as built (before loading). */
  readonly mix: { program: string; tsbpf: InsnMix; clang: InsnMix }[];
  readonly results: ScenarioResult[];
  /** NodePort request/response throughput vs iptables DNAT. */
  readonly throughput: ThroughputResult & { settings: { rounds: number; connectionsPerRound: number } };
  /** tc ClusterIP connection latency vs direct. */
  readonly latency: { settings: LatencySettings; rows: LatencyRow[]; lab: LatencyLab };
  readonly durationS: number;
}

/** Markdown: ns/packet per path with ratios, program sizes, what was not measured. */
export function reportMarkdown(r: TcBenchReport): string {
  const l: string[] = [];
  l.push(`# tc datapath ns/packet: tsbpf vs clang-19 -O2 twin${r.quick ? ' (quick run)' : ''}`, '');
  l.push(`${r.date}, kernel ${r.machine.kernel}, ${r.machine.cpus} CPUs, load average ${r.machine.loadavgStart.join(' / ')} at start, ${r.machine.loadavgEnd.join(' / ')} at end; ${r.durationS} s in all.`);
  l.push(`BPF_PROG_TEST_RUN, ${r.settings.rounds} interleaved rounds per path of ${r.settings.runs.toLocaleString('en-US')} single runs per side, each on the original frame (new-flow paths with the flow's entries deleted before each). `
    + `A single run includes the test-run timer, ${r.timerFloorNs.toFixed(1)} ns for an empty program, on both sides. `
    + `tsbpf built for profile ${r.settings.profile}; twin: \`clang-19 ${r.settings.clang}\`. ${r.settings.extraServices.toLocaleString('en-US')} other services in the tables. `
    + 'Every path checked first: same return code, byte-identical output frame, same conntrack entries on both sides.', '');
  l.push('| path | tsbpf ns/pkt | clang ns/pkt | ratio | retval | frame rewritten |', '|---|---:|---:|---:|---:|---|');
  for (const x of r.results) l.push(`| ${x.id} | ${x.tsbpf.nsPerPacket.toFixed(1)} | ${x.clang.nsPerPacket.toFixed(1)} | ${x.ratio.toFixed(3)}× | ${x.retval} | ${x.rewritten ? 'yes' : 'no'} |`);
  l.push('', '## Program size (kernel view)', '', '| program | tsbpf xlated insns / jited bytes / verified | clang xlated insns / jited bytes / verified |', '|---|---:|---:|');
  const sz = (s: ProgramSize) => `${s.xlatedInsns} / ${s.jitedBytes} / ${s.verifiedInsns}`;
  for (const s of r.sizes) l.push(`| ${s.program} | ${sz(s.tsbpf)} | ${sz(s.clang)} |`);
  l.push('', '## Instruction mix as built (tsbpf / clang)', '', 'Where the extra instructions are: stack loads/stores are values kept in stack slots; mem stores are packet and map-value writes.', '');
  const keys = ['total', 'stackLoads', 'stackStores', 'memLoads', 'memStores', 'calls', 'moves', 'alu', 'jumps', 'ld64'] as const;
  l.push(`| program | ${keys.join(' | ')} |`, `|---|${keys.map(() => '---:').join('|')}|`);
  for (const m of r.mix) l.push(`| ${m.program} | ${keys.map((k) => `${m.tsbpf[k]} / ${m.clang[k]}`).join(' | ')} |`);
  const t = r.throughput;
  l.push('', '## NodePort throughput: tsbpf vs iptables DNAT (remote backend)', '');
  l.push(`New TCP connections (connect, request, reply, close) from a client to a NodePort whose backend is on another host of the same LAN; ${t.settings.rounds} interleaved rounds × ${t.settings.connectionsPerRound} connections per variant. `
    + `tsbpf: \`np4_ingress\` on the node's device (tcx; DNAT + SNAT + FIB + redirect). iptables: \`nat PREROUTING DNAT\` + \`POSTROUTING MASQUERADE\` (${t.iptablesRestore}), forwarded by the node's stack. Connections/s = successful connections per second of client time (one after another).`, '');
  l.push('| variant | target | conn/s | p50 µs | p99 µs | connections | failed |', '|---|---|---:|---:|---:|---:|---:|');
  for (const id of THROUGHPUT_VARIANTS) {
    const v = t.variants[id];
    l.push(`| ${id} | ${v.target} | ${v.connectionsPerS.toFixed(0)} | ${v.latency.p50Us.toFixed(1)} | ${v.latency.p99Us.toFixed(1)} | ${v.connections} | ${v.failures} |`);
  }
  l.push('', `tsbpf / iptables: ×${t.ratioVsIptables.toFixed(2)} connections/s, p50 ×${(t.variants.tsbpf.latency.p50Us / t.variants.iptables.latency.p50Us).toFixed(2)}; the tsbpf node held ${t.tsbpfSnatEntries} SNAT entries afterwards.`);
  const lat = r.latency;
  l.push('', '## tc ClusterIP latency vs direct (socket LB off)', '');
  l.push(`New TCP connections from a pod to the service VIP through \`tc_clusterip\` (host-side veth ingress) and \`tc_clusterip_to_pod\` (egress), attached with ${lat.lab.attach}, vs a second pod connecting to the backend pod directly; ${lat.settings.rounds} interleaved rounds × ${lat.settings.connectionsPerRound} connections per variant per N.`, '');
  l.push('| services | direct p50 / p99 µs | tc p50 / p99 µs | ratio p50 / p99 | failed (direct, tc) | CT entries |', '|---:|---:|---:|---:|---:|---:|');
  for (const x of lat.rows) l.push(`| ${x.services.toLocaleString('en-US')} | ${x.direct.latency.p50Us.toFixed(1)} / ${x.direct.latency.p99Us.toFixed(1)} | ${x.tc.latency.p50Us.toFixed(1)} / ${x.tc.latency.p99Us.toFixed(1)} | ×${x.ratioP50.toFixed(3)} / ×${x.ratioP99.toFixed(3)} | ${x.direct.failures}, ${x.tc.failures} | ${x.ctEntries} |`);
  l.push('');
  return l.join('\n');
}

/** One group of horizontal bars: a label per row and one bar per series. */
interface BarGroup {
  readonly title: string;
  readonly unit: string;
  readonly series: readonly { name: string; color: string }[];
  readonly rows: readonly { label: string; values: readonly number[]; note?: string }[];
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const LEFT = 230;
const PLOT_W = 440;
const BAR_H = 14;

/** Draws `g` from `top`; returns the y below it. */
function drawGroup(out: string[], g: BarGroup, top: number): number {
  out.push(`<text x="20" y="${top + 14}" font-weight="bold">${esc(g.title)}</text>`);
  let y = top + 26;
  const max = Math.max(1, ...g.rows.flatMap((r) => r.values));
  for (const row of g.rows) {
    out.push(`<text x="${LEFT - 8}" y="${y + 12}" text-anchor="end">${esc(row.label)}</text>`);
    if (row.note) out.push(`<text x="${LEFT - 8}" y="${y + 26}" text-anchor="end" fill="#666">${esc(row.note)}</text>`);
    row.values.forEach((v, k) => {
      const w = (v / max) * PLOT_W;
      const by = y + k * (BAR_H + 2);
      out.push(`<rect x="${LEFT}" y="${by}" width="${w.toFixed(1)}" height="${BAR_H}" fill="${g.series[k]!.color}"/>`);
      out.push(`<text x="${(LEFT + w + 4).toFixed(1)}" y="${by + 11}" fill="#333">${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ${esc(g.unit)}</text>`);
    });
    y += Math.max(32, row.values.length * (BAR_H + 2) + 8);
  }
  let lx = LEFT;
  for (const se of g.series) {
    out.push(`<rect x="${lx}" y="${y}" width="12" height="10" fill="${se.color}"/><text x="${lx + 16}" y="${y + 9}">${esc(se.name)}</text>`);
    lx += 30 + se.name.length * 7;
  }
  return y + 28;
}

const BLUE = '#1f77b4';
const GREY = '#888888';
const RED = '#d62728';

/** SVG: ns/packet per path (tsbpf vs clang twin), NodePort connections/s, ClusterIP latency vs direct. */
export function reportSvg(r: TcBenchReport): string {
  const W = 780;
  const groups: BarGroup[] = [
    {
      title: 'ns/packet, BPF_PROG_TEST_RUN (ratio tsbpf / clang under the path)', unit: 'ns',
      series: [{ name: 'tsbpf', color: BLUE }, { name: 'clang-19 -O2 C twin', color: GREY }],
      rows: r.results.map((x) => ({ label: x.id, values: [x.tsbpf.nsPerPacket, x.clang.nsPerPacket], note: `×${x.ratio.toFixed(3)}` })),
    },
    {
      title: 'NodePort to a remote backend: new TCP connections per second', unit: '/s',
      series: [{ name: 'connections/s', color: BLUE }],
      rows: THROUGHPUT_VARIANTS.map((id) => ({ label: id === 'iptables' ? 'iptables DNAT' : id === 'tsbpf' ? 'tsbpf NodePort' : 'direct (floor)', values: [r.throughput.variants[id].connectionsPerS] })),
    },
    {
      title: 'tc ClusterIP connection latency p50 / p99 (ratio to direct p50 under N)', unit: 'µs',
      series: [{ name: 'direct p50', color: GREY }, { name: 'tc p50', color: BLUE }, { name: 'direct p99', color: '#bbbbbb' }, { name: 'tc p99', color: RED }],
      rows: r.latency.rows.map((x) => ({
        label: `${x.services.toLocaleString('en-US')} services`, note: `×${x.ratioP50.toFixed(3)}`,
        values: [x.direct.latency.p50Us, x.tc.latency.p50Us, x.direct.latency.p99Us, x.tc.latency.p99Us],
      })),
    },
  ];
  const body: string[] = [];
  let y = 52;
  for (const g of groups) y = drawGroup(body, g, y);
  const H = y + 10;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">tc datapath: tsbpf vs clang twin, iptables and direct${r.quick ? ' (quick run)' : ''}</text>`,
    `<text x="${W / 2}" y="40" text-anchor="middle" fill="#666">${esc(r.date.slice(0, 16).replace('T', ' '))} UTC, load ${r.machine.loadavgStart.join('/')}, kernel ${esc(r.machine.kernel)}</text>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}
