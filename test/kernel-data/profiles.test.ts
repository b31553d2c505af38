/**
 * Target profiles: monotonic across kernel versions, faithful to the timeline,
 * round-trip through JSON, typed errors; the newest profile checked on this kernel
 * (every tc helper it allows is accepted; the instruction limit is the verifier's).
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  BpfFunc,
  BpfProgType,
  KernelDataError,
  PROFILE_NAMES,
  compareKernelVersions,
  hostProfile,
  profileAllowsHelper,
  profileByName,
  profileFromJson,
  profileNames,
  profileToJson,
  type TargetProfile,
} from '../../dsl/kernel/index.js';
import { need } from '../support/env.js';
import { helperAccepted, insnBytes, loadProgram } from './raw-bpf.js';

const ISA_RANK = { v2: 2, v3: 3, v4: 4 } as const;
const subset = <T>(a: T[], b: T[]) => a.filter((x) => !b.includes(x));

describe('named profiles', () => {
  const profiles = PROFILE_NAMES.map((n) => profileByName(n));

  it('later kernels keep every feature, helper, type and BTF kind of earlier ones', () => {
    for (let i = 1; i < profiles.length; i++) {
      const [a, b] = [profiles[i - 1]!, profiles[i]!];
      const where = `${a.name} → ${b.name}`;
      expect(compareKernelVersions(a.kernel, b.kernel), where).toBeLessThan(0);
      for (const k of ['boundedLoops', 'bpfToBpfCalls', 'tailCallsInSubprograms', 'bpfLoopHelper', 'btf', 'globalData', 'funcInfo', 'lineInfo', 'logTrueSize', 'linkCreate', 'xdpLink', 'tcx'] as const) {
        if (a[k]) expect(b[k], `${k} ${where}`).toBe(true);
      }
      for (const k of ['maxInsns', 'maxProcessedInsns', 'tailCallChainLimit'] as const) expect(b[k], `${k} ${where}`).toBeGreaterThanOrEqual(a[k]);
      expect(ISA_RANK[b.isa], `isa ${where}`).toBeGreaterThanOrEqual(ISA_RANK[a.isa]);
      expect(subset(a.helpers, b.helpers), `helpers ${where}`).toEqual([]);
      expect(subset(a.progTypes, b.progTypes), `progTypes ${where}`).toEqual([]);
      expect(subset(a.attachTypes, b.attachTypes), `attachTypes ${where}`).toEqual([]);
      expect(subset(a.mapTypes, b.mapTypes), `mapTypes ${where}`).toEqual([]);
      expect(subset(a.btfKinds, b.btfKinds), `btfKinds ${where}`).toEqual([]);
      for (const [t, ids] of Object.entries(a.helpersByProgType)) {
        expect(subset(ids, b.helpersByProgType[t as keyof typeof a.helpersByProgType] ?? []), `${t} helpers ${where}`).toEqual([]);
      }
    }
  });

  it('follow the timeline of bpf-formats.md §6', () => {
    const p = Object.fromEntries(profiles.map((x) => [x.name, x])) as Record<string, TargetProfile>;
    expect(p['4.19']).toMatchObject({ maxInsns: 4096, maxProcessedInsns: 131072, boundedLoops: false, isa: 'v2', bpfToBpfCalls: true, funcInfo: false, globalData: false, tailCallChainLimit: 32 });
    expect(p['5.4']).toMatchObject({ maxInsns: 1_000_000, boundedLoops: true, isa: 'v3', funcInfo: true, globalData: true, linkCreate: false });
    expect(p['5.10']).toMatchObject({ tailCallsInSubprograms: true, linkCreate: true, xdpLink: true, bpfLoopHelper: false });
    expect(p['5.15']).toMatchObject({ bpfLoopHelper: false });
    expect(p['6.1']).toMatchObject({ bpfLoopHelper: true, tailCallChainLimit: 33, logTrueSize: false, tcx: false, isa: 'v3' });
    expect(p['6.6']).toMatchObject({ logTrueSize: true, tcx: true, isa: 'v4' });
    expect(p['4.19']!.btfKinds).not.toContain('DATASEC');
    expect(p['5.4']!.btfKinds).toContain('DATASEC');
    expect(p['5.10']!.btfKinds).not.toContain('FLOAT');
    expect(p['6.1']!.btfKinds).toContain('ENUM64');
    expect(p['4.19']!.attachTypes).toContain('CGROUP_INET4_CONNECT');
    expect(p['4.19']!.attachTypes).not.toContain('CGROUP_UDP4_RECVMSG');
    expect(p['5.4']!.attachTypes).not.toContain('CGROUP_INET4_GETPEERNAME');
    expect(p['5.10']!.attachTypes).toContain('CGROUP_INET4_GETPEERNAME');
  });

  it('helpers per program type follow their first versions', () => {
    const p419 = profileByName('4.19');
    const p510 = profileByName('5.10');
    expect(profileAllowsHelper(p419, 'SCHED_CLS', 'fib_lookup')).toBe(true);
    expect(profileAllowsHelper(p419, 'SCHED_CLS', 'redirect_neigh')).toBe(false);
    expect(profileAllowsHelper(p510, 'SCHED_CLS', 'redirect_neigh')).toBe(true);
    expect(profileAllowsHelper(p510, 'XDP', 'redirect_neigh')).toBe(false);
    expect(profileAllowsHelper(p510, 'SCHED_CLS', 'loop')).toBe(false);
    expect(profileAllowsHelper(profileByName('5.15'), 'CGROUP_SOCK_ADDR', 'get_netns_cookie')).toBe(true);
    expect(profileAllowsHelper(profileByName('6.1'), 'XDP', 'loop')).toBe(true);
    // bind() exists only in the connect hooks of cgroup sock_addr.
    expect(profileAllowsHelper(p419, 'CGROUP_SOCK_ADDR', 'bind', 'CGROUP_INET4_CONNECT')).toBe(true);
    expect(profileAllowsHelper(p419, 'CGROUP_SOCK_ADDR', 'bind', 'CGROUP_UDP4_SENDMSG')).toBe(false);
    expect(profileAllowsHelper(p419, 'CGROUP_SOCK_ADDR', 'get_socket_cookie')).toBe(true);
    expect(profileAllowsHelper(p419, 'CGROUP_SOCK_ADDR', 'get_netns_cookie')).toBe(false);
  });

  it('latest is an alias; unknown names are typed errors listing the valid ones', () => {
    expect(profileByName('latest').kernel).toBe(PROFILE_NAMES[PROFILE_NAMES.length - 1]);
    expect(profileNames()).toContain('latest');
    let err: unknown;
    try {
      profileByName('4.9');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KernelDataError);
    expect((err as KernelDataError).code).toBe('UNKNOWN_PROFILE');
    expect((err as Error).message).toContain('4.19, 5.4, 5.10');
  });

  it('round-trip through JSON, and malformed JSON is rejected with the field named', () => {
    for (const p of profiles) expect(profileFromJson(profileToJson(p))).toEqual(p);
    const p = JSON.parse(profileToJson(profiles[0]!));
    expect(() => profileFromJson({ ...p, isa: 'v9' })).toThrow(/'isa'/);
    expect(() => profileFromJson({ ...p, helpers: [1, 99999] })).toThrow(/'helpers'.*99999/);
    expect(() => profileFromJson({ ...p, mapTypes: ['HASH', 'NOPE'] })).toThrow(/'mapTypes'/);
    expect(() => profileFromJson({ ...p, boundedLoops: 'yes' })).toThrow(/'boundedLoops'/);
    expect(() => profileFromJson('{not json')).toThrow(KernelDataError);
    expect(() => profileFromJson([])).toThrow(KernelDataError);
  });

  it('hostProfile reads the running kernel release', () => {
    const r = execFileSync('uname', ['-r']).toString().trim();
    const h = hostProfile();
    expect(h.name).toBe('host');
    expect(h.kernel).toBe(r.split('.').slice(0, 2).join('.'));
    expect(hostProfile('5.4.0-150-generic').kernel).toBe('5.4');
    expect(() => hostProfile('garbage')).toThrow(KernelDataError);
  });
});

describe.skipIf(!need({ kernel: true }))('latest profile on this kernel', () => {
  it('every helper latest allows for tc is accepted by the verifier', () => {
    const latest = profileByName('latest');
    const ids = latest.helpersByProgType.SCHED_CLS!;
    expect(ids.length).toBeGreaterThan(50);
    const refused = ids.filter((id) => !helperAccepted(BpfProgType.SCHED_CLS, id).accepted);
    const names = Object.fromEntries(Object.entries(BpfFunc).map(([n, i]) => [i, n]));
    expect(refused.map((id) => names[id])).toEqual([]);
  });

  it("the instruction limit is the verifier's own", () => {
    const r = loadProgram(BpfProgType.SCHED_CLS, insnBytes([{ code: 0xb7 }, { code: 0x95 }]));
    const m = /processed \d+ insns \(limit (\d+)\)/.exec(r.log);
    expect(m, r.log).not.toBeNull();
    expect(profileByName('latest').maxProcessedInsns).toBe(Number(m![1]));
  });
});
