/**
 * The syscall layer without side effects on the kernel's objects: attr
 * layouts against clang's offsetof on the installed UAPI header, enum tables
 * against dsl/kernel (generated from the same header plus additions), errno
 * names, CPU lists, and error messages.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BpfAttachType, BpfCmd, BpfMapType, BpfProgType } from '../../dsl/kernel/index.js';
import { BpfError } from '../../loader/errors.js';
import * as A from '../../loader/sys/attr.js';
import { AttachType, Cmd, MapType, ProgType } from '../../loader/sys/constants.js';
import { parseCpuList } from '../../loader/sys/cpus.js';
import { errnoName, errnoNumber } from '../../loader/sys/errno.js';
import { bpfSyscallNumber } from '../../loader/sys/ffi.js';
import type { Layout, Fields } from '../../loader/sys/layout.js';
import { parseVerifierLog } from '../../loader/programs/verifier-log.js';
import { need } from '../support/env.js';

/** Layout → the C expression naming the same member in the installed header (null: not in the 6.1 header). */
const checks: [Layout<Fields>, string, (field: string) => string | null][] = [
  [A.MapCreateAttr, 'union bpf_attr', (f) => (['value_type_btf_obj_fd', 'map_token_fd'].includes(f) ? null : f)],
  [A.MapElemAttr, 'union bpf_attr', (f) => f],
  [A.MapBatchAttr, 'union bpf_attr', (f) => `batch.${f}`],
  [A.ProgLoadAttr, 'union bpf_attr', (f) => (['log_true_size', 'prog_token_fd', 'fd_array_cnt'].includes(f) ? null : f)],
  [A.ObjAttr, 'union bpf_attr', (f) => (f === 'path_fd' ? null : f)],
  [A.ProgAttachAttr, 'union bpf_attr', (f) => (['relative_fd', 'expected_revision'].includes(f) ? null : f)],
  [A.TestRunAttr, 'union bpf_attr', (f) => `test.${f}`],
  [A.GetIdAttr, 'union bpf_attr', (f) => f],
  [A.InfoAttr, 'union bpf_attr', (f) => `info.${f}`],
  [A.ProgQueryAttr, 'union bpf_attr', (f) => (['link_ids', 'link_attach_flags', 'revision'].includes(f) ? null : `query.${f}`)],
  [A.BtfLoadAttr, 'union bpf_attr', (f) => (['btf_log_true_size', 'btf_flags', 'btf_token_fd'].includes(f) ? null : f)],
  [A.LinkCreateAttr, 'union bpf_attr', (f) => (['relative_fd', 'expected_revision'].includes(f) ? null : `link_create.${f}`)],
  [A.LinkCreateCookieAttr, 'union bpf_attr', (f) => (f === 'bpf_cookie' ? 'link_create.perf_event.bpf_cookie' : `link_create.${f}`)],
  [A.LinkUpdateAttr, 'union bpf_attr', (f) => `link_update.${f}`],
  [A.LinkDetachAttr, 'union bpf_attr', (f) => `link_detach.${f}`],
  [A.ProgBindMapAttr, 'union bpf_attr', (f) => `prog_bind_map.${f}`],
  [A.MapInfoStruct, 'struct bpf_map_info', (f) => (f === 'btf_vmlinux_id' ? null : f)],
  [A.ProgInfoStruct, 'struct bpf_prog_info', (f) => (f === 'gpl_compatible' ? null : f)],
  [A.BtfInfoStruct, 'struct bpf_btf_info', (f) => f],
];

describe.skipIf(!need({ tools: ['clang-19'] }))('bpf_attr layouts match the UAPI header (clang offsetof)', () => {
  it('every member present in the installed header sits at the same offset', () => {
    const lines: string[] = ['#include <stddef.h>', '#include <stdio.h>', '#include <linux/bpf.h>', 'int main(void) {'];
    const expected: string[] = [];
    for (const [layout, type, member] of checks) {
      for (const [field] of layout.fields) {
        const m = member(field);
        if (m === null) continue;
        lines.push(`  printf("${layout.name}.${field}=%zu\\n", offsetof(${type}, ${m}));`);
        expected.push(`${layout.name}.${field}=${layout.offsets[field]}`);
      }
    }
    lines.push('  printf("sizeof(bpf_prog_info)=%zu\\n", sizeof(struct bpf_prog_info));', '  return 0;', '}');
    expected.push(`sizeof(bpf_prog_info)=${A.ProgInfoStruct.size}`);
    const dir = mkdtempSync(join(tmpdir(), 'tsbpf-attr-'));
    try {
      writeFileSync(join(dir, 'a.c'), lines.join('\n'));
      execFileSync('clang-19', ['-o', join(dir, 'a'), join(dir, 'a.c')]);
      const got = execFileSync(join(dir, 'a'), { encoding: 'utf8' }).trim().split('\n');
      expect(got).toEqual(expected);
      expect(expected.length).toBeGreaterThan(150);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('enums, errno, cpus, messages', () => {
  it('enum tables agree with dsl/kernel (generated from the UAPI header)', () => {
    // Names both tables know must have the same value; nearly all must be known to both.
    const check = (mine: Record<string, number>, theirs: Record<string, number>, upper: (k: string) => string) => {
      let shared = 0;
      for (const [k, v] of Object.entries(mine)) {
        if (theirs[upper(k)] === undefined) continue;
        shared++;
        expect([k, theirs[upper(k)]]).toEqual([k, v]);
      }
      expect(shared).toBeGreaterThanOrEqual(Object.keys(mine).length - 2);
    };
    check(MapType, BpfMapType, (k) => k.toUpperCase());
    check(ProgType, BpfProgType, (k) => k.toUpperCase());
    check(AttachType, BpfAttachType, (k) => k.toUpperCase());
    check(Cmd, BpfCmd, (k) => k);
  });

  it('syscall numbers and errno names', () => {
    expect(bpfSyscallNumber('x64')).toBe(321);
    expect(bpfSyscallNumber('arm64')).toBe(280);
    expect(() => bpfSyscallNumber('mips')).toThrow(/mips/);
    expect(errnoName(1)).toBe('EPERM');
    expect(errnoName(11)).toBe('EAGAIN');
    expect(errnoName(95)).toBe('EOPNOTSUPP');
    expect(errnoName(524)).toBe('ENOTSUPP');
    expect(errnoName(9999)).toBe('E9999');
    expect(errnoNumber('E2BIG')).toBe(7);
    expect(errnoNumber('ENOTSUPP')).toBe(524);
  });

  it('CPU lists', () => {
    expect(parseCpuList('0\n')).toBe(1);
    expect(parseCpuList('0-3')).toBe(4);
    expect(parseCpuList('0-3,8-11,15')).toBe(9);
    expect(() => parseCpuList('x')).toThrow();
  });

  it('BpfError messages are actionable', () => {
    const eperm = new BpfError(Cmd.PROG_LOAD, 1);
    expect(eperm.message).toMatch(/^BPF_PROG_LOAD failed: EPERM .*root.*CAP_BPF.*CAP_NET_ADMIN/);
    expect(eperm.code).toBe('BPF_EPERM');
    const eacces = new BpfError(Cmd.MAP_CREATE, 13);
    expect(eacces.message).toMatch(/CAP_BPF/);
    const enoent = new BpfError(Cmd.OBJ_GET, 2, { path: '/sys/fs/bpf/x' });
    expect(enoent.message).toContain('/sys/fs/bpf/x');
    expect(enoent.path).toBe('/sys/fs/bpf/x');
    expect(new BpfError(Cmd.MAP_UPDATE_ELEM, 7).message).toMatch(/full/);
    expect(new BpfError(Cmd.PROG_LOAD, 7).message).toMatch(/instruction limit/);
    expect(new BpfError(Cmd.PROG_TEST_RUN, 28).message).toMatch(/too small/);
  });

  it('verifier log parsing', () => {
    const log = [
      'func#0 @0',
      '0: R1=ctx() R10=fp0',
      '; a.exit(); @ prog.ts:12',
      '0: (b7) r1 = 1                        ; R1=1',
      '1: (15) if r1 == 0x1 goto pc+1        ; R1=1',
      '3: (95) exit',
      'R0 !read_ok',
      'processed 3 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0',
      '',
    ].join('\n');
    expect(parseVerifierLog(log)).toEqual({ insnIndex: 3, reason: 'R0 !read_ok', processedInsns: 3, insnLimit: 1000000 });
    expect(parseVerifierLog('invalid argument\n').reason).toBe('invalid argument');
    expect(parseVerifierLog('').insnIndex).toBeUndefined();
  });
});
