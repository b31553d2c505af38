/**
 * Socket lookups (`bpf_sk_lookup_tcp` / `bpf_sk_lookup_udp`) with the reference
 * the verifier makes you release. The result is a {@link SockRef}: no field
 * access until `ifPresent(sk => …)`, and the reference is owned by that callback's
 * scope — `bpf_sk_release` is emitted at its end and before every `b.return`
 * inside it, so neither a leak nor a double release can be written. Leaving the
 * scope sideways (break/continue out of a loop opened outside it, a tail call)
 * is a build error, since the verifier would refuse the leak.
 */
import { callerLocation } from '../isa/index.js';
import { DslError } from '../ir/errors.js';
import type { VReg } from '../ir/index.js';
import { CTX_STRUCT_LAYOUTS } from '../kernel/index.js';
import { be16, be32, ipv6, struct } from '../types/index.js';
import { PlaceImpl, type PtrCore } from './pointer.js';
import type { Recorder } from './recorder.js';
import { SCALARS, type ScalarInfo, type Value } from './scalar.js';

/** `struct bpf_sock_tuple`, IPv4 part (12 bytes). */
export const SockTuple4 = struct('bpf_sock_tuple4', { saddr: be32, daddr: be32, sport: be16, dport: be16 });
/** `struct bpf_sock_tuple`, IPv6 part (36 bytes). */
export const SockTuple6 = struct('bpf_sock_tuple6', { saddr: ipv6, daddr: ipv6, sport: be16, dport: be16 });

/** Read-only fields of a looked-up `struct bpf_sock`. */
export interface SockView {
  readonly bound_dev_if: Value<'u32'>;
  readonly family: Value<'u32'>;
  readonly type: Value<'u32'>;
  readonly protocol: Value<'u32'>;
  readonly mark: Value<'u32'>;
  readonly priority: Value<'u32'>;
  readonly src_ip4: Value<'be32'>;
  readonly src_ip6: { at(i: 0 | 1 | 2 | 3): Value<'be32'> };
  /** Local port in host order. */
  readonly src_port: Value<'u32'>;
  /** Remote port in network order. */
  readonly dst_port: Value<'be16'>;
  readonly dst_ip4: Value<'be32'>;
  readonly dst_ip6: { at(i: 0 | 1 | 2 | 3): Value<'be32'> };
  readonly state: Value<'u32'>;
}

declare const sockBrand: unique symbol;
/** A socket reference that may be NULL and must be released: use it only inside `ifPresent`. */
export interface SockRef {
  /**
   * Runs `then` with the socket when found (the reference is released when `then`
   * ends or returns from the program), else `otherwise`.
   */
  ifPresent(then: (sk: SockView) => void, otherwise?: () => void): void;
  readonly [sockBrand]: true;
}

const BIG_ENDIAN = new Set(['src_ip4', 'src_ip6', 'dst_ip4', 'dst_ip6']);

/** The read-only view of the socket in `reg`. */
function sockView(rec: Recorder, reg: VReg): SockView {
  const core: PtrCore = { rec, schema: { kind: 'struct', name: 'bpf_sock', size: 80, align: 4 } as never, base: reg, off: 0, region: 'ctx', scope: rec.scope, src: callerLocation() };
  const out: Record<string, unknown> = {};
  for (const f of CTX_STRUCT_LAYOUTS.bpf_sock.fields) {
    const info: ScalarInfo = f.name === 'dst_port' ? SCALARS.be16 : BIG_ENDIAN.has(f.name) ? SCALARS.be32 : SCALARS.u32;
    const place = (off: number, label: string) => new PlaceImpl({ ...core, off }, info, (f.name === 'dst_port' ? 2 : 4) as 2 | 4, false, label);
    Object.defineProperty(out, f.name, {
      enumerable: true,
      get: () =>
        'count' in f
          ? {
              at: (i: number) => {
                if (!Number.isInteger(i) || i < 0 || i >= f.count) throw new DslError('DSL_INDEX', `bpf_sock.${f.name}: index ${i} out of bounds (length ${f.count})`, callerLocation());
                return place(f.offset + i * 4, `bpf_sock.${f.name}[${i}]`);
              },
            }
          : place(f.offset, `bpf_sock.${f.name}`),
    });
  }
  return out as unknown as SockView;
}

/** The {@link SockRef} of a lookup result in `reg`; `release(reg)` emits bpf_sk_release. */
export function sockRef(rec: Recorder, reg: VReg, what: string, release: (reg: VReg) => void): SockRef {
  const produced = callerLocation();
  const scope = rec.scope;
  let used = false;
  return {
    ifPresent(then: (sk: SockView) => void, otherwise?: () => void) {
      const src = callerLocation();
      rec.checkScope(scope, produced, 'socket reference');
      if (used) throw new DslError('DSL_SCOPE', `${what} from ${produced ? `${produced.file}:${produced.line}` : 'here'} was already checked; look the socket up again`, src);
      used = true;
      const held = { what, loops: rec.loopDepth, release: () => release(reg) };
      const thenNodes = rec.block(() => {
        rec.held.push(held);
        try {
          then(sockView(rec, reg));
          release(reg);
        } finally {
          rec.held.pop();
        }
      });
      const elseNodes = otherwise ? rec.block(otherwise) : [];
      rec.emit({ op: 'if', cond: { cmp: 'ne', a: reg, b: 0n, width: 64 }, then: thenNodes, else: elseNodes });
    },
  } as SockRef;
}

/** Throws when leaving the current point sideways would leak a held reference. */
export function checkNoHeldAcross(rec: Recorder, how: 'break' | 'continue' | 'tail call'): void {
  const depth = rec.loopDepth;
  const leaking = rec.held.find((h) => how === 'tail call' || h.loops >= depth);
  if (leaking) throw new DslError('DSL_REFERENCE', `${how} while ${leaking.what} is held would leak it (the verifier refuses); finish with the socket first`, callerLocation());
}
