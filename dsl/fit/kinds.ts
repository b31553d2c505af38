/**
 * What a register or an 8-byte stack slot holds, as far as fitting cares — a tiny
 * version of the verifier's register types. Only scalars, the context and
 * frame-pointer-derived addresses can cross a tail call (the context comes back in
 * r1, `r10 + k` can be recomputed, scalars are carried in memory), and packet
 * pointers `data + k` / `data_end` (re-derived from the context and re-checked);
 * any other pointer pins a region to one program.
 */
import type { SourceLocation } from '../isa/index.js';

/** A value kind. `maybe`: initialised on some paths only; `mixed`: different kinds on different paths. */
export type Kind =
  | { readonly t: 'uninit' }
  | { readonly t: 'scalar'; readonly c?: bigint }
  | { readonly t: 'ctx' }
  | { readonly t: 'fp'; readonly off: number }
  /** `ctx->data + off`, a constant offset. */
  | { readonly t: 'pkt'; readonly off: number }
  /** `ctx->data_end`. */
  | { readonly t: 'pktEnd' }
  /** A pointer that cannot be recreated; `src` is where the instruction that made it came from. */
  | { readonly t: 'ptr'; readonly what: string; readonly src?: SourceLocation | undefined }
  | { readonly t: 'maybe' }
  | { readonly t: 'mixed' };

export const UNINIT: Kind = Object.freeze({ t: 'uninit' });
export const SCALAR: Kind = Object.freeze({ t: 'scalar' });
export const CTX: Kind = Object.freeze({ t: 'ctx' });
export const MAYBE: Kind = Object.freeze({ t: 'maybe' });
export const MIXED: Kind = Object.freeze({ t: 'mixed' });
export const PKT_END: Kind = Object.freeze({ t: 'pktEnd' });

/** A packet pointer `data + off`. */
export function packet(off: number): Kind {
  return { t: 'pkt', off };
}

/** A scalar with a known value (64-bit two's complement). */
export function constant(c: bigint): Kind {
  return { t: 'scalar', c: BigInt.asIntN(64, c) };
}

/** A frame address `r10 + off`. */
export function frame(off: number): Kind {
  return { t: 'fp', off };
}

/** A pointer the fitting cannot recreate (map value, packet, socket, …). */
export function pointer(what: string, src?: SourceLocation): Kind {
  return src ? { t: 'ptr', what, src } : { t: 'ptr', what };
}

/** Whether two kinds are the same. */
export function sameKind(a: Kind, b: Kind): boolean {
  if (a.t !== b.t) return false;
  switch (a.t) {
    case 'scalar':
      return a.c === (b as typeof a).c;
    case 'fp':
    case 'pkt':
      return a.off === (b as typeof a).off;
    case 'ptr':
      return a.what === (b as typeof a).what;
    default:
      return true;
  }
}

/** The kind a value has after two paths with kinds `a` and `b` meet. */
export function joinKind(a: Kind, b: Kind): Kind {
  if (a === b || sameKind(a, b)) return a;
  if (a.t === 'mixed' || b.t === 'mixed') return MIXED;
  if (a.t === 'uninit' || b.t === 'uninit' || a.t === 'maybe' || b.t === 'maybe') return MAYBE;
  if (a.t === 'scalar' && b.t === 'scalar') return SCALAR;
  if (a.t === 'pkt' && b.t === 'pkt') return pointer('packet pointer (different offsets on different paths)');
  if (a.t === 'ptr' && b.t === 'ptr') return pointer(a.what === b.what ? a.what : 'pointer', a.src ?? b.src);
  return MIXED;
}

/** Whether a live value of this kind can be carried across a tail call. */
export function carriable(k: Kind): boolean {
  return k.t === 'scalar' || k.t === 'ctx' || k.t === 'fp' || k.t === 'pkt' || k.t === 'pktEnd';
}

/** Human description of a kind, for errors and `--explain`. */
export function describeKind(k: Kind): string {
  switch (k.t) {
    case 'scalar':
      return k.c === undefined ? 'scalar' : `constant ${k.c}`;
    case 'fp':
      return `stack address r10${k.off < 0 ? '' : '+'}${k.off}`;
    case 'pkt':
      return `packet pointer data+${k.off}`;
    case 'pktEnd':
      return 'packet end pointer';
    case 'ptr':
      return `${k.what} pointer${k.src ? ` (produced at ${k.src.file}:${k.src.line}:${k.src.column})` : ''}`;
    case 'ctx':
      return 'context pointer';
    case 'maybe':
      return 'value initialised on some paths only';
    case 'mixed':
      return 'value of different kinds on different paths';
    default:
      return 'uninitialised';
  }
}
