/**
 * Every example builds with `tsbpf build` for every named profile; each result
 * fits its profile (checker), and loads on this kernel. Examples that can run
 * under BPF_PROG_TEST_RUN are run and checked against TypeScript references:
 * the split 4.19 build of big-loop and the mixer compute what their 6.6 builds
 * and the references compute; a 4.19 chain whose PROG_ARRAY slot is empty
 * returns the documented default (TC_ACT_SHOT).
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { compile, importModule, type CompileResult } from '../../dsl/compile/index.js';
import { checkAgainstProfile } from '../../dsl/fit/index.js';
import { PROFILE_NAMES, profileByName } from '../../dsl/kernel/index.js';
import { loadObject } from '../../loader/object/index.js';
import { need } from '../support/env.js';

const root = join(import.meta.dirname, '..', '..');
const EXAMPLES = ['packet-counter', 'connect4', 'csum-rewrite', 'loops', 'big-loop', 'mixer'] as const;
const TARGETS = [...PROFILE_NAMES, 'latest'] as const;
const kernel = need({ kernel: true });

const modules = new Map<string, Record<string, unknown>>();
async function example(name: string): Promise<Record<string, unknown>> {
  let ns = modules.get(name);
  if (!ns) modules.set(name, (ns = await importModule(join(root, 'examples', `${name}.ts`))));
  return ns;
}

const built = new Map<string, CompileResult>();
async function build(name: string, target: string): Promise<CompileResult> {
  const key = `${name}@${target}`;
  let b = built.get(key);
  if (!b) built.set(key, (b = compile(await example(name), { target, what: name })));
  return b;
}

const u64le = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true);

describe('examples build for every profile', () => {
  for (const name of EXAMPLES) {
    it(`${name}: fits and is deterministic on ${TARGETS.join(', ')}`, async () => {
      for (const target of TARGETS) {
        const b = await build(name, target);
        const profile = profileByName(target);
        for (const p of b.object.programs) expect(checkAgainstProfile(p, profile), `${name} ${p.name} @${target}`).toEqual([]);
        const again = compile(await example(name), { target: profile, what: name });
        expect(Buffer.from(again.elf).equals(Buffer.from(b.elf)), `${name}@${target} deterministic`).toBe(true);
      }
    });
  }

  it('big-loop and mixer are split on 4.19 and single programs on 5.4+', async () => {
    for (const name of ['big-loop', 'mixer']) {
      expect((await build(name, '4.19')).reports[0]!.split.pieces.length).toBeGreaterThan(1);
      for (const t of TARGETS.filter((x) => x !== '4.19')) expect((await build(name, t)).object.programs).toHaveLength(1);
    }
    // The loop example: unrolled (no back edge) on 4.19, real loops from 5.4 on.
    expect((await build('loops', '4.19')).reports[0]!.loops).toBe(0);
    expect((await build('loops', '6.6')).reports[0]!.loops).toBeGreaterThan(0);
  });
});

describe.skipIf(!kernel)('examples on this kernel', () => {
  for (const name of EXAMPLES) {
    it(`${name}: every profile's object loads`, async () => {
      for (const target of TARGETS) {
        using obj = loadObject((await build(name, target)).elf, { objectName: name.replace('-', '_') });
        expect(obj.describe().programs.length).toBe((await build(name, target)).object.programs.length);
      }
    });
  }

  it('packet-counter counts IPv4 packets per protocol', async () => {
    for (const target of ['4.19', '6.6']) {
      using obj = loadObject((await build('packet-counter', target)).elf);
      const prog = obj.program('count_packets');
      const counters = obj.map('pkt_counters');
      const ipv4 = (proto: number) => {
        const p = new Uint8Array(60);
        p[12] = 0x08;
        p[14] = 0x45;
        p[23] = proto;
        return p;
      };
      const arp = new Uint8Array(60);
      arp[12] = 0x08;
      arp[13] = 0x06;
      for (const [pkt, n] of [[ipv4(17), 3], [ipv4(6), 2], [arp, 4], [new Uint8Array(20), 1]] as const)
        for (let i = 0; i < n; i++) expect(prog.run({ data: pkt }).retval).toBe(2);
      expect(u64le(counters.get(17 as never) as Uint8Array)).toBe(3n);
      expect(u64le(counters.get(6 as never) as Uint8Array)).toBe(2n);
      expect(u64le(counters.get(0 as never) as Uint8Array)).toBe(0n);
    }
  });

  it('csum-rewrite rewrites 10.0.0.1 to 10.0.0.2 with a valid IPv4 checksum', async () => {
    const ipChecksum = (h: Uint8Array) => {
      let sum = 0;
      for (let i = 0; i < h.length; i += 2) sum += (h[i]! << 8) | h[i + 1]!;
      while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
      return ~sum & 0xffff;
    };
    const packet = (dst: number[]) => {
      const p = new Uint8Array(64);
      p[12] = 0x08;
      p.set([0x45, 0, 0, 50, 0x12, 0x34, 0x40, 0, 64, 17, 0, 0, 192, 168, 1, 9, ...dst], 14);
      const c = ipChecksum(p.subarray(14, 34));
      p[24] = c >> 8;
      p[25] = c & 0xff;
      return p;
    };
    for (const target of ['4.19', '5.10', '6.6']) {
      using obj = loadObject((await build('csum-rewrite', target)).elf);
      const prog = obj.program('csum_rewrite');
      const r = prog.run({ data: packet([10, 0, 0, 1]) });
      expect(r.retval).toBe(0);
      expect([...r.data.subarray(30, 34)]).toEqual([10, 0, 0, 2]);
      expect(ipChecksum(r.data.subarray(14, 34))).toBe(0);
      const other = packet([10, 0, 0, 3]);
      expect([...prog.run({ data: other }).data.subarray(0, 64)]).toEqual([...other]);
    }
  });

  it('big-loop: the 4.19 chain, the 6.6 loop and the TypeScript reference agree', async () => {
    const ns = await example('big-loop');
    const reference = ns.bigLoopReference as (w: readonly number[]) => bigint;
    using split = loadObject((await build('big-loop', '4.19')).elf, { objectName: 'big419' });
    using whole = loadObject((await build('big-loop', '6.6')).elf, { objectName: 'big66' });
    let seed = 7;
    for (let k = 0; k < 16; k++) {
      const pkt = Uint8Array.from({ length: 64 }, () => ((seed = (seed * 1103515245 + 12345) >>> 0), seed >>> 24));
      const words = [...new Uint32Array(pkt.buffer.slice(0, 16))];
      for (const obj of [split, whole]) {
        expect(obj.program('big_loop').run({ data: pkt }).retval).toBe(0);
        expect(u64le(obj.map('big_results').get(0 as never) as Uint8Array)).toBe(reference(words));
      }
    }
  });

  it('a chain with an empty PROG_ARRAY slot returns TC_ACT_SHOT', async () => {
    const b = await build('mixer', '4.19');
    using obj = loadObject(b.elf, { objectName: 'mixshot' });
    const progArray = b.reports[0]!.split.progArray!;
    const pkt = new Uint8Array(64).fill(3);
    const before = obj.program('mixer').run({ data: pkt }).retval;
    expect(before).not.toBe(2);
    obj.map(progArray).delete(1 as never);
    expect(obj.program('mixer').run({ data: pkt }).retval).toBe(2);
  });
});
