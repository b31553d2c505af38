/**
 * Conntrack operations of the tc datapath: look an entry up and account the
 * packet in it (TCP state, lifetime, counters), or create one.
 *
 * TCP state per entry: a FIN sets the sending direction's closing bit, an RST
 * both; once both are set the entry lives CT_LIFETIME_CLOSE more seconds. A SYN
 * on a closing entry reopens it (closing bits and seen flags cleared). A packet
 * without SYN marks the connection established (CT_LIFETIME_TCP), before that it
 * lives CT_LIFETIME_SYN; non-TCP flows live CT_LIFETIME_NONTCP after each packet.
 * Times are seconds of `bpf_ktime_get_ns()`.
 */
import type { B, Int, Ptr, Value, Var } from '../../dsl/program/index.js';
import type { ct4 } from './conntrack-maps.js';
import { u8, u16, u32, u64 } from '../../dsl/types/index.js';
import type { CtEntryView, CtKeyView, CtMapDef } from './parse-family.js';
import {
  CT_F_RX_CLOSING, CT_F_SEEN_NON_SYN, CT_F_TX_CLOSING, CT_LIFETIME_CLOSE, CT_LIFETIME_NONTCP, CT_LIFETIME_SYN, CT_LIFETIME_TCP, CtEntry, type CtKey4,
} from './conntrack-schemas.js';
import { PROTO_TCP, TCP_FLAG_FIN, TCP_FLAG_RST, TCP_FLAG_SYN } from './parse-headers.js';

/** Direction of a packet relative to its entry: `tx` = original, `rx` = reply. */
export type CtDir = 'tx' | 'rx';

/** The facts about the current packet conntrack needs. */
export interface CtPacket {
  /** IP protocol of the flow. */
  readonly nexthdr: Value<'u8'>;
  /** TCP flags (0 for non-TCP). */
  readonly tcpFlags: Value<'u8'>;
  /** Packet length in bytes (`skb->len`). */
  readonly len: Value<'u32'>;
  /** Current time in seconds. */
  readonly now: Int<'u32'>;
}

/** What a lookup copied out of the entry it found. */
export interface CtFound {
  /** 1 when the entry exists. */
  readonly found: Var<'u8'>;
  readonly revNatIndex: Var<'u16'>;
  readonly backendId: Var<'u32'>;
  /** The entry's CT_F_* bits after accounting this packet. */
  readonly flags: Var<'u16'>;
}

/** Current time in seconds of `bpf_ktime_get_ns()`. */
export function nowSeconds(b: B): Int<'u32'> {
  return b.ktimeGetNs().div(1_000_000_000).to(u32);
}

const CLOSING = CT_F_RX_CLOSING | CT_F_TX_CLOSING;

/**
 * Accounts the packet in entry `e` (a map value, updated in place with atomic
 * counters, or a stack entry being built): counters, seen flags, TCP state and
 * lifetime.
 */
export function ctAccount(b: B, entry: CtEntryView, dir: CtDir, p: CtPacket, atomic: boolean): void {
  const e = entry as Ptr<typeof CtEntry, 'map_value'>;
  const packets = dir === 'tx' ? e.txPackets : e.rxPackets;
  const bytes = dir === 'tx' ? e.txBytes : e.rxBytes;
  if (atomic) {
    packets.atomicAdd(1);
    bytes.atomicAdd(p.len.to(u64));
  } else {
    packets.set(packets.add(1));
    bytes.set(bytes.add(p.len.to(u64)));
  }
  b.if(
    p.nexthdr.eq(PROTO_TCP),
    () => {
      const seen = dir === 'tx' ? e.txFlagsSeen : e.rxFlagsSeen;
      seen.set(seen.or(p.tcpFlags));
      const flags = b.let(u16, e.flags);
      const mine = dir === 'tx' ? CT_F_TX_CLOSING : CT_F_RX_CLOSING;
      b.if(
        p.tcpFlags.and(TCP_FLAG_RST).ne(0),
        () => flags.set(flags.or(CLOSING)),
        () =>
          b.if(
            p.tcpFlags.and(TCP_FLAG_FIN).ne(0),
            () => flags.set(flags.or(mine)),
            () =>
              b.if(p.tcpFlags.and(TCP_FLAG_SYN).ne(0).and(flags.and(CLOSING).ne(0)), () => {
                flags.set(flags.and(~(CLOSING | CT_F_SEEN_NON_SYN) & 0xffff));
                e.txFlagsSeen.set(dir === 'tx' ? p.tcpFlags : 0);
                e.rxFlagsSeen.set(dir === 'rx' ? p.tcpFlags : 0);
              }),
          ),
      );
      b.if(p.tcpFlags.and(TCP_FLAG_SYN).eq(0), () => flags.set(flags.or(CT_F_SEEN_NON_SYN)));
      e.flags.set(flags);
      b.if(
        flags.and(CLOSING).eq(CLOSING),
        () => e.lifetime.set(p.now.add(CT_LIFETIME_CLOSE)),
        () =>
          b.if(
            flags.and(CT_F_SEEN_NON_SYN).ne(0),
            () => e.lifetime.set(p.now.add(CT_LIFETIME_TCP)),
            () => e.lifetime.set(p.now.add(CT_LIFETIME_SYN)),
          ),
      );
    },
    () => e.lifetime.set(p.now.add(CT_LIFETIME_NONTCP)),
  );
}

/** How {@link ctLookup} treats the entry it finds. */
export interface CtLookupOptions {
  /**
   * `state` (default): counters, TCP state and lifetime; an expired entry counts
   * as absent. `count`: counters only, lifetime not checked (RELATED entries,
   * whose flow's egress entry carries the state).
   */
  readonly account?: 'state' | 'count';
}

/**
 * Looks `key` up in `map`; when present, accounts the packet in the entry
 * (direction `dir`) and copies out its revNatIndex, backendId and flags.
 * An entry whose lifetime has passed counts as absent (LRU reclaims it).
 */
export function ctLookup(b: B, map: CtMapDef, key: CtKeyView, dir: CtDir, p: CtPacket, options: CtLookupOptions = {}): CtFound {
  const found = b.let(u8, 0);
  const revNatIndex = b.let(u16, 0);
  const backendId = b.let(u32, 0);
  const flags = b.let(u16, 0);
  b.lookup(map as typeof ct4, key as Ptr<typeof CtKey4, 'stack'>).ifPresent((e) => {
    const take = () => {
      found.set(1);
      revNatIndex.set(e.revNatIndex);
      backendId.set(e.backendId);
      flags.set(e.flags);
    };
    if (options.account === 'count') {
      (dir === 'tx' ? e.txPackets : e.rxPackets).atomicAdd(1);
      (dir === 'tx' ? e.txBytes : e.rxBytes).atomicAdd(p.len.to(u64));
      take();
      return;
    }
    b.if(e.lifetime.ge(p.now), () => {
      ctAccount(b, e, dir, p, true);
      take();
    });
  });
  return { found, revNatIndex, backendId, flags };
}

/** What a new entry starts with. */
export interface CtInit {
  readonly revNatIndex: Value<'u16'> | number;
  readonly backendId: Value<'u32'> | number;
  /** CT_F_* bits to start with (e.g. CT_F_LB_LOOPBACK). */
  readonly flags: Value<'u16'> | number;
}

/**
 * Creates (or replaces) the entry `key` for a packet in the original direction
 * and returns the entry written, so the caller can store the same one under
 * more keys (`ctStore`). Returns the update's result (< 0: failed).
 */
export function ctCreate(b: B, map: CtMapDef, key: CtKeyView, init: CtInit, p: CtPacket): { entry: Ptr<typeof CtEntry, 'stack'>; result: Int<'s64'> } {
  const entry = b.local(CtEntry, { created: p.now });
  entry.revNatIndex.set(init.revNatIndex);
  entry.backendId.set(init.backendId);
  entry.flags.set(init.flags);
  ctAccount(b, entry, 'tx', p, false);
  return { entry, result: b.update(map as typeof ct4, key as Ptr<typeof CtKey4, 'stack'>, entry, 'any') };
}

/** Stores `entry` under `key` too (e.g. the CT_RELATED entry next to a new CT_OUT one); returns the update's result. */
export function ctStore(b: B, map: CtMapDef, key: CtKeyView, entry: Ptr<typeof CtEntry, 'stack'>): Int<'s64'> {
  return b.update(map as typeof ct4, key as Ptr<typeof CtKey4, 'stack'>, entry, 'any');
}
