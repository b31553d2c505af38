/**
 * Benchmark: decoding the running kernel's BTF (/sys/kernel/btf/vmlinux).
 * Times our full decode (every type, member and name into the frozen type
 * graph) against `bpftool btf dump file … format raw > /dev/null` in the same
 * run, and reports the ratio. Also times decode + our bpftool-style listing,
 * which is the closer like-for-like to what bpftool does.
 *
 *   npx tsx bench/btf-vmlinux.ts [runs]
 */
import { spawnSync } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { decodeBtf, encodeBtf, formatBtfRaw } from '../dsl/btf/index.js';

const FILE = process.argv[3] ?? '/sys/kernel/btf/vmlinux';
const RUNS = Number(process.argv[2] ?? 7);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function time(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

const bytes = new Uint8Array(readFileSync(FILE));
let types = 0;
const firstDecode = time(() => {
  types = decodeBtf(bytes).types.length;
});
const decode: number[] = [];
const listing: number[] = [];
const encode: number[] = [];
const bpftool: number[] = [];
const devnull = openSync('/dev/null', 'w');
try {
  for (let i = 0; i < RUNS; i++) {
    decode.push(time(() => void decodeBtf(bytes)));
    listing.push(time(() => void formatBtfRaw(decodeBtf(bytes))));
    const g = decodeBtf(bytes);
    encode.push(time(() => void encodeBtf(g)));
    bpftool.push(
      time(() => {
        const r = spawnSync('bpftool', ['btf', 'dump', 'file', FILE, 'format', 'raw'], { stdio: ['ignore', devnull, 'inherit'] });
        if (r.status !== 0) throw new Error(`bpftool failed: ${r.error?.message ?? r.status}`);
      }),
    );
  }
} finally {
  closeSync(devnull);
}

const ms = (x: number): string => `${x.toFixed(1)} ms`;
const ours = median(decode);
const theirs = median(bpftool);
console.log(`${FILE}: ${(bytes.length / 1e6).toFixed(2)} MB, ${types} types, ${RUNS} runs (median)`);
console.log(`  tsbpf decodeBtf (full graph)          ${ms(ours)}   (first, cold: ${ms(firstDecode)})`);
console.log(`  tsbpf decode + raw listing            ${ms(median(listing))}`);
console.log(`  tsbpf encodeBtf (byte-identical)      ${ms(median(encode))}`);
console.log(`  bpftool btf dump format raw >/dev/null ${ms(theirs)}`);
console.log(`  ratio bpftool / tsbpf decode: ${(theirs / ours).toFixed(2)}x (${ours < theirs ? 'tsbpf faster' : 'bpftool faster'})`);
console.log(`  ratio bpftool / tsbpf decode+listing: ${(theirs / median(listing)).toFixed(2)}x`);
