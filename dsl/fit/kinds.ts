/**
 * What a register or an 8-byte stack slot holds, as far as fitting cares — a tiny
 * version of the verifier's register types. Only scalars, the context and
 * frame-pointer-derived addresses can cross a tail call (the context comes back in
 * r1, `r10 + k` can be recomputed, scalars are carried in memory); any other
 * pointer pins a region to one program.
 */

/** A value kind. `maybe`: initialised on some paths only; `mixed`: different kinds on different paths. */
export type Kind =
  | { readonly t: 'uninit' }
  | { readonly t: 'scalar'; readonly c?: bigint }
  | { readonly t: 'ctx' }
  | { readonly t: 'fp'; readonly off: number }
  | { readonly t: 'ptr'; readonly what: string }
  | { readonly t: 'maybe' }
  | { readonly t: 'mixed' };

export const UNINIT: Kind = Object.freeze({ t: 'uninit' });
export const SCALAR: Kind = Object.freeze({ t: 'scalar' });
export const CTX: Kind = Object.freeze({ t: 'ctx' });
export const MAYBE: Kind = Object.freeze({ t: 'maybe' });
export const MIXED: Kind = Object.freeze({ t: 'mixed' });

/** A scalar with a known value (64-bit two's complement). */
export function constant(c: bigint): Kind {
  return { t: 'scalar', c: BigInt.asIntN(64, c) };
}

/** A frame address `r10 + off`. */
export function frame(off: number): Kind {
  return { t: 'fp', off };
}

/** A pointer the fitting cannot recreate (map value, packet, socket, …). */
export function pointer(what: string): Kind {
  return { t: 'ptr', what };
}

/** Whether two kinds are the same. */
export function sameKind(a: Kind, b: Kind): boolean {
  if (a.t !== b.t) return false;
  switch (a.t) {
    case 'scalar':
      return a.c === (b as typeof a).c;
    case 'fp':
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
  if (a.t === 'ptr' && b.t === 'ptr') return pointer('pointer');
  return MIXED;
}

/** Whether a live value of this kind can be carried across a tail call. */
export function carriable(k: Kind): boolean {
  return k.t === 'scalar' || k.t === 'ctx' || k.t === 'fp';
}

/** Human description of a kind, for errors and `--explain`. */
export function describeKind(k: Kind): string {
  switch (k.t) {
    case 'scalar':
      return k.c === undefined ? 'scalar' : `constant ${k.c}`;
    case 'fp':
      return `stack address r10${k.off < 0 ? '' : '+'}${k.off}`;
    case 'ptr':
      return `${k.what} pointer`;
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
