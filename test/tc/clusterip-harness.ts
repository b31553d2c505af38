/**
 * Loads the ClusterIP datapath as built for one profile into the kernel (maps
 * pinned in a private bpffs), fills the service tables and reads conntrack and
 * drop counters, for the packet tests. The 4.19 build fits the old 4,096-insn
 * limit as one program; `4.19-split` is the same source cut by the splitter
 * (1,024-instruction pieces), run through its prog array like a too-big program.
 */
import { afterAll, beforeAll, describe } from 'vitest';
import { compile, type CompileResult } from '../../dsl/compile/index.js';
import { u16, u32, u64 } from '../../dsl/types/index.js';
import { loadObject, type LoadedObject } from '../../loader/object/index.js';
import * as clusterip from '../../programs/tc/clusterip.js';
import { CtEntry, CtKey4, CtKey6 } from '../../programs/tc/conntrack-schemas.js';
import {
  AffinityEntry, AffinityKey4, AffinityKey6, Backend4, Backend6, RevNat4, RevNat6, SERVICE_FLAG_AFFINITY, ServiceEntry, ServiceKey4, ServiceKey6,
} from '../../programs/lb/schemas.js';
import { createPinDir, type PinDir } from '../support/bpffs.js';

/** Every profile the datapath is built for, plus the forced split of 4.19. */
export const BUILDS = ['4.19', '4.19-split', '5.4', '5.10', '5.15', '6.1', '6.6'] as const;
/** A build name. */
export type BuildName = (typeof BUILDS)[number];

const cache = new Map<BuildName, CompileResult>();

/** The compiled datapath for a build (memoised: building is pure). */
export function buildDatapath(name: BuildName): CompileResult {
  let r = cache.get(name);
  if (!r) {
    r = name === '4.19-split'
      ? compile(clusterip, { target: '4.19', split: () => ({ limit: 1024, force: true }) })
      : compile(clusterip, { target: name });
    cache.set(name, r);
  }
  return r;
}

/** A backend of a test service. */
export interface TestBackend {
  readonly id: number;
  readonly address: string;
  readonly port: number;
}

/** A test service: frontend, revNatIndex, backends (none: a service without backends). */
export interface TestService {
  readonly vip: string;
  readonly port: number;
  readonly proto: 'tcp' | 'udp';
  readonly revNatIndex: number;
  readonly backends: readonly TestBackend[];
  /** Session affinity timeout in seconds (SERVICE_FLAG_AFFINITY on every entry, the timeout in slot 0's backendId). */
  readonly affinity?: number;
}

/** Decoded session-affinity entry. */
export type AffinityValue = ReturnType<typeof AffinityEntry.decode>;

/** Decoded conntrack entry. */
export type CtValue = ReturnType<typeof CtEntry.decode>;

/** A conntrack tuple as the tests name it. */
export interface TestTuple {
  readonly saddr: string;
  readonly daddr: string;
  readonly sport: number;
  readonly dport: number;
  readonly proto: 'tcp' | 'udp';
  readonly flags: number;
}

/** The loaded datapath of one build. */
export interface Datapath extends Disposable {
  readonly obj: LoadedObject;
  /** Runs the from-pod program (tc ingress of the pod's veth) on a frame. */
  run(packet: Uint8Array): { retval: number; data: Uint8Array };
  /** Runs the to-pod program (tc egress of the pod's veth) on a frame. */
  runToPod(packet: Uint8Array): { retval: number; data: Uint8Array };
  addService(s: TestService): void;
  removeBackend(v6: boolean, id: number): void;
  ct(t: TestTuple): CtValue | undefined;
  setCt(t: TestTuple, e: Partial<CtValue>): void;
  ctCount(v6: boolean): number;
  /** The affinity entry of client address `client` for frontend `revNatIndex` (netns cookie 0, as the tc datapath keys it). */
  affinity(client: string, revNatIndex: number): AffinityValue | undefined;
  setAffinity(client: string, revNatIndex: number, e: AffinityValue): void;
  drops(reason: number): number;
  close(): void;
}

const protoNumber = (p: 'tcp' | 'udp') => (p === 'tcp' ? 6 : 17);

/**
 * Loads build `name` with its own private bpffs for the pinned maps, or with
 * `shared` (a reload: the pinned maps are reused; the caller owns that pin dir).
 */
export function loadDatapath(name: BuildName, shared?: PinDir): Datapath {
  const pins: PinDir = shared ?? createPinDir('tcct');
  let obj: LoadedObject;
  try {
    obj = loadObject(buildDatapath(name).object, { pinRoot: pins.path });
  } catch (e) {
    if (!shared) pins.cleanup();
    throw e;
  }
  const prog = obj.program('tc_clusterip');
  const toPod = obj.program('tc_clusterip_to_pod');
  const ctKey = (t: TestTuple) => {
    const k = { daddr: t.daddr, saddr: t.saddr, dport: t.dport, sport: t.sport, nexthdr: protoNumber(t.proto), flags: t.flags };
    return t.daddr.includes(':') ? CtKey6.encode(k) : CtKey4.encode(k);
  };
  const ctMap = (v6: boolean) => obj.map(v6 ? 'tc_ct6' : 'tc_ct4');
  const affinityKey = (client: string, revNatIndex: number) => {
    const k = { netnsCookie: 0n, client, revNatIndex };
    return client.includes(':') ? AffinityKey6.encode(k) : AffinityKey4.encode(k);
  };
  const affinityMap = (client: string) => obj.map(client.includes(':') ? 'lb6_affinity' : 'lb4_affinity');
  const close = () => {
    obj.close();
    if (!shared) pins.cleanup();
  };
  return {
    obj,
    run: (packet) => {
      const r = prog.run({ data: packet });
      return { retval: r.retval, data: r.data };
    },
    runToPod: (packet) => {
      const r = toPod.run({ data: packet });
      return { retval: r.retval, data: r.data };
    },
    addService: (s) => {
      const v6 = s.vip.includes(':');
      const Key = v6 ? ServiceKey6 : ServiceKey4;
      const services = obj.map(v6 ? 'lb6_services' : 'lb4_services');
      const key = (slot: number) => Key.encode({ address: s.vip, port: s.port, backendSlot: slot, proto: protoNumber(s.proto), scope: 0 });
      const flags = s.affinity === undefined ? 0 : SERVICE_FLAG_AFFINITY;
      const entry = (backendId: number) => ServiceEntry.encode({ backendId, count: s.backends.length, revNatIndex: s.revNatIndex, flags, flags2: 0 });
      services.set(key(0), entry(s.affinity ?? 0));
      s.backends.forEach((be, i) => {
        services.set(key(i + 1), entry(be.id));
        const value = { address: be.address, port: be.port, proto: protoNumber(s.proto), flags: 0 };
        obj.map(v6 ? 'lb6_backends' : 'lb4_backends').set(u32.encode(be.id), v6 ? Backend6.encode(value) : Backend4.encode(value));
      });
      const rev = { address: s.vip, port: s.port };
      obj.map(v6 ? 'lb6_reverse_nat' : 'lb4_reverse_nat').set(u16.encode(s.revNatIndex), v6 ? RevNat6.encode(rev) : RevNat4.encode(rev));
    },
    removeBackend: (v6, id) => void obj.map(v6 ? 'lb6_backends' : 'lb4_backends').delete(u32.encode(id)),
    ct: (t) => {
      const v = ctMap(t.daddr.includes(':')).get(ctKey(t)) as Uint8Array | undefined;
      return v === undefined ? undefined : CtEntry.decode(v);
    },
    setCt: (t, e) => {
      const full = { rxPackets: 0n, rxBytes: 0n, txPackets: 0n, txBytes: 0n, lifetime: 0, backendId: 0, revNatIndex: 0, flags: 0, txFlagsSeen: 0, rxFlagsSeen: 0, created: 0, ...e };
      ctMap(t.daddr.includes(':')).set(ctKey(t), CtEntry.encode(full as never));
    },
    ctCount: (v6) => [...ctMap(v6).keys()].length,
    affinity: (client, revNatIndex) => {
      const v = affinityMap(client).get(affinityKey(client, revNatIndex)) as Uint8Array | undefined;
      return v === undefined ? undefined : AffinityEntry.decode(v);
    },
    setAffinity: (client, revNatIndex, e) => void affinityMap(client).set(affinityKey(client, revNatIndex), AffinityEntry.encode(e)),
    drops: (reason) => {
      const per = obj.map('tc_drop_reasons').get(u32.encode(reason)) as unknown as Uint8Array[];
      return per.reduce((n, b) => n + Number(u64.decode(b)), 0);
    },
    close,
    [Symbol.dispose]: close,
  };
}

/** Nanoseconds of CLOCK_MONOTONIC, the clock of `bpf_ktime_get_ns()`. */
export function monotonicNs(): bigint {
  return process.hrtime.bigint();
}

/** Seconds of CLOCK_MONOTONIC, the clock of `bpf_ktime_get_ns()`. */
export function monotonicSeconds(): number {
  return Number(process.hrtime.bigint() / 1_000_000_000n);
}

/**
 * Declares one `describe` per build in {@link BUILDS}, each loading that build's
 * datapath once before its tests and closing it after them, and fills it with
 * `body`. `body` runs while tests are being collected, before anything is
 * loaded, so the `dp` it gets forwards each use to the build's loaded datapath.
 */
export function describeEachBuild(body: (dp: Datapath, build: BuildName) => void): void {
  for (const build of BUILDS) {
    describe(build, () => {
      let loaded: Datapath | undefined;
      beforeAll(() => {
        loaded = loadDatapath(build);
      });
      afterAll(() => loaded?.close());
      const dp = new Proxy({} as Datapath, {
        get: (_target, key) => {
          if (!loaded) throw new Error(`the ${build} datapath is used outside a test (it is loaded in beforeAll)`);
          return Reflect.get(loaded, key);
        },
      });
      body(dp, build);
    });
  }
}
