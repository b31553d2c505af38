/**
 * The SNAT allocator on its own (programs/tc/snat-alloc.ts) in a small tc
 * program, for every profile: the original port when free, the hashed next
 * candidate when not, and the rollback — a forward entry that cannot be
 * inserted (it already exists) makes the allocator delete the reverse entry it
 * had just claimed and count a rollback in the histogram — and the reclaim of
 * ports held by idle flows. `seen` times are CLOCK_MONOTONIC nanoseconds, the
 * clock of both bpf_ktime_get_ns and process.hrtime.
 */
import { describe, expect, it } from 'vitest';
import { compile } from '../../dsl/compile/index.js';
import { program } from '../../dsl/program/index.js';
import { profileByName } from '../../dsl/kernel/index.js';
import { u32, u64 } from '../../dsl/types/index.js';
import { loadObject } from '../../loader/object/index.js';
import { allocateSnatPort, SnatResult } from '../../programs/tc/snat-alloc.js';
import { snat4, snatRetries } from '../../programs/tc/snat-maps.js';
import { SNAT_DIR_IN, SNAT_DIR_OUT, SNAT_FLAG_HOST, SNAT_HIST_FAILED, SNAT_HIST_RECLAIMED, SNAT_HIST_ROLLBACK, SNAT_LIFETIME_TCP_NS, SnatEntry4, SnatKey4 } from '../../programs/tc/snat-schemas.js';
import { need } from '../support/env.js';
import { PROFILES, table, type Bench } from './nodeport-env.js';
import { hashedPort } from './nodeport-expect.js';

const ok = need({ kernel: true });
const CLIENT = '10.99.0.2';
const BACKEND = '10.99.0.3';
const NODE = '10.99.0.1';
const ORIG = 40050;
const MIN = 40000;
const MAX = 40099;
const host = (a: string) => a.split('.').reduce((n, x) => n * 256 + Number(x), 0);

const claim = program('tc', 'snat_claim', (b) => {
  const fwdKey = b.local(SnatKey4, { saddr: host(CLIENT), daddr: host(BACKEND), sport: ORIG, dport: 8080, proto: 6, dir: SNAT_DIR_OUT });
  const revKey = b.local(SnatKey4, { saddr: host(BACKEND), daddr: host(NODE), sport: 8080, proto: 6, dir: SNAT_DIR_IN });
  const fwdEntry = b.local(SnatEntry4, { addr: host(NODE) });
  const revEntry = b.local(SnatEntry4, { addr: host(CLIENT), port: ORIG, revNatIndex: 3 });
  const idx = b.local(u32);
  const staleKey = b.local(SnatKey4);
  const now = b.ktimeGetNs();
  fwdEntry.seen.set(now);
  revEntry.seen.set(now);
  const { result, port } = allocateSnatPort(b, {
    map: snat4, fwdKey, fwdEntry, revKey, revEntry, idx, staleKey, now, lifetime: b.val(u64, SNAT_LIFETIME_TCP_NS),
    origPort: b.val(u32, ORIG), min: b.val(u32, MIN), max: b.val(u32, MAX),
  });
  b.return(result.shl(16).or(port));
});

/** Now, on the program's clock. */
const fresh = () => process.hrtime.bigint();
/** Idle longer than the TCP lifetime (u64 arithmetic wraps, as the program's does). */
const idle = () => BigInt.asUintN(64, fresh() - SNAT_LIFETIME_TCP_NS - 1_000_000_000n);

const fwdKey = { saddr: CLIENT, daddr: BACKEND, sport: ORIG, dport: 8080, proto: 6, dir: SNAT_DIR_OUT };
const revKey = (port: number) => ({ saddr: BACKEND, daddr: NODE, sport: 8080, dport: port, proto: 6, dir: SNAT_DIR_IN });

/** `snat_claim` built for `target` and loaded (maps unpinned), with its SNAT table, retry histogram and a runner returning `result << 16 | port`. */
function loadClaim(target: (typeof PROFILES)[number]) {
  const { object } = compile([claim], { target });
  const spec = { ...object, maps: (object.maps ?? []).map((m) => ({ ...m, pinning: 'none' as const })) };
  const obj = loadObject(spec, { profile: profileByName(target) });
  const bench = { obj } as unknown as Bench;
  return {
    snat: table(bench, snat4),
    hist: table(bench, snatRetries),
    run: () => obj.program('snat_claim').run({ data: new Uint8Array(64) }).retval,
    [Symbol.dispose]: () => obj.close(),
  };
}

describe.skipIf(!ok)('SNAT allocator', () => {
  for (const target of PROFILES) {
    it(`${target}: keeps the port, takes the hashed next one, rolls back when the forward insert fails`, () => {
      using claimed = loadClaim(target);
      const { snat, hist, run } = claimed;

      // A forward entry already there: the reverse entry is claimed, then given back.
      snat.set(fwdKey, { seen: fresh(), addr: NODE, port: 1, revNatIndex: 0, flags: 0 });
      expect(run() >>> 16).toBe(SnatResult.ROLLED_BACK);
      expect(snat.get(revKey(ORIG))).toBeUndefined();
      expect(snat.entries()).toHaveLength(1);
      expect(hist.get(SNAT_HIST_ROLLBACK)).toBe(1n);
      expect(hist.get(SNAT_HIST_FAILED)).toBe(0n);

      // Free: the original port, both entries.
      snat.delete(fwdKey);
      expect(run()).toBe((SnatResult.OK << 16) | ORIG);
      expect(snat.get(fwdKey)).toMatchObject({ addr: NODE, port: ORIG });
      expect(snat.get(revKey(ORIG))).toMatchObject({ addr: CLIENT, port: ORIG, revNatIndex: 3 });
      expect(hist.get(0)).toBe(1n);

      // The port is taken now (by that flow): a new claim for another client tuple gets the hashed candidate.
      snat.delete(fwdKey);
      const next = hashedPort(ORIG, MIN, MAX);
      expect(run()).toBe((SnatResult.OK << 16) | next);
      expect(snat.get(revKey(next))).toMatchObject({ addr: CLIENT, port: ORIG });
      expect(hist.get(1)).toBe(1n);
    });

    it(`${target}: a port held by an idle flow is reclaimed; a live holder (either direction) or a fresh host flow keeps it`, () => {
      using claimed = loadClaim(target);
      const { snat, hist, run } = claimed;
      const OTHER = '10.99.0.77';
      const otherFwd = { saddr: OTHER, daddr: BACKEND, sport: 5555, dport: 8080, proto: 6, dir: SNAT_DIR_OUT };
      const holder = (seen: bigint, flags = 0) => ({ seen, addr: flags ? NODE : OTHER, port: flags ? ORIG : 5555, revNatIndex: 0, flags });
      const next = hashedPort(ORIG, MIN, MAX);
      const reset = () => {
        for (const [k] of snat.entries()) snat.delete(k);
      };

      // Both directions idle: both entries go, the port is taken on the retry.
      snat.set(revKey(ORIG), holder(idle()));
      snat.set(otherFwd, { seen: idle(), addr: NODE, port: ORIG, revNatIndex: 0, flags: 0 });
      expect(run()).toBe((SnatResult.OK << 16) | ORIG);
      expect(snat.get(otherFwd)).toBeUndefined();
      expect(snat.get(revKey(ORIG))).toMatchObject({ addr: CLIENT, port: ORIG, revNatIndex: 3 });
      expect(hist.get(SNAT_HIST_RECLAIMED)).toBe(1n);
      expect(hist.get(1)).toBe(1n);

      // The holder's forward direction is still in use: not reclaimed.
      reset();
      snat.set(revKey(ORIG), holder(idle()));
      snat.set(otherFwd, { seen: fresh(), addr: NODE, port: ORIG, revNatIndex: 0, flags: 0 });
      expect(run()).toBe((SnatResult.OK << 16) | next);
      expect(snat.get(revKey(ORIG))).toMatchObject({ addr: OTHER, port: 5555 });
      expect(hist.get(SNAT_HIST_RECLAIMED)).toBe(1n);

      // A fresh reverse entry is never looked behind; an idle host flow is reclaimed, a fresh one is not.
      for (const [seen, reclaimed] of [[fresh(), false], [idle(), true]] as const) {
        reset();
        snat.set(revKey(ORIG), holder(seen, SNAT_FLAG_HOST));
        expect(run()).toBe((SnatResult.OK << 16) | (reclaimed ? ORIG : next));
      }
      expect(hist.get(SNAT_HIST_RECLAIMED)).toBe(2n);
    });
  }
});
