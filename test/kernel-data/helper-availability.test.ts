/**
 * The hand-written helper table against the facts: release boundaries consistent
 * with the timeline in bpf-formats.md §6 and with id order; per-program-type sets
 * exactly what this kernel's verifier accepts (loading `call N` for every helper).
 */
import { describe, expect, it } from 'vitest';
import {
  BpfAttachType,
  BpfFunc,
  BpfProgType,
  COVERED_PROG_TYPES,
  FIRST_HELPER_OF_RELEASE,
  HELPER_PROG_TYPES,
  HELPER_SINCE,
  SOCK_ADDR_ATTACH_LIMITS,
  VERIFIED_KERNEL,
  compareKernelVersions,
  helperAllowed,
  type AttachTypeName,
  type HelperName,
} from '../../dsl/kernel/index.js';
import { need } from '../support/env.js';
import { helperAccepted, insnBytes, loadProgram } from './raw-bpf.js';
import { execFileSync } from 'node:child_process';

describe('helper first versions', () => {
  it('release boundaries are in release order and id order', () => {
    for (let i = 1; i < FIRST_HELPER_OF_RELEASE.length; i++) {
      const [pv, ph] = FIRST_HELPER_OF_RELEASE[i - 1]!;
      const [v, h] = FIRST_HELPER_OF_RELEASE[i]!;
      expect(compareKernelVersions(pv, v), `${pv} before ${v}`).toBeLessThan(0);
      expect(BpfFunc[ph], `${ph} before ${h}`).toBeLessThan(BpfFunc[h]);
    }
  });

  it('every helper has a first version, non-decreasing with the id', () => {
    const byId = Object.entries(BpfFunc).sort((a, b) => a[1] - b[1]);
    let prev = '0.0';
    for (const [name] of byId) {
      const v = HELPER_SINCE[name as HelperName];
      expect(v, name).toBeDefined();
      expect(compareKernelVersions(prev, v), `${name} (${v}) after ${prev}`).toBeLessThanOrEqual(0);
      prev = v;
    }
  });

  it('agrees with the timeline of bpf-formats.md §6', () => {
    // The reference's table: fib_lookup and the csum helpers by 4.18, redirect_neigh/peer 5.10, bpf_loop 5.17.
    expect(HELPER_SINCE.fib_lookup).toBe('4.18');
    for (const h of ['l3_csum_replace', 'l4_csum_replace', 'csum_diff', 'csum_update'] as const) {
      expect(compareKernelVersions(HELPER_SINCE[h], '4.18'), h).toBeLessThanOrEqual(0);
    }
    expect(HELPER_SINCE.redirect_neigh).toBe('5.10');
    expect(HELPER_SINCE.redirect_peer).toBe('5.10');
    expect(HELPER_SINCE.loop).toBe('5.17');
    expect(HELPER_SINCE.tail_call).toBe('4.2');
  });

  it('no program type gets a helper before the helper exists', () => {
    for (const t of COVERED_PROG_TYPES) {
      for (const [h, v] of Object.entries(HELPER_PROG_TYPES[t])) {
        if (v === 'unknown') continue;
        expect(compareKernelVersions(v!, HELPER_SINCE[h as HelperName]), `${t}/${h}`).toBeGreaterThanOrEqual(0);
      }
    }
  });
});

const kernelAtLeastVerified = (() => {
  try {
    return compareKernelVersions(execFileSync('uname', ['-r']).toString(), VERIFIED_KERNEL) >= 0;
  } catch {
    return false;
  }
})();

/** Program type + expected attach type combinations probed. */
const CASES: { label: string; progType: (typeof COVERED_PROG_TYPES)[number]; attach?: AttachTypeName }[] = [
  { label: 'socket', progType: 'SOCKET_FILTER' },
  { label: 'tc', progType: 'SCHED_CLS' },
  { label: 'tc action', progType: 'SCHED_ACT' },
  { label: 'xdp', progType: 'XDP' },
  { label: 'cgroup_skb', progType: 'CGROUP_SKB' },
  ...(['CGROUP_INET4_CONNECT', 'CGROUP_INET6_CONNECT', 'CGROUP_UDP4_SENDMSG', 'CGROUP_UDP4_RECVMSG', 'CGROUP_INET4_BIND', 'CGROUP_INET4_GETPEERNAME', 'CGROUP_INET6_GETSOCKNAME'] as const).map(
    (a) => ({ label: `cgroup_sock_addr/${a}`, progType: 'CGROUP_SOCK_ADDR' as const, attach: a }),
  ),
];

describe.skipIf(!need({ kernel: true }))('helper sets against the running kernel', () => {
  for (const c of CASES) {
    it(`${c.label}: the table lists exactly the helpers the verifier accepts`, () => {
      if (!kernelAtLeastVerified) return; // an older kernel legitimately lacks newer helpers
      const progType = BpfProgType[c.progType];
      const attach = c.attach !== undefined ? BpfAttachType[c.attach] : 0;
      const base = loadProgram(progType, insnBytes([{ code: 0xb7, imm: 1 }, { code: 0x95 }]), attach);
      expect(base.ok, `baseline load failed: ${base.log}`).toBe(true);
      const kernelSays: string[] = [];
      const tableSays: string[] = [];
      for (const [name, id] of Object.entries(BpfFunc)) {
        if (helperAccepted(progType, id, attach).accepted) kernelSays.push(name);
        if (helperAllowed(name as HelperName, c.progType, VERIFIED_KERNEL, c.attach)) tableSays.push(name);
      }
      expect(tableSays.filter((h) => !kernelSays.includes(h)), 'in the table but refused by the kernel').toEqual([]);
      expect(kernelSays.filter((h) => !tableSays.includes(h)), 'accepted by the kernel but missing from the table').toEqual([]);
    });
  }

  it('attach-type limits name real sock_addr hooks', () => {
    for (const lim of Object.values(SOCK_ADDR_ATTACH_LIMITS)) {
      for (const a of [...(lim.only ?? []), ...(lim.except ?? [])]) expect(BpfAttachType[a], a).toBeTypeOf('number');
    }
  });
});
