/**
 * Operands of `l3_csum_replace` / `l4_csum_replace`. The kernel folds `from` and
 * `to` as the field's bytes in memory (a `__be16`/`__be32` in the register's low
 * bits), so a word must be a network-order value — which is how the DSL keeps
 * be16/be32 in registers. A plain number is a host-order value of the field and
 * is converted here, exactly as `set()` and `eq()` convert it; a host-typed value
 * is refused (passing its bits would be silently wrong on the wire). With field
 * size 0 the helper takes a checksum difference instead (`from` must be 0).
 */
import { callerLocation } from '../isa/index.js';
import { DslError } from '../ir/errors.js';
import type { Operand } from '../ir/index.js';
import { constOf, SCALARS, ScalarImpl, type Value } from './scalar.js';

/** An old/new field value for the checksum helpers: be16/be32, or a host-order constant. */
export type CsumWord = Value<'be16' | 'be32'> | number | bigint;
/** A checksum difference (the result of `csumDiff`), for field size 0. */
export type CsumDiff = Value<'s64' | 'u64' | 'u32'>;

/** BPF_F_HDR_FIELD_MASK: the field size in the low bits of the flags. */
const HDR_FIELD_MASK = 0xfn;

/** The `from`/`to` operands for a checksum helper with flags `flags`. */
export function csumWords(name: string, from: unknown, to: unknown, flags: Operand, u64: (x: unknown, what: string) => Operand): [Operand, Operand] {
  const src = callerLocation();
  const size = typeof flags === 'bigint' ? Number(flags & HDR_FIELD_MASK) : undefined;
  if (size !== undefined && size !== 0 && size !== 2 && size !== 4)
    throw new DslError('DSL_ARGS', `${name}: the field size in flags must be 0, 2 or 4 bytes, got ${size}`, src);
  const word = (x: unknown, what: string, diffAllowed: boolean): Operand => {
    if (x instanceof ScalarImpl) {
      const info = x.info;
      if (info.be && info.bits <= 32) {
        if (size === 0) throw new DslError('DSL_TYPE', `${what}: with field size 0 the helper takes a checksum difference, not a ${info.name} field`, src);
        if (size !== undefined && info.bits / 8 !== size) throw new DslError('DSL_TYPE', `${what}: a ${info.name} does not match the ${size}-byte field size in flags`, src);
        return x.read();
      }
      if (!info.be && diffAllowed && size === 0 && (info.name === 's64' || info.name === 'u64' || info.name === 'u32')) return x.read();
      throw new DslError('DSL_TYPE', `${what}: a host-order ${info.name} is not the field as stored; convert with .to(be16/be32) (byte swap) or .bits(be16/be32) (same bits)${diffAllowed ? ', or pass a csumDiff result with field size 0' : ''}`, src);
    }
    if (typeof x === 'number' || typeof x === 'bigint') {
      if (size === 0) return u64(x, what);
      if (size === undefined) throw new DslError('DSL_ARGS', `${what}: a plain number needs constant flags (the field size decides its byte order)`, src);
      return constOf(x, size === 2 ? SCALARS.be16 : SCALARS.be32, src);
    }
    throw new DslError('DSL_TYPE', `${what}: expected a be16/be32 value or a number`, src);
  };
  const a = word(from, `${name} from`, false);
  if (size === 0 && a !== 0n) throw new DslError('DSL_ARGS', `${name}: with field size 0 (a checksum difference in 'to'), 'from' must be 0`, src);
  return [a, word(to, `${name} to`, true)];
}
