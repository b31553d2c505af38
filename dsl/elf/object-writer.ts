/**
 * `writeObject(spec)`: an {@link ObjectSpec} as a relocatable eBPF ELF object in
 * libbpf conventions (what clang -target bpf emits, with the `.maps` and data
 * DATASECs carrying their true offsets and sizes):
 *
 * - programs in executable SEC-named sections, GLOBAL FUNC symbols (value =
 *   byte offset, size = byte length); subprograms in `.text` (LOCAL when static);
 * - references become relocations as described in `object-relocs.ts` (maps and
 *   globals `R_BPF_64_64`, calls `R_BPF_64_32`, kfuncs against undefined
 *   symbols with extern FUNCs in a `.ksyms` DATASEC);
 * - `.maps` with BTF map definitions and `.rel.maps` `R_BPF_64_ABS64` slots;
 * - `.rodata*`/`.data*`/`.bss*`, `license`, `version`, `.BTF`, `.BTF.ext`.
 *
 * Deterministic: the output depends only on the spec's content and order.
 * `layoutObject` exposes the intermediate results (BTF ids…) for the loader.
 */
import { assertObjectSpecShape } from './spec-shape.js';
import { assertGraphAcyclic } from '../btf/cycles.js';
import { BtfBuilder, encodeBtfWithExt, type Btf, type BtfExt, type BtfFuncInfo, type BtfLineInfo, type BtfTypeId } from '../btf/index.js';
import { encode } from '../isa/index.js';
import { ObjectError } from '../object/errors.js';
import { isBtfTypeRef, type MapSpec, type ObjectSpec, type TypeSpec } from '../object/spec.js';
import { typeSize } from '../object/types.js';
import { schemaToBtf } from '../types/index.js';
import { ElfBuilder, R_BPF, SHF, SHN, SHT, STB, STT, STV, writeElf, type ElfFile, type ElfRelocation, type ElfSymbol } from './file/index.js';
import { importBtfType } from './object-btf.js';
import { layoutCode, lineRecords, type Placed } from './object-code.js';
import { dataBytes, layoutGlobals } from './object-data.js';
import { SymbolNames } from './object-names.js';
import { relocateFunction } from './object-relocs.js';
import { encodeMapStruct } from './maps-btf.js';
import { ctxParamType } from './ctx-btf.js';

export { dataSectionKind } from './object-data.js';

const utf8 = new TextEncoder();

/** Serialises `spec` as an ELF object. */
export function writeObject(spec: ObjectSpec): Uint8Array {
  return writeElf(layoutObject(spec).elf);
}

/** The ELF container model of `spec` (what {@link writeObject} serialises). */
export function buildObjectElf(spec: ObjectSpec): ElfFile {
  return layoutObject(spec).elf;
}

/** Where one function landed. */
export interface PlacedFunction {
  readonly name: string;
  readonly section: string;
  /** Byte offset in its section and byte length. */
  readonly offset: number;
  readonly size: number;
  /** Its FUNC type id in `btf`. */
  readonly funcType: BtfTypeId;
}

/**
 * Everything the writer computed for a spec. The loader can use the BTF part
 * directly: `btf` (with the line-info strings) for BPF_BTF_LOAD, `functions`
 * for func_info, `maps` for btf_key/value_type_id, `datasecs` for the
 * global-data maps' value type.
 */
export interface ObjectLayout {
  readonly elf: ElfFile;
  /** The `.BTF` blob (its string table also holds the line-info strings). */
  readonly btf: Uint8Array;
  /** The `.BTF.ext` blob and its records (insn_off in bytes within each section). */
  readonly btfExt: Uint8Array;
  readonly ext: BtfExt;
  /** The types of `btf`, by id. */
  readonly btfGraph: Btf;
  readonly functions: readonly PlacedFunction[];
  /** Map name → definition struct, key and value type ids. */
  readonly maps: ReadonlyMap<string, { readonly struct: BtfTypeId; readonly keyType?: BtfTypeId; readonly valueType?: BtfTypeId }>;
  /** Data section name → DATASEC type id (also `.maps`, `license`, `.ksyms`). */
  readonly datasecs: ReadonlyMap<string, BtfTypeId>;
}

/** A map placed in `.maps`. */
interface PlacedMap {
  readonly m: MapSpec;
  readonly offset: number;
  /** Symbol size: the definition struct plus 8 bytes per initial slot. */
  readonly size: number;
  readonly structSize: number;
  readonly varId: BtfTypeId;
}

/** Lays out `spec` (code, data, BTF, relocations) without serialising it. */
export function layoutObject(spec: ObjectSpec): ObjectLayout {
  assertObjectSpecShape(spec);
  if (spec.btf) assertGraphAcyclic(spec.btf);
  if (typeof spec.license !== 'string' || spec.license.includes('\0')) throw new ObjectError('OBJECT_INVALID', 'license must be a string without NUL bytes');
  const names = new SymbolNames();
  names.claim('LICENSE', 'the license symbol');
  const code = layoutCode(spec, names);
  const dataSections = layoutGlobals(spec.globals ?? [], spec.btf, names);
  const maps = spec.maps ?? [];
  for (const m of maps) names.claim(m.name, 'map');
  const kfuncs = spec.kfuncs ?? [];
  for (const k of kfuncs) names.claim(k.name, 'kfunc');

  // ---- BTF -------------------------------------------------------------------
  const builder = new BtfBuilder();
  const memo = new Map<BtfTypeId, BtfTypeId>();
  const resolve = (t: TypeSpec, what: string): BtfTypeId => {
    if (typeof t === 'number') return builder.array(builder.int('unsigned char', 1), typeSize(t, spec.btf, what));
    if (isBtfTypeRef(t)) {
      if (!spec.btf) throw new ObjectError('OBJECT_INVALID', `${what}: refers to BTF type ${t.btfType} but the spec has no btf`);
      return importBtfType(builder, spec.btf, t.btfType, memo);
    }
    return schemaToBtf(builder, t);
  };
  const proto = (id: BtfTypeId, what: string): BtfTypeId => {
    const src = spec.btf?.get(id);
    if (!src || src.kind !== 'func_proto') throw new ObjectError('OBJECT_INVALID', `${what}: btfProto ${id} is not a FUNC_PROTO of the spec's btf`);
    return importBtfType(builder, spec.btf!, id, memo);
  };

  const mapTypes = new Map<string, { struct: BtfTypeId; keyType?: BtfTypeId; valueType?: BtfTypeId }>();
  const placedMaps: PlacedMap[] = [];
  let mapsSize = 0;
  for (const m of maps) {
    const values = m.values ?? [];
    if (!Array.isArray(values)) throw new ObjectError('OBJECT_INVALID', `map '${m.name}': values must be an array`);
    if (values.length > m.maxEntries) throw new ObjectError('OBJECT_INVALID', `map '${m.name}': ${values.length} initial values exceed maxEntries ${m.maxEntries}`);
    const st = encodeMapStruct(builder, m, `map '${m.name}'`, resolve, spec.btf, values.length > 0);
    mapTypes.set(m.name, { struct: st.id, ...(st.keyType !== undefined ? { keyType: st.keyType } : {}), ...(st.valueType !== undefined ? { valueType: st.valueType } : {}) });
    const size = st.size + values.length * 8;
    placedMaps.push({ m, offset: mapsSize, size, structSize: st.size, varId: builder.variable(m.name, st.id, 'global') });
    mapsSize += size;
  }

  const intId = builder.int('int', 4, 'signed');
  const funcTypeId = new Map<string, BtfTypeId>();
  for (const f of code.functions) {
    const p = f.btfProto !== undefined
      ? proto(f.btfProto, `function '${f.name}'`)
      : builder.funcProto(intId, f.entry ? [{ name: 'ctx', type: ctxParamType(builder, f.section) }] : []);
    funcTypeId.set(f.name, builder.func(f.name, p, f.linkage));
  }
  const kfuncIds = kfuncs.map((k) => builder.func(k.name, proto(k.btfProto, `kfunc '${k.name}'`), 'extern'));

  const licenseBytes = utf8.encode(`${spec.license}\0`);
  const datasecs: { name: string; size: number; vars: { type: BtfTypeId; offset: number; size: number }[] }[] = [];
  for (const sec of dataSections) {
    const vars = sec.vars.map((v) => ({
      type: builder.variable(v.g.name, resolve(v.g.type, `global '${v.g.name}'`), v.g.linkage === 'static' ? 'static' : 'global'),
      offset: v.offset,
      size: v.size,
    }));
    datasecs.push({ name: sec.name, size: sec.size, vars });
  }
  const licenseVar = builder.variable('LICENSE', builder.array(builder.int('char', 1, 'signed'), licenseBytes.length), 'global');
  if (maps.length) datasecs.push({ name: '.maps', size: mapsSize, vars: placedMaps.map((l) => ({ type: l.varId, offset: l.offset, size: l.size })) });
  datasecs.push({ name: 'license', size: licenseBytes.length, vars: [{ type: licenseVar, offset: 0, size: licenseBytes.length }] });
  if (kfuncIds.length) datasecs.push({ name: '.ksyms', size: 0, vars: kfuncIds.map((type) => ({ type, offset: 0, size: 0 })) });
  datasecs.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const datasecIds = new Map<string, BtfTypeId>();
  for (const d of datasecs) datasecIds.set(d.name, builder.datasec(d.name, d.size, d.vars));

  // ---- sections ------------------------------------------------------------------
  const elf = new ElfBuilder();
  const sectionIndex = new Map<string, number>();
  const codeBytes = new Map<string, Uint8Array>();
  for (const name of code.sections) {
    const data = new Uint8Array(code.sizes.get(name)!);
    codeBytes.set(name, data);
    sectionIndex.set(name, elf.addSection({ name, type: SHT.PROGBITS, flags: SHF.ALLOC | SHF.EXECINSTR, align: 8, data }));
  }
  for (const sec of dataSections) {
    const flags = sec.kind === 'rodata' ? SHF.ALLOC : SHF.ALLOC | SHF.WRITE;
    const index = sec.kind === 'bss'
      ? elf.addSection({ name: sec.name, type: SHT.NOBITS, flags, align: sec.align, data: new Uint8Array(0), size: sec.size })
      : elf.addSection({ name: sec.name, type: SHT.PROGBITS, flags, align: sec.align, data: dataBytes(sec) });
    sectionIndex.set(sec.name, index);
  }
  if (maps.length) sectionIndex.set('.maps', elf.addSection({ name: '.maps', type: SHT.PROGBITS, flags: SHF.ALLOC | SHF.WRITE, align: 8, data: new Uint8Array(mapsSize) }));
  sectionIndex.set('license', elf.addSection({ name: 'license', type: SHT.PROGBITS, flags: SHF.ALLOC | SHF.WRITE, align: 1, data: licenseBytes }));
  if (spec.kernelVersion !== undefined) {
    const v = new Uint8Array(4);
    new DataView(v.buffer).setUint32(0, spec.kernelVersion >>> 0, true);
    sectionIndex.set('version', elf.addSection({ name: 'version', type: SHT.PROGBITS, flags: SHF.ALLOC | SHF.WRITE, align: 4, data: v }));
  }

  // ---- symbols: section symbols and statics first, then globals ----------------------
  const symbols: ElfSymbol[] = [];
  const symIndex = new Map<string, number>();
  const sectionSym = new Map<string, number>();
  const sym = (s: Omit<ElfSymbol, 'visibility'>): number => symbols.push({ ...s, visibility: STV.DEFAULT });
  for (const name of [...code.sections, ...dataSections.map((d) => d.name)])
    sectionSym.set(name, sym({ name: '', value: 0, size: 0, bind: STB.LOCAL, type: STT.SECTION, shndx: sectionIndex.get(name)! }));
  const named = (name: string, section: string | undefined, type: number, bind: number, value: number, size: number) =>
    symIndex.set(name, sym({ name, value, size, bind, type, shndx: section === undefined ? SHN.UNDEF : sectionIndex.get(section)! }));
  const funcSym = (f: Placed, bind: number) => named(f.name, f.section, STT.FUNC, bind, f.offset, f.size);
  for (const f of code.functions) if (f.linkage === 'static') funcSym(f, STB.LOCAL);
  for (const sec of dataSections) for (const v of sec.vars) if (v.g.linkage === 'static') named(v.g.name, sec.name, STT.OBJECT, STB.LOCAL, v.offset, v.size);
  for (const f of code.functions) if (f.linkage === 'global') funcSym(f, STB.GLOBAL);
  for (const l of placedMaps) named(l.m.name, '.maps', STT.OBJECT, STB.GLOBAL, l.offset, l.size);
  for (const sec of dataSections) for (const v of sec.vars) if (v.g.linkage !== 'static') named(v.g.name, sec.name, STT.OBJECT, STB.GLOBAL, v.offset, v.size);
  named('LICENSE', 'license', STT.OBJECT, STB.GLOBAL, 0, licenseBytes.length);
  for (const k of kfuncs) named(k.name, undefined, STT.NOTYPE, STB.GLOBAL, 0, 0);
  for (const s of symbols) elf.addSymbol(s);

  // ---- code, relocations, func/line info ---------------------------------------------
  const targets = {
    maps: new Set(maps.map((m) => m.name)),
    globals: new Map(dataSections.flatMap((d) => d.vars.map((v) => [v.g.name, v.size] as const))),
    sections: new Map(dataSections.map((d) => [d.name, d.size] as const)),
    functions: new Map(code.functions.map((f) => [f.name, f] as const)),
    kfuncs: new Set(kfuncs.map((k) => k.name)),
    symbol: (name: string) => symIndex.get(name)!,
    sectionSymbol: (name: string) => sectionSym.get(name)!,
  };
  const rels = new Map<string, ElfRelocation[]>();
  const funcInfo = new Map<string, BtfFuncInfo[]>();
  const lineInfo = new Map<string, BtfLineInfo[]>();
  const anySource = code.functions.some((f) => f.insns.some((i) => i.meta?.source));
  for (const f of code.functions) {
    const { insns, rels: fRels } = relocateFunction(f, targets);
    let bytes: Uint8Array;
    try {
      bytes = encode(insns);
    } catch (e) {
      throw new ObjectError('OBJECT_INVALID', `function '${f.name}': ${(e as Error).message}`, { cause: e });
    }
    codeBytes.get(f.section)!.set(bytes, f.offset);
    push(rels, f.section, fRels);
    push(funcInfo, f.section, [{ insnOff: f.offset, typeId: funcTypeId.get(f.name)! }]);
    if (anySource) push(lineInfo, f.section, lineRecords(f));
  }

  // ---- .maps relocations (initial slots) -----------------------------------------------------
  const mapRels: ElfRelocation[] = [];
  for (const l of placedMaps) {
    (l.m.values ?? []).forEach((name, slot) => {
      if (name === null || name === undefined) return;
      const isProgArray = !l.m.innerMap;
      const ok = isProgArray ? spec.programs.some((p) => p.name === name) : targets.maps.has(name);
      if (!ok) throw new ObjectError('OBJECT_INVALID', `map '${l.m.name}' slot ${slot}: '${name}' is not a ${isProgArray ? 'program' : 'map'} of this object`);
      if (!isProgArray && name === l.m.name) throw new ObjectError('OBJECT_INVALID', `map '${l.m.name}' slot ${slot}: a map cannot contain itself`);
      mapRels.push({ offset: l.offset + l.structSize + slot * 8, symbol: symIndex.get(name)!, type: R_BPF['64_ABS64'] });
    });
  }

  // ---- BTF blobs, relocation sections ---------------------------------------------------------
  const ordered = <R>(m: Map<string, R[]>) => code.sections.filter((s) => m.get(s)?.length).map((s) => ({ section: s, records: m.get(s)! }));
  const ext: BtfExt = { funcInfo: ordered(funcInfo), lineInfo: ordered(lineInfo), coreRelos: [] };
  const btfGraph = builder.build();
  const blobs = encodeBtfWithExt(btfGraph, ext);
  elf.addSection({ name: '.BTF', type: SHT.PROGBITS, flags: 0, align: 4, data: blobs.btf });
  elf.addSection({ name: '.BTF.ext', type: SHT.PROGBITS, flags: 0, align: 4, data: blobs.ext });
  for (const name of code.sections) {
    const list = rels.get(name);
    if (list?.length) elf.addRelocations(sectionIndex.get(name)!, list.sort((a, b) => a.offset - b.offset));
  }
  if (mapRels.length) elf.addRelocations(sectionIndex.get('.maps')!, mapRels);
  return {
    elf: elf.build(),
    btf: blobs.btf,
    btfExt: blobs.ext,
    ext,
    btfGraph,
    functions: code.functions.map((f) => ({ name: f.name, section: f.section, offset: f.offset, size: f.size, funcType: funcTypeId.get(f.name)! })),
    maps: mapTypes,
    datasecs: datasecIds,
  };
}

/** Appends to the list under `key` (a loop, not a spread: lists can be huge). */
function push<T>(m: Map<string, T[]>, key: string, v: readonly T[]): void {
  let list = m.get(key);
  if (!list) m.set(key, (list = []));
  for (const x of v) list.push(x);
}
