/**
 * The program BTF types the context argument (`struct __sk_buff *ctx`, …) rather
 * than `void *`: loaded with a level-2 verifier log, which must not carry the
 * "reference type('UNKNOWN ') size cannot be determined" warning, test-run, and
 * checked with bpftool (the object's struct against the kernel's own BTF).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildObject, program } from '../../dsl/program/index.js';
import { writeObject } from '../../dsl/elf/index.js';
import { loadObject } from '../../loader/index.js';
import { need } from '../support/env.js';
import { udpPacket } from './support.js';

const kernel = need({ kernel: true, tools: ['bpftool'] });

/** Members `name@byteOffset` of STRUCT `name` in a `bpftool btf dump … format raw` listing. */
function structMembers(raw: string, name: string): { size: number; members: string[] } | undefined {
  const m = new RegExp(`STRUCT '${name}' size=(\\d+) vlen=\\d+\\n((?:\\t.*\\n)*)`).exec(raw);
  if (!m) return undefined;
  return { size: Number(m[1]), members: [...m[2]!.matchAll(/'([^']+)' type_id=\d+ bits_offset=(\d+)/g)].map((x) => `${x[1]}@${Number(x[2]) / 8}`) };
}

describe.skipIf(!kernel)('context argument BTF', () => {
  for (const target of ['4.19', '6.6'] as const) {
    it(`tc, xdp and cgroup/connect4 programs load without the void * warning and run (${target})`, () => {
      const tc = program('tc', 'cb_tc', (b, ctx) => b.return(ctx.len));
      const xdp = program('xdp', 'cb_xdp', (b) => b.return(2));
      const c4 = program('cgroup/connect4', 'cb_c4', (b) => b.return(1));
      const ops = program('sockops', 'cb_ops', (b, ctx) => b.return(ctx.op.and(1)));
      const msg = program('sk_msg', 'cb_msg', (b) => b.return(1));
      const elf = writeObject(buildObject([tc, xdp, c4, ops, msg], { target }));
      using obj = loadObject(elf, { logLevel: 2 });
      for (const name of ['cb_tc', 'cb_xdp', 'cb_c4', 'cb_ops', 'cb_msg']) {
        const log = obj.program(name).verifierLog;
        expect(log, name).toMatch(/processed \d+ insns/);
        expect(log, name).not.toMatch(/UNKNOWN|size cannot be determined|doesn't match ctx/);
      }
      const data = udpPacket(new Uint8Array(6));
      expect(obj.program('cb_tc').run({ data }).retval).toBe(data.length);
      expect(obj.program('cb_xdp').run({ data }).retval).toBe(2);

      const dir = mkdtempSync(join(tmpdir(), 'tsbpf-ctxbtf-'));
      try {
        writeFileSync(join(dir, 'o.o'), elf);
        const ours = execFileSync('bpftool', ['btf', 'dump', 'file', join(dir, 'o.o'), 'format', 'raw']).toString();
        const vmlinux = execFileSync('bpftool', ['btf', 'dump', 'file', '/sys/kernel/btf/vmlinux', 'format', 'raw'], { maxBuffer: 1 << 30 }).toString();
        // The FUNC_PROTO's ctx parameter points at the struct.
        const proto = /\[(\d+)\] FUNC_PROTO '\(anon\)' ret_type_id=\d+ vlen=1\n\t'ctx' type_id=(\d+)/.exec(ours);
        expect(proto).not.toBeNull();
        expect(ours).toMatch(new RegExp(`\\[${proto![2]}\\] PTR '\\(anon\\)' type_id=\\d+`));
        for (const s of ['__sk_buff', 'xdp_md', 'bpf_sock_addr', 'bpf_sock_ops', 'sk_msg_md']) {
          const mine = structMembers(ours, s);
          const real = structMembers(vmlinux, s);
          expect(mine, s).toBeDefined();
          // Same offsets (the kernel's pointer members and sock_ops' args/reply are anonymous
          // unions); a newer kernel may have appended members after ours.
          const offsets = (l: string[]) => l.map((x) => x.split('@')[1]);
          expect(offsets(mine!.members), s).toEqual(offsets(real!.members).slice(0, mine!.members.length));
          expect(mine!.size, `${s} size`).toBeLessThanOrEqual(real!.size);
        }
        expect(ours).toMatch(/STRUCT 'bpf_sock_ops' size=\d+ vlen=\d+\n\t'op' type_id=\d+ bits_offset=0\n\t'\(anon\)' type_id=\d+ bits_offset=32/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
