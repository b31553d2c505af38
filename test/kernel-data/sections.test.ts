/**
 * Section names: resolution rules, and every program-type/attach-type pair the
 * table names for the hooks the DSL compiles is accepted by this kernel's loader.
 */
import { describe, expect, it } from 'vitest';
import { BpfAttachType, BpfProgType, KernelDataError, SECTIONS, profileByName, sectionDef } from '../../dsl/kernel/index.js';
import { need } from '../support/env.js';
import { insnBytes, loadProgram } from './raw-bpf.js';

describe('section names', () => {
  it('resolve exact names and prefixed names', () => {
    expect(sectionDef('cgroup/connect4')).toMatchObject({ progType: 'CGROUP_SOCK_ADDR', attachType: 'CGROUP_INET4_CONNECT', expectedAttach: 'required' });
    expect(sectionDef('tcx/ingress')).toMatchObject({ progType: 'SCHED_CLS', attachType: 'TCX_INGRESS' });
    expect(sectionDef('tc')).toMatchObject({ progType: 'SCHED_CLS' });
    expect(sectionDef('tc').attachType).toBeUndefined();
    expect(sectionDef('xdp')).toMatchObject({ progType: 'XDP', attachType: 'XDP' });
    expect(sectionDef('xdp/devmap')).toMatchObject({ attachType: 'XDP_DEVMAP' });
    expect(sectionDef('socket').progType).toBe('SOCKET_FILTER');
    expect(sectionDef('cgroup_skb/egress')).toMatchObject({ progType: 'CGROUP_SKB', attachType: 'CGROUP_INET_EGRESS' });
    expect(sectionDef('kprobe/do_sys_open').progType).toBe('KPROBE');
    expect(sectionDef('kprobe').progType).toBe('KPROBE');
  });

  it('unknown names are typed errors with suggestions', () => {
    expect(() => sectionDef('cgroup/connect5')).toThrow(KernelDataError);
    expect(() => sectionDef('cgroup/connect5')).toThrow(/cgroup\/connect4/);
    expect(() => sectionDef('kprobex/foo')).toThrow(KernelDataError);
  });

  it('names are unique and every type is a known enum member', () => {
    expect(new Set(SECTIONS.map((s) => s.section)).size).toBe(SECTIONS.length);
    for (const s of SECTIONS) {
      expect(BpfProgType[s.progType], s.section).toBeTypeOf('number');
      if (s.attachType) expect(BpfAttachType[s.attachType], s.section).toBeTypeOf('number');
    }
  });

  it('named profiles know the program and attach types of the networking sections', () => {
    const latest = profileByName('latest');
    for (const name of ['tc', 'tcx/ingress', 'xdp', 'cgroup/connect4', 'cgroup/sendmsg4', 'socket', 'cgroup_skb/ingress']) {
      const s = sectionDef(name);
      expect(latest.progTypes, name).toContain(s.progType);
      if (s.attachType) expect(latest.attachTypes, name).toContain(s.attachType);
    }
  });
});

describe.skipIf(!need({ kernel: true }))('sections on this kernel', () => {
  it('every section needing expected_attach_type loads `r0 = 1; exit` with it', () => {
    const NETWORKING = new Set(['XDP', 'CGROUP_SKB', 'CGROUP_SOCK', 'CGROUP_SOCK_ADDR', 'SOCKET_FILTER', 'SCHED_CLS', 'SCHED_ACT']);
    const failed: string[] = [];
    for (const s of SECTIONS) {
      if (!NETWORKING.has(s.progType)) continue;
      const attach = s.expectedAttach !== 'none' && s.attachType ? BpfAttachType[s.attachType] : 0;
      const r = loadProgram(BpfProgType[s.progType], insnBytes([{ code: 0xb7, imm: 1 }, { code: 0x95 }]), attach);
      if (!r.ok) failed.push(`${s.section}: errno ${r.errno} ${r.log.split('\n').slice(-3).join(' | ')}`);
    }
    expect(failed).toEqual([]);
  });
});
