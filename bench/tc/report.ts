/** The tc benchmark's report as markdown and as an SVG bar chart of the ratios (by hand, no dependencies). */
import type { ScenarioResult } from './measure.js';

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
  readonly settings: { rounds: number; repeat: number; freshRuns: number; extraServices: number; profile: string; clang: string };
  readonly sizes: { program: string; tsbpf: ProgramSize; clang: ProgramSize }[];
  readonly results: ScenarioResult[];
  /** Paths of issue 11 item 5 this run does not measure (said, not hidden). */
  readonly notMeasured: string[];
  readonly durationS: number;
}

/** Markdown: ns/packet per path with ratios, program sizes, what was not measured. */
export function reportMarkdown(r: TcBenchReport): string {
  const l: string[] = [];
  l.push(`# tc datapath ns/packet: tsbpf vs clang-19 -O2 twin${r.quick ? ' (quick run)' : ''}`, '');
  l.push(`${r.date}, kernel ${r.machine.kernel}, ${r.machine.cpus} CPUs, load average ${r.machine.loadavgStart.join(' / ')} at start, ${r.machine.loadavgEnd.join(' / ')} at end; ${r.durationS} s in all.`);
  l.push(`BPF_PROG_TEST_RUN, ${r.settings.rounds} interleaved rounds per path; established/reply paths repeat ${r.settings.repeat.toLocaleString('en-US')} per round, new-flow paths ${r.settings.freshRuns} single runs per round with the flow's conntrack entries deleted before each. `
    + `tsbpf built for profile ${r.settings.profile}; twin: \`clang-19 ${r.settings.clang}\`. ${r.settings.extraServices.toLocaleString('en-US')} other services in the tables. `
    + 'Every path checked first: same return code, byte-identical output frame, same conntrack entries on both sides.', '');
  l.push('| path | tsbpf ns/pkt | clang ns/pkt | ratio | retval | frame rewritten |', '|---|---:|---:|---:|---:|---|');
  for (const x of r.results) l.push(`| ${x.id} | ${x.tsbpf.nsPerPacket.toFixed(1)} | ${x.clang.nsPerPacket.toFixed(1)} | ${x.ratio.toFixed(3)}× | ${x.retval} | ${x.rewritten ? 'yes' : 'no'} |`);
  l.push('', '## Program size (kernel view)', '', '| program | tsbpf xlated insns / jited bytes / verified | clang xlated insns / jited bytes / verified |', '|---|---:|---:|');
  const sz = (s: ProgramSize) => `${s.xlatedInsns} / ${s.jitedBytes} / ${s.verifiedInsns}`;
  for (const s of r.sizes) l.push(`| ${s.program} | ${sz(s.tsbpf)} | ${sz(s.clang)} |`);
  if (r.notMeasured.length) l.push('', '## Not measured by this run', '', ...r.notMeasured.map((x) => `- ${x}`));
  l.push('');
  return l.join('\n');
}

/** SVG: one pair of bars (tsbpf, clang) per path, ns/packet, with the ratio printed. */
export function reportSvg(r: TcBenchReport): string {
  const W = 760;
  const rowH = 56;
  const top = 60;
  const left = 230;
  const plotW = 440;
  const H = top + rowH * r.results.length + 40;
  const max = Math.max(1, ...r.results.flatMap((x) => [x.tsbpf.nsPerPacket, x.clang.nsPerPacket]));
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">tc datapath ns/packet (BPF_PROG_TEST_RUN)${r.quick ? ' (quick run)' : ''}</text>`,
    `<text x="${W / 2}" y="40" text-anchor="middle" fill="#666">${esc(r.date.slice(0, 16).replace('T', ' '))} UTC, load ${r.machine.loadavgStart.join('/')}, kernel ${esc(r.machine.kernel)}</text>`,
  ];
  r.results.forEach((x, i) => {
    const y = top + i * rowH;
    out.push(`<text x="${left - 8}" y="${y + 22}" text-anchor="end">${esc(x.id)}</text>`);
    const bar = (v: number, dy: number, color: string) => {
      const w = (v / max) * plotW;
      out.push(`<rect x="${left}" y="${y + dy}" width="${w.toFixed(1)}" height="16" fill="${color}"/>`);
      out.push(`<text x="${(left + w + 4).toFixed(1)}" y="${y + dy + 12}" fill="#333">${v.toFixed(0)} ns</text>`);
    };
    bar(x.tsbpf.nsPerPacket, 4, '#1f77b4');
    bar(x.clang.nsPerPacket, 22, '#888888');
    out.push(`<text x="${left - 8}" y="${y + 38}" text-anchor="end" fill="#666">×${x.ratio.toFixed(3)}</text>`);
  });
  out.push(`<rect x="${left}" y="${H - 26}" width="14" height="10" fill="#1f77b4"/><text x="${left + 20}" y="${H - 17}">tsbpf</text>`);
  out.push(`<rect x="${left + 90}" y="${H - 26}" width="14" height="10" fill="#888888"/><text x="${left + 110}" y="${H - 17}">clang-19 -O2 C twin</text>`);
  out.push('</svg>', '');
  return out.join('\n');
}
