/** Maps of an object: `.maps` symbols, their BTF definitions, and initial slots from `.rel.maps`. */
import { ObjectError } from '../object/errors.js';
import type { MapSpec } from '../object/spec.js';
import { R_BPF, STT, type ElfSymbol } from './file/index.js';
import { decodeMapStruct } from './maps-btf.js';
import { unsupported, type ReadContext } from './object-read-context.js';

/** The OBJECT symbols of `.maps`, by offset. */
export function mapSymbols(ctx: ReadContext): ElfSymbol[] {
  return ctx.mapsIndex === undefined ? [] : ctx.symbolsIn(ctx.mapsIndex, STT.OBJECT);
}

/** The map symbol covering `.maps` offset `offset`. */
export function mapAt(symbols: readonly ElfSymbol[], offset: number): ElfSymbol | undefined {
  return symbols.find((s) => offset >= s.value && offset < s.value + Math.max(s.size, 1));
}

/** Decodes every map definition and fills `values` from the `.maps` relocations. */
export function readMaps(ctx: ReadContext, symbols: readonly ElfSymbol[]): MapSpec[] {
  const mapsIndex = ctx.mapsIndex;
  if (mapsIndex === undefined) return [];
  const btf = ctx.btf;
  if (!btf) throw new ObjectError('OBJECT_MALFORMED', '.maps section without .BTF: BTF-defined maps need BTF');
  const datasec = btf.find('.maps', 'datasec');
  const slots = new Map<string, (string | null)[]>();
  const structSize = new Map<string, number>();
  const defs = new Map<string, MapSpec>();
  for (const s of symbols) {
    ctx.checkSymbolRange(s, 'map');
    const v = datasec?.type.vars.map((x) => btf.get(x.type)).find((t) => t?.kind === 'var' && t.name === s.name);
    if (!v || v.kind !== 'var') throw new ObjectError('OBJECT_MALFORMED', `map '${s.name}' has no VAR in the .maps DATASEC`);
    const d = decodeMapStruct(btf, v.type, s.name);
    for (const what of d.ignored) ctx.ignored.push({ what: `map '${s.name}' ${what}`, reason: 'unknown map definition member' });
    if (defs.has(s.name)) throw new ObjectError('OBJECT_MALFORMED', `two maps are named '${s.name}'`);
    defs.set(s.name, { name: s.name, ...d.def });
    structSize.set(s.name, d.size);
    if (d.hasValues) slots.set(s.name, []);
  }
  for (const r of ctx.relocations(mapsIndex)) {
    const where = `relocation at .maps+${r.offset}`;
    if (r.type !== R_BPF['64_ABS64']) unsupported(`${where}: relocation type ${r.type} in .maps`);
    const m = mapAt(symbols, r.offset);
    const list = m && slots.get(m.name);
    if (!m || !list) throw new ObjectError('OBJECT_MALFORMED', `${where}: not inside the 'values' of a map`);
    const byteInValues = r.offset - m.value - structSize.get(m.name)!;
    const def = defs.get(m.name)!;
    if (byteInValues < 0 || byteInValues % 8 !== 0 || byteInValues / 8 >= def.maxEntries)
      throw new ObjectError('OBJECT_MALFORMED', `${where}: not a slot of map '${m.name}' values`);
    const t = ctx.symbolAt(r.symbol, where);
    const ok = def.innerMap
      ? t.shndx === mapsIndex && t.type === STT.OBJECT
      : t.type === STT.FUNC && ctx.code.includes(t.shndx) && ctx.sectionName(t.shndx) !== '.text';
    if (!ok) throw new ObjectError('OBJECT_MALFORMED', `${where}: slot of '${m.name}' points to '${t.name}', which is not a ${def.innerMap ? 'map' : 'program'}`);
    const slot = byteInValues / 8;
    while (list.length <= slot) list.push(null);
    list[slot] = t.name;
  }
  return [...defs].map(([name, def]) => {
    const v = slots.get(name);
    return v && v.length ? { ...def, values: v } : def;
  });
}
