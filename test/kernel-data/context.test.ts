/**
 * Context layouts against two independent oracles (clang-19's offsetof on the same
 * UAPI header, and the running kernel's own BTF), and the hand-written access rules
 * against the running kernel's verifier (a load and a store of every field, in every
 * context kind and hook).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  BpfAttachType,
  BpfProgType,
  CGROUP_SOCK_HOOKS,
  CTX_STRUCT_LAYOUTS,
  KernelDataError,
  SOCK_ADDR_HOOKS,
  ctxField,
  ctxFields,
  type AttachTypeName,
  type CtxKind,
  type CtxStructName,
} from '../../dsl/kernel/index.js';
import { need } from '../support/env.js';
import { needUapiHeaders } from './header-gate.js';
import { insnBytes, loadProgram } from './raw-bpf.js';

const STRUCTS = Object.keys(CTX_STRUCT_LAYOUTS) as CtxStructName[];

describe.skipIf(!need({ tools: ['clang-19'] }) || !needUapiHeaders())('context layouts vs clang-19', () => {
  it('every field offset/size and struct size matches offsetof/sizeof', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsbpf-ctx-'));
    try {
      const lines: string[] = ['#include <stdio.h>', '#include <stddef.h>', '#include <linux/bpf.h>', 'int main(void) {'];
      for (const s of STRUCTS) {
        lines.push(`  printf("${s} %zu\\n", sizeof(struct ${s}));`);
        for (const f of CTX_STRUCT_LAYOUTS[s].fields) {
          lines.push(`  printf("${s}.${f.name} %zu %zu\\n", offsetof(struct ${s}, ${f.name}), sizeof(((struct ${s} *)0)->${f.name}));`);
        }
      }
      lines.push('  return 0;', '}');
      writeFileSync(join(dir, 'o.c'), lines.join('\n'));
      execFileSync('clang-19', ['-O0', '-o', join(dir, 'o'), join(dir, 'o.c')], { stdio: 'pipe' });
      const out = execFileSync(join(dir, 'o')).toString();
      const clang = new Map(out.trim().split('\n').map((l) => { const [k, ...v] = l.split(' '); return [k!, v.map(Number)]; }));
      for (const s of STRUCTS) {
        expect(CTX_STRUCT_LAYOUTS[s].size, `sizeof ${s}`).toBe(clang.get(s)![0]);
        for (const f of CTX_STRUCT_LAYOUTS[s].fields) {
          expect([f.offset, f.size], `${s}.${f.name}`).toEqual(clang.get(`${s}.${f.name}`));
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!need({ tools: ['bpftool'], kernel: true }))('context layouts vs the kernel BTF', () => {
  it('every field sits where vmlinux BTF puts it (pointer fields as anonymous unions)', () => {
    const raw = execFileSync('bpftool', ['btf', 'dump', 'file', '/sys/kernel/btf/vmlinux', 'format', 'raw'], { maxBuffer: 1 << 30 }).toString();
    for (const s of STRUCTS) {
      const m = new RegExp(`STRUCT '${s}' size=(\\d+) vlen=\\d+\\n((?:\\t.*\\n)*)`).exec(raw);
      expect(m, `struct ${s} in vmlinux BTF`).not.toBeNull();
      expect(CTX_STRUCT_LAYOUTS[s].size, `size of ${s}`).toBeLessThanOrEqual(Number(m![1]));
      const members = [...m![2]!.matchAll(/'([^']+)' type_id=\d+ bits_offset=(\d+)/g)].map((x) => ({ name: x[1]!, off: Number(x[2]) / 8 }));
      if (CTX_STRUCT_LAYOUTS[s].size < Number(m![1])) expect(members.some((x) => x.off >= CTX_STRUCT_LAYOUTS[s].size), `${s} grew by appending`).toBe(true);
      const fields = CTX_STRUCT_LAYOUTS[s].fields;
      for (const f of fields) {
        const k = members.find((x) => x.off === f.offset);
        expect(k, `${s}.${f.name} at ${f.offset}`).toBeDefined();
        expect(k!.name, `${s}.${f.name}`).toBe('pointer' in f || 'union' in f ? '(anon)' : f.name);
      }
      // Nothing the kernel has is missing from ours, except members appended after the
      // UAPI header we generate from (newer kernels only append): those lie past our last byte.
      const ours = new Set(fields.map((f) => f.offset)).size;
      const end = Math.max(...fields.map((f) => f.offset + f.size));
      expect(members.filter((x) => x.off < end).length, `${s} member count`).toBe(ours);
    }
  });
});

describe('context access rules (pure)', () => {
  it('sock_addr: user_ip4/user_port writable in connect4, msg_src_ip4 only in sendmsg4', () => {
    expect(ctxField('sock_addr', 'user_ip4', 'CGROUP_INET4_CONNECT')).toMatchObject({ read: true, write: true, bigEndian: true });
    expect(ctxField('sock_addr', 'user_port', 'CGROUP_INET4_CONNECT').write).toBe(true);
    expect(ctxField('sock_addr', 'msg_src_ip4', 'CGROUP_UDP4_SENDMSG').write).toBe(true);
    expect(ctxField('sock_addr', 'msg_src_ip4', 'CGROUP_INET4_CONNECT').write).toBe(false);
    expect(ctxField('sock_addr', 'family', 'CGROUP_INET4_CONNECT').write).toBe(false);
  });
  it('tc: mark writable, data/data_end packet pointers, cb read/write', () => {
    expect(ctxField('tc', 'mark').write).toBe(true);
    expect(ctxField('tc', 'data').pointer).toBe('packet');
    expect(ctxField('tc', 'data_end').pointer).toBe('packet_end');
    expect(ctxField('tc', 'cb')).toMatchObject({ read: true, write: true, count: 5 });
    expect(ctxField('socket', 'data').read).toBe(false);
  });
  it('unknown fields and missing hooks are typed errors', () => {
    expect(() => ctxField('tc', 'nope')).toThrow(KernelDataError);
    expect(() => ctxFields('sock_addr')).toThrow(/attach type/);
    expect(() => ctxFields('sock_addr', 'XDP')).toThrow(KernelDataError);
  });
});

const STORE_SIZE: Record<number, number> = { 1: 0x10, 2: 0x08, 4: 0x00, 8: 0x18 };
function kernelAllows(progType: number, attach: number, off: number, size: number, write: boolean): boolean {
  const insns = write
    ? [{ code: 0xb7, dst: 2 }, { code: 0x63 | STORE_SIZE[size]!, dst: 1, src: 2, off }, { code: 0xb7, imm: 1 }, { code: 0x95 }]
    : [{ code: 0x61 | STORE_SIZE[size]!, dst: 0, src: 1, off }, { code: 0xb7, imm: 1 }, { code: 0x95 }];
  return loadProgram(progType, insnBytes(insns), attach).ok;
}

const ACCESS_CASES: { kind: CtxKind; progType: number; attach?: AttachTypeName }[] = [
  { kind: 'socket', progType: BpfProgType.SOCKET_FILTER },
  { kind: 'tc', progType: BpfProgType.SCHED_CLS },
  { kind: 'tc', progType: BpfProgType.SCHED_ACT },
  { kind: 'cgroup_skb', progType: BpfProgType.CGROUP_SKB, attach: 'CGROUP_INET_INGRESS' },
  { kind: 'cgroup_skb', progType: BpfProgType.CGROUP_SKB, attach: 'CGROUP_INET_EGRESS' },
  { kind: 'sk_skb', progType: BpfProgType.SK_SKB, attach: 'SK_SKB_STREAM_VERDICT' },
  { kind: 'sk_skb', progType: BpfProgType.SK_SKB, attach: 'SK_SKB_STREAM_PARSER' },
  { kind: 'xdp', progType: BpfProgType.XDP },
  { kind: 'xdp', progType: BpfProgType.XDP, attach: 'XDP_DEVMAP' },
  ...SOCK_ADDR_HOOKS.map((a) => ({ kind: 'sock_addr' as const, progType: BpfProgType.CGROUP_SOCK_ADDR, attach: a })),
  ...CGROUP_SOCK_HOOKS.map((a) => ({ kind: 'cgroup_sock' as const, progType: BpfProgType.CGROUP_SOCK, attach: a })),
  { kind: 'sock_ops', progType: BpfProgType.SOCK_OPS, attach: 'CGROUP_SOCK_OPS' },
  { kind: 'sk_msg', progType: BpfProgType.SK_MSG, attach: 'SK_MSG_VERDICT' },
];

describe.skipIf(!need({ kernel: true }))('context access rules vs the running kernel', () => {
  for (const c of ACCESS_CASES) {
    it(`${c.kind}${c.attach ? '/' + c.attach : ''}: reads and writes agree with the verifier`, () => {
      const attach = c.attach !== undefined ? BpfAttachType[c.attach] : 0;
      const wrong: string[] = [];
      const fields = ctxFields(c.kind, c.kind === 'cgroup_skb' ? undefined : c.attach);
      for (const f of fields) {
        const el = f.count ? f.size / f.count : f.size;
        const r = kernelAllows(c.progType, attach, f.offset, el, false);
        const w = kernelAllows(c.progType, attach, f.offset, el, true);
        if (r !== f.read) wrong.push(`${f.name}: read table=${f.read} kernel=${r}`);
        // Union members share their first bytes: a store there is the writable member's (sock_ops reply = args[0]).
        const aliasOfWritable = fields.some((g) => g !== f && g.offset === f.offset && g.write);
        if (w !== f.write && !(aliasOfWritable && w)) wrong.push(`${f.name}: write table=${f.write} kernel=${w}`);
      }
      expect(wrong).toEqual([]);
    });
  }
});
