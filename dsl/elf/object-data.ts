/** Layout of `.rodata*` / `.data*` / `.bss*` sections from an object's globals. */
import type { Btf } from '../btf/index.js';
import { ObjectError } from '../object/errors.js';
import type { GlobalSpec } from '../object/spec.js';
import { typeAlign, typeSize } from '../object/types.js';
import type { SymbolNames } from './object-names.js';

/** Kind of a data section by name, or undefined for other names. */
export function dataSectionKind(name: string): 'rodata' | 'data' | 'bss' | undefined {
  for (const k of ['rodata', 'data', 'bss'] as const) if (name === `.${k}` || name.startsWith(`.${k}.`)) return k;
  return undefined;
}

/** A variable placed in its section. */
export interface PlacedGlobal {
  readonly g: GlobalSpec;
  readonly offset: number;
  readonly size: number;
}

/** One data section: its variables (in spec order), size and alignment. */
export interface DataSection {
  readonly name: string;
  readonly kind: 'rodata' | 'data' | 'bss';
  readonly vars: PlacedGlobal[];
  size: number;
  align: number;
}

/**
 * Places every global in its section: at its `offset`, or after the previous
 * one at the type's alignment. Overlaps, oversized `init` and initialised
 * `.bss` are `OBJECT_INVALID`.
 */
export function layoutGlobals(globals: readonly GlobalSpec[], btf: Btf | undefined, names: SymbolNames): DataSection[] {
  const sections: DataSection[] = [];
  for (const g of globals) {
    names.claim(g.name, 'global');
    const kind = dataSectionKind(g.section);
    if (!kind) throw new ObjectError('OBJECT_INVALID', `global '${g.name}': section '${g.section}' is not .rodata*, .data* or .bss*`);
    let sec = sections.find((d) => d.name === g.section);
    if (!sec) sections.push((sec = { name: g.section, kind, vars: [], size: 0, align: 1 }));
    const size = typeSize(g.type, btf, `global '${g.name}'`);
    const align = typeAlign(g.type, btf, `global '${g.name}'`);
    const offset = g.offset ?? Math.ceil(sec.size / align) * align;
    if (!Number.isInteger(offset) || offset < 0) throw new ObjectError('OBJECT_INVALID', `global '${g.name}': bad offset ${offset}`);
    for (const v of sec.vars)
      if (offset < v.offset + v.size && v.offset < offset + size)
        throw new ObjectError('OBJECT_INVALID', `global '${g.name}' (${offset}..${offset + size}) overlaps '${v.g.name}' in ${g.section}`);
    if (g.init && (!(g.init instanceof Uint8Array) || g.init.length > size))
      throw new ObjectError('OBJECT_INVALID', `global '${g.name}': init must be a Uint8Array of at most ${size} bytes`);
    if (kind === 'bss' && g.init?.some((b) => b !== 0)) throw new ObjectError('OBJECT_INVALID', `global '${g.name}': .bss variables cannot have non-zero initial bytes`);
    sec.vars.push({ g, offset, size });
    sec.size = Math.max(sec.size, offset + size);
    sec.align = Math.max(sec.align, align);
  }
  return sections;
}

/** Initial bytes of a (non-bss) data section. */
export function dataBytes(sec: DataSection): Uint8Array {
  const data = new Uint8Array(sec.size);
  for (const v of sec.vars) if (v.g.init) data.set(v.g.init, v.offset);
  return data;
}
