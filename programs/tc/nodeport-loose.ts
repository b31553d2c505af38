/**
 * The map and local operations of the builder without their generic typing,
 * for the code written once for both address families (whose tables have
 * different key/value schemas): the DSL still checks every call at build time.
 */
import type { B, Int, UpdateFlag } from '../../dsl/program/index.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
/** `b.lookup/update/delete/local/parse` over any map and schema. */
export interface LooseB {
  lookup(map: any, key: any): { orReturn(code: number): any; ifPresent(then: (p: any) => void, otherwise?: () => void): void };
  update(map: any, key: any, value: any, flags?: UpdateFlag): Int<'s64'>;
  delete(map: any, key: any): Int<'s64'>;
  local(schema: any, init?: any): any;
  parse(schema: any, offset: number): { orReturn(code: number): any };
}

/** The same builder, loosely typed. */
export function loose(b: B): LooseB {
  return b as unknown as LooseB;
}
