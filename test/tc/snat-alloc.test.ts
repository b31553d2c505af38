/**
 * The SNAT allocator on its own (programs/tc/snat-alloc.ts) in a small tc
 * program, for every profile: the original port when free, the hashed next
 * candidate when not, and the rollback — a forward entry that cannot be
 * inserted (it already exists) makes the allocator delete the reverse entry it
 * had just claimed and count a rollback in the histogram.
 */
import { describe, expect, it } from 'vitest';
import { compile } from '../../dsl/compile/index.js';
import { program } from '../../dsl/program/index.js';
import { profileByName } from '../../dsl/kernel/index.js';
import { u32 } from '../../dsl/types/index.js';
import { loadObject } from '../../loader/object/index.js';
import { allocateSnatPort, SnatResult } from '../../programs/tc/snat-alloc.js';
import { snat4, snatRetries } from '../../programs/tc/snat-maps.js';
import { SNAT_DIR_IN, SNAT_DIR_OUT, SNAT_HIST_FAILED, SNAT_HIST_ROLLBACK, SnatEntry4, SnatKey4 } from '../../programs/tc/snat-schemas.js';
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
  const { result, port } = allocateSnatPort(b, {
    map: snat4, fwdKey, fwdEntry, revKey, revEntry, idx, origPort: b.val(u32, ORIG), min: b.val(u32, MIN), max: b.val(u32, MAX),
  });
  b.return(result.shl(16).or(port));
});

const fwdKey = { saddr: CLIENT, daddr: BACKEND, sport: ORIG, dport: 8080, proto: 6, dir: SNAT_DIR_OUT };
const revKey = (port: number) => ({ saddr: BACKEND, daddr: NODE, sport: 8080, dport: port, proto: 6, dir: SNAT_DIR_IN });

describe.skipIf(!ok)('SNAT allocator', () => {
  for (const target of PROFILES) {
    it(`${target}: keeps the port, takes the hashed next one, rolls back when the forward insert fails`, () => {
      const { object } = compile([claim], { target });
      const spec = { ...object, maps: (object.maps ?? []).map((m) => ({ ...m, pinning: 'none' as const })) };
      using obj = loadObject(spec, { profile: profileByName(target) });
      const bench = { obj } as unknown as Bench;
      const snat = table(bench, snat4);
      const hist = table(bench, snatRetries);
      const run = () => obj.program('snat_claim').run({ data: new Uint8Array(64) }).retval;

      // A forward entry already there: the reverse entry is claimed, then given back.
      snat.set(fwdKey, { created: 0n, addr: NODE, port: 1, revNatIndex: 0, flags: 0 });
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
  }
});
