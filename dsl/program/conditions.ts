/**
 * `b.switch(x, { 1: () => …, 2: () => … }, otherwise)`: a multi-way branch on a
 * scalar, recorded as a chain of equality tests (each case body in its own scope).
 * Case keys are host-order constants, converted like `eq()` does (a be16 `x`
 * matches `{ 80: … }` on port 80). A build-time constant `x` emits only the
 * matching body.
 */
import { callerLocation } from '../isa/index.js';
import { DslError } from '../ir/errors.js';
import type { B } from './builder.js';
import { ScalarImpl } from './scalar.js';

/** Case bodies of `b.switch` by value (integer keys). */
export type SwitchCases = { readonly [value: number]: () => void };

/** Records `b.switch(x, cases, otherwise)` on the builder `b`. */
export function recordSwitch(b: B, x: unknown, cases: unknown, otherwise: (() => void) | undefined): void {
  const src = callerLocation();
  if (!(x instanceof ScalarImpl)) throw new DslError('DSL_TYPE', 'switch(): expected a scalar value to switch on', src);
  if (typeof cases !== 'object' || cases === null) throw new DslError('DSL_TYPE', 'switch(): expected an object of case bodies keyed by value', src);
  if (otherwise !== undefined && typeof otherwise !== 'function') throw new DslError('DSL_TYPE', 'switch(): the default must be a function', src);
  const entries = Object.entries(cases as Record<string, unknown>).map(([key, body]) => {
    if (!/^-?\d+$/.test(key)) throw new DslError('DSL_TYPE', `switch(): case '${key}' is not an integer`, src);
    if (typeof body !== 'function') throw new DslError('DSL_TYPE', `switch(): case ${key} must be a function`, src);
    return { value: BigInt(key), body: body as () => void };
  });
  // The switched-on value is read once (a place would otherwise be loaded per case).
  const v = 'get' in x && typeof (x as { get?: unknown }).get === 'function' ? (x as unknown as { get(): ScalarImpl }).get() : x;
  const chain = (k: number): void => {
    const c = entries[k];
    if (!c) {
      otherwise?.();
      return;
    }
    b.if(v.eq(c.value) as never, c.body, k + 1 < entries.length || otherwise ? () => chain(k + 1) : undefined);
  };
  chain(0);
}
