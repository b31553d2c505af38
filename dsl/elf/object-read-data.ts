/** Globals of an object: OBJECT symbols of the data sections, typed by their BTF VARs. */
import type { Btf } from '../btf/index.js';
import type { GlobalSpec, TypeSpec } from '../object/spec.js';
import { SHT, STB, STT, type ElfSection, type ElfSymbol } from './file/index.js';
import type { ReadContext } from './object-read-context.js';

/** The globals, and per data section the symbols that became globals. */
export function readGlobals(ctx: ReadContext): { globals: GlobalSpec[]; kept: Map<number, ElfSymbol[]> } {
  const globals: GlobalSpec[] = [];
  const kept = new Map<number, ElfSymbol[]>();
  const btf = ctx.btf;
  // Initialised bytes no symbol covers (string literals in `.rodata.str1.1`, …)
  // become a static byte-array global, so section-relative references keep working.
  const anonymous = (sec: ElfSection, from: number, to: number) => {
    if (sec.type === SHT.NOBITS || to <= from || !sec.data.subarray(from, to).some((b) => b !== 0)) return;
    const name = `__anon${sec.name.replace(/[^A-Za-z0-9_]/g, '_')}_${from}`;
    globals.push({ name, section: sec.name, type: to - from, init: sec.data.slice(from, to), offset: from, linkage: 'static' });
  };
  for (const i of ctx.data) {
    const sec = ctx.sections[i]!;
    const size = sec.type === SHT.NOBITS ? (sec.size ?? 0) : sec.data.length;
    const datasec = btf?.find(sec.name, 'datasec');
    const list: ElfSymbol[] = [];
    let covered = 0;
    for (const s of ctx.symbolsIn(i, STT.OBJECT)) {
      ctx.checkSymbolRange(s, 'variable');
      if (s.value < covered || s.size === 0) {
        ctx.ignored.push({ what: `symbol ${s.name}`, reason: s.size === 0 ? 'zero-size variable' : 'overlaps the previous variable in its section' });
        continue;
      }
      anonymous(sec, covered, s.value);
      covered = s.value + s.size;
      let type: TypeSpec = s.size;
      const v = datasec?.type.vars.map((x) => btf!.get(x.type)).find((t) => t?.kind === 'var' && t.name === s.name);
      if (v && v.kind === 'var' && safeSize(btf!, v.type) === s.size) type = { btfType: v.type };
      const init = sec.type === SHT.NOBITS ? undefined : sec.data.slice(s.value, s.value + s.size);
      globals.push({
        name: s.name,
        section: sec.name,
        type,
        ...(init && init.some((b) => b !== 0) ? { init } : {}),
        offset: s.value,
        ...(s.bind === STB.LOCAL ? { linkage: 'static' as const } : {}),
      });
      list.push(s);
    }
    anonymous(sec, covered, size);
    kept.set(i, list);
  }
  return { globals, kept };
}

function safeSize(btf: Btf, id: number): number | undefined {
  try {
    return btf.sizeOf(id);
  } catch {
    return undefined;
  }
}
