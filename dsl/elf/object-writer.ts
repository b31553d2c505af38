/**
 * `writeObject(spec)`: an {@link ObjectSpec} as a relocatable eBPF ELF object in
 * libbpf conventions (what clang -target bpf emits, with the `.maps` and data
 * DATASECs carrying their true offsets and sizes):
 *
 * - programs in executable SEC-named sections, GLOBAL FUNC symbols (value =
 *   byte offset, size = byte length); subprograms in `.text`;
 * - `lddw` of maps / globals: `R_BPF_64_64` against the map or variable symbol
 *   (or a data section's symbol for section-relative refs), `src` 0 and the
 *   offset in the low immediate, as clang writes them;
 * - bpf-to-bpf calls: `R_BPF_64_32` against `.text`'s section symbol with
 *   `imm = target slot - 1` for static subprograms, against the function symbol
 *   with `imm = -1` for global ones (clang's two forms);
 * - kfunc calls: `R_BPF_64_32` against an undefined symbol, an extern FUNC in a
 *   `.ksyms` DATASEC (clang's form; libbpf resolves the BTF id);
 * - `.maps` with BTF map definitions and `.rel.maps` `R_BPF_64_ABS64` slots;
 * - `.rodata*`/`.data*`/`.bss*`, `license`, `.BTF`, `.BTF.ext`.
 *
 * Deterministic: the output depends only on the spec's content and order.
 */
import { BtfBuilder, encodeBtfWithExt, type Btf, type BtfExt, type BtfFuncInfo, type BtfLineInfo, type BtfTypeId } from '../btf/index.js';
import { assemble, encode, CallKind, Class, JmpOp, LDDW, PseudoSource, slots, type Instruction } from '../isa/index.js';
import { ObjectError } from '../object/errors.js';
import { isBtfTypeRef, type GlobalSpec, type MapSpec, type ObjectSpec, type TypeSpec } from '../object/spec.js';
import { typeAlign, typeSize } from '../object/types.js';
import { schemaToBtf } from '../types/index.js';
import { ElfBuilder, R_BPF, SHF, SHN, SHT, STB, STT, STV, writeElf, type ElfFile, type ElfRelocation, type ElfSymbol } from './file/index.js';
import { importBtfType } from './object-btf.js';
import { encodeMapStruct } from './maps-btf.js';

const CALL = Class.JMP | JmpOp.CALL;
const utf8 = new TextEncoder();

/** One function placed in a code section. */
interface Placed {
  readonly name: string;
  readonly section: string;
  readonly offset: number;
  readonly insns: Instruction[];
  readonly size: number;
  readonly entry: boolean;
  readonly linkage: 'static' | 'global';
  readonly btfProto?: BtfTypeId;
}

/** A data section being laid out. */
interface DataSection {
  readonly name: string;
  readonly vars: { readonly g: GlobalSpec; readonly offset: number; readonly size: number }[];
  size: number;
  align: number;
}

/** Kind of a data section by name, or undefined for other names. */
export function dataSectionKind(name: string): 'rodata' | 'data' | 'bss' | undefined {
  for (const k of ['rodata', 'data', 'bss'] as const) if (name === `.${k}` || name.startsWith(`.${k}.`)) return k;
  return undefined;
}

const RESERVED = new Set(['.text', '.maps', 'license', 'version', '.BTF', '.BTF.ext', '.symtab', '.strtab', '.shstrtab', 'maps']);

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
 * directly: `btf` (with the line-info strings) for BPF_BTF_LOAD, `funcs` for
 * func_info, `maps` for btf_key/value_type_id, `datasecs` for the global-data
 * maps' value type.
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
  /** Data section name → DATASEC type id (also `.maps` and `license`). */
  readonly datasecs: ReadonlyMap<string, BtfTypeId>;
}

/** Lays out `spec` (code, data, BTF, relocations) without serialising it. */
export function layoutObject(spec: ObjectSpec): ObjectLayout {
  const maps = spec.maps ?? [];
  const globals = spec.globals ?? [];
  const subprograms = spec.subprograms ?? [];
  const names = new Map<string, string>();
  const claim = (name: string, what: string) => {
    if (typeof name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_.]*$/.test(name)) throw new ObjectError('OBJECT_INVALID', `${what} name ${JSON.stringify(name)} is not a valid symbol name`);
    const prev = names.get(name);
    if (prev) throw new ObjectError('OBJECT_INVALID', `${what} '${name}' has the same name as ${prev}`);
    names.set(name, `${what} '${name}'`);
  };
  if (typeof spec.license !== 'string' || spec.license.includes('\0')) throw new ObjectError('OBJECT_INVALID', 'license must be a string without NUL bytes');
  claim('LICENSE', 'the license symbol');

  // ---- code layout -------------------------------------------------------
  const sectionOrder: string[] = [];
  const sectionSize = new Map<string, number>();
  const placed: Placed[] = [];
  const place = (name: string, section: string, instructions: readonly Instruction[], entry: boolean, linkage: 'static' | 'global', btfProto?: BtfTypeId) => {
    if (!Array.isArray(instructions) || instructions.length === 0) throw new ObjectError('OBJECT_INVALID', `function '${name}' has no instructions`);
    let insns: Instruction[];
    try {
      insns = assemble(instructions);
    } catch (e) {
      throw new ObjectError('OBJECT_INVALID', `function '${name}': ${(e as Error).message}`, { cause: e });
    }
    insns.forEach((i, k) => {
      // A call resolved inside one function would be a subprogram without func_info, which the kernel rejects.
      const internal = !i.meta?.ref && ((i.opcode === CALL && i.src === CallKind.PSEUDO_CALL) || (i.opcode === LDDW && i.src === PseudoSource.FUNC));
      if (internal) throw new ObjectError('OBJECT_INVALID', `function '${name}' instruction ${k}: bpf-to-bpf calls must name a subprogram (callFunc('name')), not a label or offset inside the function`);
    });
    if (!sectionSize.has(section)) {
      sectionOrder.push(section);
      sectionSize.set(section, 0);
    }
    const offset = sectionSize.get(section)!;
    let size = 0;
    for (const i of insns) size += slots(i) * 8;
    sectionSize.set(section, offset + size);
    placed.push({ name, section, offset, insns, size, entry, linkage, ...(btfProto !== undefined ? { btfProto } : {}) });
  };
  for (const s of subprograms) {
    claim(s.name, 'subprogram');
    const linkage = s.linkage ?? 'static';
    if (linkage !== 'static' && linkage !== 'global') throw new ObjectError('OBJECT_INVALID', `subprogram '${s.name}': unknown linkage '${String(linkage)}'`);
    place(s.name, '.text', s.instructions, false, linkage, s.btfProto);
  }
  for (const p of spec.programs) {
    claim(p.name, 'program');
    if (typeof p.section !== 'string' || p.section === '' || p.section.includes('\0') || RESERVED.has(p.section) || p.section.startsWith('.rel') || dataSectionKind(p.section))
      throw new ObjectError('OBJECT_INVALID', `program '${p.name}': section name ${JSON.stringify(p.section)} is not usable for code`);
    place(p.name, p.section, p.instructions, true, 'global', p.btfProto);
  }
  const byName = new Map(placed.map((f) => [f.name, f]));

  // ---- data layout --------------------------------------------------------
  const dataSections: DataSection[] = [];
  const globalByName = new Map<string, { sec: DataSection; offset: number; size: number; g: GlobalSpec }>();
  for (const g of globals) {
    claim(g.name, 'global');
    const kind = dataSectionKind(g.section);
    if (!kind) throw new ObjectError('OBJECT_INVALID', `global '${g.name}': section '${g.section}' is not .rodata*, .data* or .bss*`);
    let sec = dataSections.find((d) => d.name === g.section);
    if (!sec) dataSections.push((sec = { name: g.section, vars: [], size: 0, align: 1 }));
    const size = typeSize(g.type, spec.btf, `global '${g.name}'`);
    const align = typeAlign(g.type, spec.btf, `global '${g.name}'`);
    const offset = g.offset ?? Math.ceil(sec.size / align) * align;
    if (!Number.isInteger(offset) || offset < 0) throw new ObjectError('OBJECT_INVALID', `global '${g.name}': bad offset ${offset}`);
    for (const v of sec.vars)
      if (offset < v.offset + v.size && v.offset < offset + size)
        throw new ObjectError('OBJECT_INVALID', `global '${g.name}' (${offset}..${offset + size}) overlaps '${v.g.name}' in ${g.section}`);
    if (g.init && (!(g.init instanceof Uint8Array) || g.init.length > size)) throw new ObjectError('OBJECT_INVALID', `global '${g.name}': init must be a Uint8Array of at most ${size} bytes`);
    if (kind === 'bss' && g.init?.some((b) => b !== 0)) throw new ObjectError('OBJECT_INVALID', `global '${g.name}': .bss variables cannot have non-zero initial bytes`);
    sec.vars.push({ g, offset, size });
    sec.size = Math.max(sec.size, offset + size);
    sec.align = Math.max(sec.align, align);
    globalByName.set(g.name, { sec, offset, size, g });
  }
  for (const m of maps) claim(m.name, 'map');
  const mapByName = new Map(maps.map((m) => [m.name, m]));

  // ---- BTF: maps ----------------------------------------------------------
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
  const mapTypes = new Map<string, { struct: BtfTypeId; keyType?: BtfTypeId; valueType?: BtfTypeId }>();
  const mapLayout: { m: MapSpec; offset: number; size: number; structSize: number; varId: BtfTypeId }[] = [];
  let mapsSize = 0;
  for (const m of maps) {
    const values = m.values ?? [];
    if (!Array.isArray(values)) throw new ObjectError('OBJECT_INVALID', `map '${m.name}': values must be an array`);
    if (values.length > m.maxEntries) throw new ObjectError('OBJECT_INVALID', `map '${m.name}': ${values.length} initial values exceed maxEntries ${m.maxEntries}`);
    const st = encodeMapStruct(builder, m, `map '${m.name}'`, resolve, spec.btf, values.length > 0);
    mapTypes.set(m.name, { struct: st.id, ...(st.keyType !== undefined ? { keyType: st.keyType } : {}), ...(st.valueType !== undefined ? { valueType: st.valueType } : {}) });
    const varId = builder.variable(m.name, st.id, 'global');
    const size = st.size + values.length * 8;
    mapLayout.push({ m, offset: mapsSize, size, structSize: st.size, varId });
    mapsSize += size;
  }

  // ---- BTF: functions -----------------------------------------------------
  const intId = builder.int('int', 4, 'signed');
  const funcTypeId = new Map<string, BtfTypeId>();
  for (const f of placed) {
    let proto: BtfTypeId;
    if (f.btfProto !== undefined) {
      const src = spec.btf?.get(f.btfProto);
      if (!src || src.kind !== 'func_proto') throw new ObjectError('OBJECT_INVALID', `function '${f.name}': btfProto ${f.btfProto} is not a FUNC_PROTO of the spec's btf`);
      proto = importBtfType(builder, spec.btf!, f.btfProto, memo);
    } else {
      proto = f.entry ? builder.funcProto(intId, [{ name: 'ctx', type: builder.ptr(0) }]) : builder.funcProto(intId, []);
    }
    funcTypeId.set(f.name, builder.func(f.name, proto, f.linkage));
  }

  // ---- BTF: kfuncs (extern FUNCs in a .ksyms DATASEC, as clang emits them) -----
  const kfuncs = spec.kfuncs ?? [];
  const kfuncIds: BtfTypeId[] = [];
  for (const k of kfuncs) {
    claim(k.name, 'kfunc');
    const src = spec.btf?.get(k.btfProto);
    if (!src || src.kind !== 'func_proto') throw new ObjectError('OBJECT_INVALID', `kfunc '${k.name}': btfProto ${k.btfProto} is not a FUNC_PROTO of the spec's btf`);
    kfuncIds.push(builder.func(k.name, importBtfType(builder, spec.btf!, k.btfProto, memo), 'extern'));
  }

  // ---- BTF: globals, license, datasecs --------------------------------------
  const globalVarId = new Map<string, BtfTypeId>();
  for (const sec of dataSections)
    for (const v of sec.vars) globalVarId.set(v.g.name, builder.variable(v.g.name, resolve(v.g.type, `global '${v.g.name}'`), v.g.linkage === 'static' ? 'static' : 'global'));
  const licenseBytes = utf8.encode(`${spec.license}\0`);
  const licenseVar = builder.variable('LICENSE', builder.array(builder.int('char', 1, 'signed'), licenseBytes.length), 'global');
  const datasecs: { name: string; size: number; vars: { type: BtfTypeId; offset: number; size: number }[] }[] = [];
  for (const sec of dataSections)
    datasecs.push({ name: sec.name, size: sec.size, vars: sec.vars.map((v) => ({ type: globalVarId.get(v.g.name)!, offset: v.offset, size: v.size })) });
  if (maps.length) datasecs.push({ name: '.maps', size: mapsSize, vars: mapLayout.map((l) => ({ type: l.varId, offset: l.offset, size: l.size })) });
  datasecs.push({ name: 'license', size: licenseBytes.length, vars: [{ type: licenseVar, offset: 0, size: licenseBytes.length }] });
  if (kfuncIds.length) datasecs.push({ name: '.ksyms', size: 0, vars: kfuncIds.map((type) => ({ type, offset: 0, size: 0 })) });
  datasecs.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const datasecIds = new Map<string, BtfTypeId>();
  for (const d of datasecs) datasecIds.set(d.name, builder.datasec(d.name, d.size, d.vars));

  // ---- ELF sections -----------------------------------------------------------
  const elf = new ElfBuilder();
  const sectionIndex = new Map<string, number>();
  const codeBytes = new Map<string, Uint8Array>();
  for (const name of sectionOrder) {
    const data = new Uint8Array(sectionSize.get(name)!);
    codeBytes.set(name, data);
    sectionIndex.set(name, elf.addSection({ name, type: SHT.PROGBITS, flags: SHF.ALLOC | SHF.EXECINSTR, align: 8, data }));
  }
  for (const sec of dataSections) {
    const kind = dataSectionKind(sec.name)!;
    const flags = kind === 'rodata' ? SHF.ALLOC : SHF.ALLOC | SHF.WRITE;
    if (kind === 'bss') {
      sectionIndex.set(sec.name, elf.addSection({ name: sec.name, type: SHT.NOBITS, flags, align: sec.align, data: new Uint8Array(0), size: sec.size }));
    } else {
      const data = new Uint8Array(sec.size);
      for (const v of sec.vars) if (v.g.init) data.set(v.g.init, v.offset);
      sectionIndex.set(sec.name, elf.addSection({ name: sec.name, type: SHT.PROGBITS, flags, align: sec.align, data }));
    }
  }
  if (maps.length) sectionIndex.set('.maps', elf.addSection({ name: '.maps', type: SHT.PROGBITS, flags: SHF.ALLOC | SHF.WRITE, align: 8, data: new Uint8Array(mapsSize) }));
  sectionIndex.set('license', elf.addSection({ name: 'license', type: SHT.PROGBITS, flags: SHF.ALLOC | SHF.WRITE, align: 1, data: licenseBytes }));
  if (spec.kernelVersion !== undefined) {
    const v = new Uint8Array(4);
    new DataView(v.buffer).setUint32(0, spec.kernelVersion >>> 0, true);
    sectionIndex.set('version', elf.addSection({ name: 'version', type: SHT.PROGBITS, flags: SHF.ALLOC | SHF.WRITE, align: 4, data: v }));
  }

  // ---- symbols ------------------------------------------------------------------
  const symbols: ElfSymbol[] = [];
  const sym = (s: Omit<ElfSymbol, 'visibility'>) => symbols.push({ ...s, visibility: STV.DEFAULT });
  const sectionSym = new Map<string, number>();
  for (const name of [...sectionOrder, ...dataSections.map((d) => d.name)]) {
    sym({ name: '', value: 0, size: 0, bind: STB.LOCAL, type: STT.SECTION, shndx: sectionIndex.get(name)! });
    sectionSym.set(name, symbols.length);
  }
  const symIndex = new Map<string, number>();
  const funcSym = (f: Placed, bind: number) => {
    sym({ name: f.name, value: f.offset, size: f.size, bind, type: STT.FUNC, shndx: sectionIndex.get(f.section)! });
    symIndex.set(f.name, symbols.length);
  };
  const varSym = (name: string, sec: string, offset: number, size: number, bind: number) => {
    sym({ name, value: offset, size, bind, type: STT.OBJECT, shndx: sectionIndex.get(sec)! });
    symIndex.set(name, symbols.length);
  };
  for (const f of placed) if (f.linkage === 'static') funcSym(f, STB.LOCAL);
  for (const sec of dataSections) for (const v of sec.vars) if (v.g.linkage === 'static') varSym(v.g.name, sec.name, v.offset, v.size, STB.LOCAL);
  for (const f of placed) if (f.linkage === 'global') funcSym(f, STB.GLOBAL);
  for (const l of mapLayout) varSym(l.m.name, '.maps', l.offset, l.size, STB.GLOBAL);
  for (const sec of dataSections) for (const v of sec.vars) if (v.g.linkage !== 'static') varSym(v.g.name, sec.name, v.offset, v.size, STB.GLOBAL);
  varSym('LICENSE', 'license', 0, licenseBytes.length, STB.GLOBAL);
  for (const k of kfuncs) {
    sym({ name: k.name, value: 0, size: 0, bind: STB.GLOBAL, type: STT.NOTYPE, shndx: SHN.UNDEF });
    symIndex.set(k.name, symbols.length);
  }
  for (const s of symbols) elf.addSymbol(s);

  // ---- code, relocations, func/line info ---------------------------------------------
  const rels = new Map<string, ElfRelocation[]>();
  const funcInfo = new Map<string, BtfFuncInfo[]>();
  const lineInfo = new Map<string, BtfLineInfo[]>();
  const anySource = placed.some((f) => f.insns.some((i) => i.meta?.source));
  for (const f of placed) {
    const pos = slotPositions(f.insns);
    const relList = rels.get(f.section) ?? [];
    rels.set(f.section, relList);
    const patched = f.insns.map((insn, index) => {
      const ref = insn.meta?.ref;
      if (!ref || ref.kind === 'label') return insn;
      const at = f.offset + pos[index]! * 8;
      const where = `function '${f.name}' instruction ${index}`;
      const lddw = insn.opcode === LDDW;
      switch (ref.kind) {
        case 'map': {
          if (!lddw || (insn.src !== PseudoSource.MAP_FD && insn.src !== PseudoSource.IMM64))
            throw new ObjectError('OBJECT_INVALID', `${where}: map reference '${ref.name}' must be on a map-fd lddw (an ELF object cannot express a map value address; use a global)`);
          if (!mapByName.has(ref.name)) throw new ObjectError('OBJECT_INVALID', `${where}: unknown map '${ref.name}'`);
          relList.push({ offset: at, symbol: symIndex.get(ref.name)!, type: R_BPF['64_64'] });
          return { ...insn, src: 0, imm: 0, imm64: 0n };
        }
        case 'global': {
          if (!lddw) throw new ObjectError('OBJECT_INVALID', `${where}: global reference '${ref.name}' must be on an lddw`);
          const g = globalByName.get(ref.name);
          const sec = g ? undefined : dataSections.find((d) => d.name === ref.name);
          const limit = g ? g.size : sec?.size;
          if (limit === undefined) throw new ObjectError('OBJECT_INVALID', `${where}: unknown global '${ref.name}'`);
          if (!Number.isInteger(ref.offset) || ref.offset < 0 || ref.offset > limit)
            throw new ObjectError('OBJECT_INVALID', `${where}: offset ${ref.offset} is outside '${ref.name}' (${limit} bytes)`);
          relList.push({ offset: at, symbol: g ? symIndex.get(ref.name)! : sectionSym.get(ref.name)!, type: R_BPF['64_64'] });
          return { ...insn, src: 0, imm: ref.offset | 0, imm64: BigInt(ref.offset) };
        }
        case 'call': {
          const target = byName.get(ref.name);
          if (!target || target.section !== '.text')
            throw new ObjectError('OBJECT_INVALID', `${where}: call target '${ref.name}' is not a subprogram of this object`);
          const isCall = insn.opcode === CALL && insn.src === CallKind.PSEUDO_CALL;
          const isAddr = lddw && insn.src === PseudoSource.FUNC;
          if (!isCall && !isAddr) throw new ObjectError('OBJECT_INVALID', `${where}: call reference '${ref.name}' on an instruction that is neither a call nor a function-address lddw`);
          if (isAddr) {
            relList.push({ offset: at, symbol: sectionSym.get('.text')!, type: R_BPF['64_64'] });
            return { ...insn, imm: target.offset, imm64: BigInt(target.offset) };
          }
          if (target.linkage === 'global') {
            relList.push({ offset: at, symbol: symIndex.get(ref.name)!, type: R_BPF['64_32'] });
            return { ...insn, imm: -1 };
          }
          relList.push({ offset: at, symbol: sectionSym.get('.text')!, type: R_BPF['64_32'] });
          return { ...insn, imm: target.offset / 8 - 1 };
        }
        case 'kfunc': {
          if (insn.opcode !== CALL) throw new ObjectError('OBJECT_INVALID', `${where}: kfunc reference '${ref.name}' on an instruction that is not a call`);
          if (!kfuncs.some((k) => k.name === ref.name)) throw new ObjectError('OBJECT_INVALID', `${where}: kfunc '${ref.name}' has no prototype in the spec's kfuncs (libbpf checks it against the kernel's BTF)`);
          relList.push({ offset: at, symbol: symIndex.get(ref.name)!, type: R_BPF['64_32'] });
          // clang's form: a pseudo call to the undefined symbol; libbpf turns it into a kfunc call.
          return { ...insn, src: CallKind.PSEUDO_CALL, imm: -1 };
        }
        default:
          throw new ObjectError('OBJECT_UNSUPPORTED', `${where}: ${(ref as { kind: string }).kind} reference cannot be written to an ELF object`);
      }
    });
    let bytes: Uint8Array;
    try {
      bytes = encode(patched);
    } catch (e) {
      throw new ObjectError('OBJECT_INVALID', `function '${f.name}': ${(e as Error).message}`, { cause: e });
    }
    codeBytes.get(f.section)!.set(bytes, f.offset);
    push(funcInfo, f.section, { insnOff: f.offset, typeId: funcTypeId.get(f.name)! });
    if (anySource) {
      let prev: string | undefined;
      const firstSource = f.insns.find((i) => i.meta?.source)?.meta?.source;
      f.insns.forEach((insn, index) => {
        let src = insn.meta?.source;
        if (!src && index === 0) src = firstSource ?? { file: '', line: 0, column: 0, text: '' };
        if (!src) return;
        const key = `${src.file}\0${src.line}\0${src.column}\0${src.text ?? ''}`;
        if (key === prev) return;
        prev = key;
        if (!(Number.isInteger(src.line) && src.line >= 0 && src.line < 1 << 22)) throw new ObjectError('OBJECT_INVALID', `function '${f.name}' instruction ${index}: line ${src.line} does not fit line_info (22 bits)`);
        const column = Number.isInteger(src.column) && src.column >= 0 && src.column < 1024 ? src.column : 0;
        push(lineInfo, f.section, { insnOff: f.offset + pos[index]! * 8, fileName: src.file, line: src.text ?? '', lineNum: src.line, column });
      });
    }
  }

  // ---- .maps relocations (initial slots) -----------------------------------------------------
  const mapRels: ElfRelocation[] = [];
  for (const l of mapLayout) {
    (l.m.values ?? []).forEach((name, slot) => {
      if (name === null || name === undefined) return;
      const isProgArray = !l.m.innerMap;
      const ok = isProgArray ? spec.programs.some((p) => p.name === name) : mapByName.has(name);
      if (!ok) throw new ObjectError('OBJECT_INVALID', `map '${l.m.name}' slot ${slot}: '${name}' is not a ${isProgArray ? 'program' : 'map'} of this object`);
      if (!isProgArray && name === l.m.name) throw new ObjectError('OBJECT_INVALID', `map '${l.m.name}' slot ${slot}: a map cannot contain itself`);
      mapRels.push({ offset: l.offset + l.structSize + slot * 8, symbol: symIndex.get(name)!, type: R_BPF['64_ABS64'] });
    });
  }

  // ---- BTF blobs ---------------------------------------------------------------------------
  const ordered = (m: Map<string, readonly unknown[]>) => sectionOrder.filter((s) => m.has(s)).map((s) => ({ section: s, records: m.get(s)! }));
  const ext: BtfExt = {
    funcInfo: ordered(funcInfo) as BtfExt['funcInfo'],
    lineInfo: ordered(lineInfo) as BtfExt['lineInfo'],
    coreRelos: [],
  };
  const btfGraph = builder.build();
  const blobs = encodeBtfWithExt(btfGraph, ext);
  elf.addSection({ name: '.BTF', type: SHT.PROGBITS, flags: 0, align: 4, data: blobs.btf });
  elf.addSection({ name: '.BTF.ext', type: SHT.PROGBITS, flags: 0, align: 4, data: blobs.ext });

  for (const name of sectionOrder) {
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
    functions: placed.map((f) => ({ name: f.name, section: f.section, offset: f.offset, size: f.size, funcType: funcTypeId.get(f.name)! })),
    maps: mapTypes,
    datasecs: datasecIds,
  };
}

function push<T>(m: Map<string, T[]>, key: string, v: T): void {
  const list = m.get(key);
  if (list) list.push(v);
  else m.set(key, [v]);
}

/** Slot index of every instruction within `insns`. */
function slotPositions(insns: readonly Instruction[]): number[] {
  const out: number[] = [];
  let n = 0;
  for (const i of insns) {
    out.push(n);
    n += slots(i);
  }
  return out;
}
