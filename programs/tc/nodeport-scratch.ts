/**
 * Stack objects the NodePort path shares between its stages. The DSL gives
 * every `b.local` its own stack bytes for the whole program, and an IPv6 flow
 * needs several 40-byte keys, 32-byte entries and the 64-byte FIB parameters:
 * allocating them once and reusing them per stage keeps the frame under the
 * verifier's 512 bytes. Users set every field before each use.
 */
import type { B, TcCtx } from '../../dsl/program/index.js';
import { u32 } from '../../dsl/types/index.js';
import type { AnyPlace } from './nodeport-csum.js';
import type { NpFamily } from './nodeport-family.js';
import { loose } from './nodeport-loose.js';

/** The shared stack objects. */
export interface Scratch {
  /** Node configuration (copied from the config map). */
  readonly cfg: AnyPlace;
  /** bpf_fib_lookup parameters. */
  readonly fib: AnyPlace;
  /** SNAT / flow keys. */
  readonly keyA: AnyPlace;
  readonly keyB: AnyPlace;
  /** SNAT entries. */
  readonly entryA: AnyPlace;
  readonly entryB: AnyPlace;
  /** Index of the counter being bumped. */
  readonly idx: AnyPlace;
  /** The program's context (the packet's mark). */
  readonly ctx: TcCtx;
}

/** Allocates the scratch objects (zeroed). */
export function allocScratch(b: B, fam: NpFamily, ctx: TcCtx): Scratch {
  return {
    ctx,
    cfg: loose(b).local(fam.Config),
    fib: loose(b).local(fam.Fib),
    keyA: loose(b).local(fam.SnatKey),
    keyB: loose(b).local(fam.SnatKey),
    entryA: loose(b).local(fam.SnatEntry),
    entryB: loose(b).local(fam.SnatEntry),
    idx: b.local(u32),
  };
}

/** Fills a SNAT/flow key (every field). */
export function setKey(key: AnyPlace, saddr: AnyPlace, daddr: AnyPlace, sport: AnyPlace, dport: AnyPlace, proto: AnyPlace, dir: number): void {
  key.saddr.set(saddr);
  key.daddr.set(daddr);
  key.sport.set(sport);
  key.dport.set(dport);
  key.proto.set(proto);
  key.dir.set(dir);
}

/** Fills a SNAT entry (every field). */
export function setEntry(e: AnyPlace, seen: AnyPlace, addr: AnyPlace, port: AnyPlace, revNatIndex: AnyPlace, flags: number): void {
  e.seen.set(seen);
  e.addr.set(addr);
  e.port.set(port);
  e.revNatIndex.set(revNatIndex);
  e.flags.set(flags);
}
