/**
 * `readObject(bytes)`: a relocatable eBPF ELF object (from clang or from
 * `writeObject`) back into an {@link ObjectSpec}. Programs are split by FUNC
 * symbols, relocations become symbolic references on instructions, `.maps` BTF
 * becomes map definitions (inner maps and initial `values` included), data
 * sections become globals, and func/line info goes back onto instructions.
 *
 * Nothing is dropped silently: content that is understood but not kept (DWARF,
 * address-significance tables, bytes outside any symbol…) is listed in
 * `ignored`; content whose loss would change behaviour (CO-RE relocations,
 * extern variables, the legacy `maps` section, unknown relocation types) is an
 * `OBJECT_UNSUPPORTED` error. kfunc calls become `kfunc` references with their
 * prototypes in `kfuncs`. Malformed input raises typed errors only.
 */
import { decodeBtf, decodeBtfExt, hasCoreRelos, type Btf, type BtfExt } from '../btf/index.js';
import { CallKind, Class, JmpOp, LDDW, PseudoSource, decode, slots, type Instruction, type SourceLocation } from '../isa/index.js';
import { TsbpfError } from '../errors.js';
import { ObjectError } from '../object/errors.js';
import type { GlobalSpec, IgnoredItem, MapSpec, ObjectSpec, ProgramSpec, SubprogramSpec, TypeSpec } from '../object/spec.js';
import { EM_BPF, ET, R_BPF, SHF, SHN, SHT, STB, STT, readElf, readRelocations, readSymbols, type ElfFile, type ElfSymbol } from './file/index.js';
import { decodeMapStruct } from './maps-btf.js';
import { dataSectionKind } from './object-writer.js';

/** Options of {@link readObject}. */
export interface ReadObjectOptions {
  /**
   * Report CO-RE relocation records in `ignored` instead of failing. The
   * programs are then NOT relocated for the running kernel; only for inspection.
   */
  readonly ignoreCoreRelos?: boolean;
}

/** A function read from a code section. */
interface ReadFunc {
  readonly name: string;
  readonly section: number;
  readonly offset: number;
  readonly size: number;
  readonly bind: number;
  insns: Instruction[];
  /** Byte offset (relative to the function) → instruction index. */
  readonly at: Map<number, number>;
  btfProto?: number;
}

const CALL = Class.JMP | JmpOp.CALL;
const DROPPED_SECTION = /^(\.debug_|\.rel\.debug_|\.llvm_addrsig$|\.comment$|\.note\.|\.BTF\.ext$|\.rel\.BTF)/;

/** Reads an ELF object into an ObjectSpec; see the module comment. */
export function readObject(bytes: Uint8Array, options: ReadObjectOptions = {}): ObjectSpec {
  try {
    return readObjectUnchecked(bytes, options);
  } catch (e) {
    if (e instanceof TsbpfError) throw e;
    // A bug must still surface as a typed error, with its origin kept.
    throw new ObjectError('OBJECT_INTERNAL', `internal error while reading the object: ${(e as Error)?.message ?? String(e)}`, { cause: e });
  }
}

function readObjectUnchecked(bytes: Uint8Array, options: ReadObjectOptions): ObjectSpec {
  const file = readElf(bytes);
  if (file.machine !== EM_BPF) throw new ObjectError('OBJECT_MALFORMED', `e_machine ${file.machine} is not EM_BPF (247)`);
  if (file.type !== ET.REL) throw new ObjectError('OBJECT_MALFORMED', `e_type ${file.type} is not ET_REL (a relocatable object)`);
  const ignored: IgnoredItem[] = [];
  const unsupported = (msg: string): never => {
    throw new ObjectError('OBJECT_UNSUPPORTED', msg);
  };
  const syms = readSymbols(file);
  const secs = file.sections;
  const secName = (i: number) => secs[i]?.name ?? `#${i}`;
  const sectionByName = (name: string) => {
    const i = secs.findIndex((s, k) => k > 0 && s.name === name);
    return i < 0 ? undefined : i;
  };

  // ---- BTF -------------------------------------------------------------------
  const btfIndex = sectionByName('.BTF');
  const btf: Btf | undefined = btfIndex !== undefined ? decodeBtf(secs[btfIndex]!.data) : undefined;
  const extIndex = sectionByName('.BTF.ext');
  let ext: BtfExt | undefined;
  if (extIndex !== undefined) {
    if (!btf) throw new ObjectError('OBJECT_MALFORMED', '.BTF.ext without .BTF');
    ext = decodeBtfExt(secs[extIndex]!.data, btf);
    if (hasCoreRelos(ext)) {
      const n = ext.coreRelos.reduce((k, s) => k + s.records.length, 0);
      if (!options.ignoreCoreRelos) unsupported(`.BTF.ext has ${n} CO-RE relocations, which this reader does not apply`);
      ignored.push({ what: '.BTF.ext core_relo', reason: `${n} CO-RE relocations not applied (ignoreCoreRelos)` });
    }
  }

  // ---- classify sections --------------------------------------------------------
  const code: number[] = [];
  const data: number[] = [];
  let mapsIndex: number | undefined;
  let license = '';
  let kernelVersion: number | undefined;
  const relOf = new Map<number, number>();
  secs.forEach((s, i) => {
    if (i === 0) return;
    if (s.type === SHT.REL) {
      if (s.info === 0 || s.info >= secs.length) throw new ObjectError('OBJECT_MALFORMED', `relocation section ${s.name} targets section ${s.info}, which does not exist`);
      if (relOf.has(s.info)) throw new ObjectError('OBJECT_MALFORMED', `section ${secName(s.info)} has two relocation sections`);
      relOf.set(s.info, i);
      return;
    }
    if (s.type === SHT.RELA) unsupported(`RELA section ${s.name}: BPF objects use REL`);
    if (s.type === SHT.SYMTAB || s.type === SHT.STRTAB || i === btfIndex || i === extIndex) return;
    if (s.type === SHT.PROGBITS && (s.flags & SHF.EXECINSTR) !== 0) {
      if (s.data.length % 8 !== 0) throw new ObjectError('OBJECT_MALFORMED', `code section ${s.name} is ${s.data.length} bytes, not a multiple of 8`);
      code.push(i);
    } else if (s.name === '.maps') {
      mapsIndex = i;
    } else if (dataSectionKind(s.name) && (s.type === SHT.PROGBITS || s.type === SHT.NOBITS)) {
      data.push(i);
    } else if (s.name === 'license') {
      const end = s.data.indexOf(0);
      if (end < 0) throw new ObjectError('OBJECT_MALFORMED', 'license section is not NUL-terminated');
      license = new TextDecoder().decode(s.data.subarray(0, end));
    } else if (s.name === 'version') {
      if (s.data.length !== 4) throw new ObjectError('OBJECT_MALFORMED', `version section is ${s.data.length} bytes, not 4`);
      kernelVersion = new DataView(s.data.buffer, s.data.byteOffset, 4).getUint32(0, true);
    } else if (s.name === 'maps') {
      unsupported("legacy 'maps' section (struct bpf_map_def): use BTF-defined maps in '.maps'");
    } else if (DROPPED_SECTION.test(s.name) || s.type === SHT.LLVM_ADDRSIG) {
      ignored.push({ what: `section ${s.name}`, reason: 'debug/auxiliary data not kept (BTF carries types and line info)' });
    } else if (s.type !== SHT.NULL) {
      ignored.push({ what: `section ${s.name}`, reason: `section type ${s.type} with no BPF meaning` });
    }
  });
  for (const [target, rel] of relOf) {
    const t = secs[target]!;
    const handled = code.includes(target) || target === mapsIndex;
    if (!handled) {
      const rels = readRelocations(secs[rel]!.data);
      if (rels.length > 0 && !DROPPED_SECTION.test(t.name)) {
        if (dataSectionKind(t.name)) unsupported(`relocations in data section ${t.name} (pointers in global data) are not supported`);
        const why = target === btfIndex || target === extIndex ? 'offsets in BTF are recomputed from the symbols' : 'relocations of a section that is not kept';
        ignored.push({ what: `section ${secs[rel]!.name}`, reason: `${rels.length} ${why}` });
      }
    }
  }
  const symbolAt = (index: number, where: string): ElfSymbol => {
    const s = syms[index];
    if (!s || index === 0) throw new ObjectError('OBJECT_MALFORMED', `${where}: symbol index ${index} is not in the symbol table (${syms.length} entries)`);
    return s;
  };
  const checkSymbolRange = (s: ElfSymbol, what: string) => {
    const sec = secs[s.shndx];
    if (!sec) throw new ObjectError('OBJECT_MALFORMED', `${what} '${s.name}' is in section ${s.shndx}, which does not exist`);
    const size = sec.type === SHT.NOBITS ? (sec.size ?? 0) : sec.data.length;
    if (s.value + s.size > size) throw new ObjectError('OBJECT_MALFORMED', `${what} '${s.name}' (${s.value}+${s.size}) runs past the end of ${sec.name} (${size} bytes)`);
  };

  // ---- functions ------------------------------------------------------------------------
  const funcs: ReadFunc[] = [];
  const funcsBySection = new Map<number, ReadFunc[]>();
  for (const i of code) {
    const sec = secs[i]!;
    const list = syms
      .filter((s, k) => k > 0 && s.type === STT.FUNC && s.shndx === i)
      .sort((a, b) => a.value - b.value || a.size - b.size);
    const kept: ReadFunc[] = [];
    let covered = 0;
    for (const s of list) {
      checkSymbolRange(s, 'function');
      if (s.value % 8 !== 0 || s.size % 8 !== 0 || s.size === 0) throw new ObjectError('OBJECT_MALFORMED', `function '${s.name}' in ${sec.name}: offset ${s.value} / size ${s.size} are not positive multiples of 8`);
      if (s.value < covered) throw new ObjectError('OBJECT_MALFORMED', `function '${s.name}' in ${sec.name} overlaps the previous function`);
      if (s.value > covered) ignored.push({ what: `${sec.name} bytes ${covered}..${s.value}`, reason: 'code outside any function symbol' });
      covered = s.value + s.size;
      let insns: Instruction[];
      try {
        insns = decode(sec.data.subarray(s.value, s.value + s.size));
      } catch (e) {
        throw new ObjectError('OBJECT_MALFORMED', `function '${s.name}' in ${sec.name}: ${(e as Error).message}`, { cause: e });
      }
      const at = new Map<number, number>();
      let pos = 0;
      insns.forEach((insn, k) => {
        at.set(pos, k);
        pos += slots(insn) * 8;
      });
      const f: ReadFunc = { name: s.name, section: i, offset: s.value, size: s.size, bind: s.bind, insns, at };
      kept.push(f);
      funcs.push(f);
    }
    if (covered < sec.data.length) ignored.push({ what: `${sec.name} bytes ${covered}..${sec.data.length}`, reason: 'code outside any function symbol' });
    funcsBySection.set(i, kept);
  }
  const names = new Set<string>();
  for (const f of funcs) {
    if (names.has(f.name)) throw new ObjectError('OBJECT_MALFORMED', `two functions are named '${f.name}'`);
    names.add(f.name);
  }
  const locate = (section: number, offset: number, what: string): { f: ReadFunc; index: number } => {
    const f = (funcsBySection.get(section) ?? []).find((g) => offset >= g.offset && offset < g.offset + g.size);
    const index = f?.at.get(offset - f.offset);
    if (!f || index === undefined) throw new ObjectError('OBJECT_MALFORMED', `${what}: offset ${offset} in ${secName(section)} is not the start of an instruction of any function`);
    return { f, index };
  };
  const funcStartingAt = (section: number, offset: number, what: string): ReadFunc => {
    const f = (funcsBySection.get(section) ?? []).find((g) => g.offset === offset);
    if (!f) throw new ObjectError('OBJECT_MALFORMED', `${what}: no function starts at offset ${offset} of ${secName(section)}`);
    return f;
  };

  // ---- maps (symbols first: code relocations refer to them) ---------------------------------
  const mapSyms = mapsIndex === undefined ? [] : syms.filter((s, k) => k > 0 && s.shndx === mapsIndex && s.type === STT.OBJECT).sort((a, b) => a.value - b.value);
  const mapAt = (offset: number): ElfSymbol | undefined => mapSyms.find((s) => offset >= s.value && offset < s.value + Math.max(s.size, 1));

  // ---- globals ------------------------------------------------------------------------------------
  const globals: GlobalSpec[] = [];
  const globalSyms = new Map<number, ElfSymbol[]>();
  // Initialised bytes no symbol covers (string literals in `.rodata.str1.1`, …)
  // become a static byte-array global, so section-relative references keep working.
  const anonymous = (sec: ElfFile['sections'][number], from: number, to: number) => {
    if (sec.type === SHT.NOBITS || to <= from || !sec.data.subarray(from, to).some((b) => b !== 0)) return;
    const name = `__anon${sec.name.replace(/[^A-Za-z0-9_]/g, '_')}_${from}`;
    globals.push({ name, section: sec.name, type: to - from, init: sec.data.slice(from, to), offset: from, linkage: 'static' });
  };
  for (const i of data) {
    const sec = secs[i]!;
    const size = sec.type === SHT.NOBITS ? (sec.size ?? 0) : sec.data.length;
    const datasec = btf?.find(sec.name, 'datasec');
    const list = syms.filter((s, k) => k > 0 && s.shndx === i && s.type === STT.OBJECT).sort((a, b) => a.value - b.value);
    const kept: ElfSymbol[] = [];
    let covered = 0;
    for (const s of list) {
      checkSymbolRange(s, 'variable');
      if (s.value < covered || s.size === 0) {
        ignored.push({ what: `symbol ${s.name}`, reason: s.size === 0 ? 'zero-size variable' : 'overlaps the previous variable in its section' });
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
      kept.push(s);
    }
    anonymous(sec, covered, size);
    globalSyms.set(i, kept);
  }

  // ---- code relocations -----------------------------------------------------------------------------
  const kfuncs = new Map<string, number>();
  for (const i of code) {
    const rel = relOf.get(i);
    if (rel === undefined) continue;
    for (const r of readRelocations(secs[rel]!.data)) {
      const where = `relocation at ${secName(i)}+${r.offset}`;
      const { f, index } = locate(i, r.offset, where);
      const insn = f.insns[index]!;
      const s = symbolAt(r.symbol, where);
      if (insn.meta?.ref) throw new ObjectError('OBJECT_MALFORMED', `${where}: instruction has two relocations`);
      if (r.type === R_BPF['64_64']) {
        if (insn.opcode !== LDDW) throw new ObjectError('OBJECT_MALFORMED', `${where}: R_BPF_64_64 on an instruction that is not lddw`);
        const imm = insn.imm >>> 0;
        if (s.shndx === SHN.UNDEF) unsupported(`${where}: reference to extern '${s.name}' (.kconfig/.ksyms externs are not supported)`);
        if (s.shndx === mapsIndex) {
          const m = s.type === STT.SECTION ? mapAt(imm) : s;
          if (!m || m.type !== STT.OBJECT) throw new ObjectError('OBJECT_MALFORMED', `${where}: no map at .maps offset ${s.value + imm}`);
          f.insns[index] = { opcode: LDDW, dst: insn.dst, src: PseudoSource.MAP_FD, off: 0, imm: 0, imm64: 0n, meta: { ...insn.meta, ref: { kind: 'map', name: m.name } } };
        } else if (data.includes(s.shndx)) {
          const name = s.type === STT.SECTION ? secName(s.shndx) : s.name;
          if (s.type !== STT.SECTION && !(globalSyms.get(s.shndx) ?? []).includes(s)) throw new ObjectError('OBJECT_MALFORMED', `${where}: '${s.name}' is not a variable that was kept`);
          f.insns[index] = { opcode: LDDW, dst: insn.dst, src: PseudoSource.MAP_VALUE, off: 0, imm: 0, imm64: BigInt(imm) << 32n, meta: { ...insn.meta, ref: { kind: 'global', name, offset: imm } } };
        } else if (code.includes(s.shndx)) {
          const target = funcStartingAt(s.shndx, s.value + imm, where);
          f.insns[index] = { opcode: LDDW, dst: insn.dst, src: PseudoSource.FUNC, off: 0, imm: 0, imm64: 0n, meta: { ...insn.meta, ref: { kind: 'call', name: target.name } } };
        } else {
          unsupported(`${where}: lddw of '${s.name || secName(s.shndx)}' in section ${secName(s.shndx)}, which is not .maps, code or global data`);
        }
      } else if (r.type === R_BPF['64_32']) {
        if (insn.opcode !== CALL) throw new ObjectError('OBJECT_MALFORMED', `${where}: R_BPF_64_32 on an instruction that is not a call`);
        if ((insn.src === CallKind.KFUNC || insn.src === CallKind.PSEUDO_CALL) && s.shndx === SHN.UNDEF) {
          // A kfunc (extern in .ksyms): clang writes a pseudo call to the undefined symbol.
          const fn = btf?.find(s.name, 'func');
          if (!fn || fn.type.linkage !== 'extern') unsupported(`${where}: call to undefined '${s.name}', which is not an extern kfunc in BTF`);
          kfuncs.set(s.name, fn!.type.type);
          f.insns[index] = { opcode: CALL, dst: 0, src: CallKind.KFUNC, off: 0, imm: 0, meta: { ...insn.meta, ref: { kind: 'kfunc', name: s.name } } };
          continue;
        }
        if (insn.src !== CallKind.PSEUDO_CALL) unsupported(`${where}: call with src ${insn.src} against '${s.name}'`);
        if (!code.includes(s.shndx)) unsupported(`${where}: call to '${s.name}', which is not in a code section`);
        const targetOff = s.value + (insn.imm + 1) * 8;
        const target = funcStartingAt(s.shndx, targetOff, where);
        if (secName(s.shndx) !== '.text') unsupported(`${where}: call into '${target.name}' in ${secName(s.shndx)}; only .text subprograms can be called`);
        f.insns[index] = { ...insn, imm: -1, meta: { ...insn.meta, ref: { kind: 'call', name: target.name } } };
      } else {
        unsupported(`${where}: relocation type ${r.type} is not supported in code`);
      }
    }
  }

  // ---- func_info / line_info ---------------------------------------------------------------------
  const sectionIndexOf = (name: string, what: string) => {
    const i = code.find((k) => secs[k]!.name === name);
    if (i === undefined) throw new ObjectError('OBJECT_MALFORMED', `.BTF.ext ${what} names section '${name}', which is not a code section`);
    return i;
  };
  for (const sec of ext?.funcInfo ?? []) {
    const i = sectionIndexOf(sec.section, 'func_info');
    for (const r of sec.records) {
      const f = funcStartingAt(i, r.insnOff, `func_info of ${sec.section}`);
      const t = btf!.get(r.typeId);
      if (!t || t.kind !== 'func') throw new ObjectError('OBJECT_MALFORMED', `func_info of '${f.name}' refers to type ${r.typeId}, which is not a FUNC`);
      f.btfProto = t.type;
    }
  }
  for (const sec of ext?.lineInfo ?? []) {
    const i = sectionIndexOf(sec.section, 'line_info');
    for (const r of sec.records) {
      if (r.fileName === '' && r.lineNum === 0) continue; // a writer's placeholder for functions without source
      const { f, index } = locate(i, r.insnOff, `line_info of ${sec.section}`);
      const source: SourceLocation = { file: r.fileName, line: r.lineNum, column: r.column, text: r.line };
      const insn = f.insns[index]!;
      f.insns[index] = { ...insn, meta: { ...insn.meta, source } };
    }
  }

  // ---- maps ------------------------------------------------------------------------------------------------
  const maps: MapSpec[] = [];
  if (mapsIndex !== undefined) {
    if (!btf) throw new ObjectError('OBJECT_MALFORMED', '.maps section without .BTF: BTF-defined maps need BTF');
    const datasec = btf.find('.maps', 'datasec');
    const slots = new Map<string, (string | null)[]>();
    const structSize = new Map<string, number>();
    const mapDefs = new Map<string, MapSpec>();
    for (const s of mapSyms) {
      checkSymbolRange(s, 'map');
      const v = datasec?.type.vars.map((x) => btf.get(x.type)).find((t) => t?.kind === 'var' && t.name === s.name);
      if (!v || v.kind !== 'var') throw new ObjectError('OBJECT_MALFORMED', `map '${s.name}' has no VAR in the .maps DATASEC`);
      const d = decodeMapStruct(btf, v.type, s.name);
      for (const what of d.ignored) ignored.push({ what: `map '${s.name}' ${what}`, reason: 'unknown map definition member' });
      if (mapDefs.has(s.name)) throw new ObjectError('OBJECT_MALFORMED', `two maps are named '${s.name}'`);
      mapDefs.set(s.name, { name: s.name, ...d.def });
      structSize.set(s.name, d.size);
      if (d.hasValues) slots.set(s.name, []);
    }
    const rel = relOf.get(mapsIndex);
    for (const r of rel === undefined ? [] : readRelocations(secs[rel]!.data)) {
      const where = `relocation at .maps+${r.offset}`;
      if (r.type !== R_BPF['64_ABS64']) unsupported(`${where}: relocation type ${r.type} in .maps`);
      const m = mapAt(r.offset);
      const list = m && slots.get(m.name);
      if (!m || !list) throw new ObjectError('OBJECT_MALFORMED', `${where}: not inside the 'values' of a map`);
      const rel0 = r.offset - m.value - structSize.get(m.name)!;
      const def = mapDefs.get(m.name)!;
      if (rel0 < 0 || rel0 % 8 !== 0 || rel0 / 8 >= def.maxEntries) throw new ObjectError('OBJECT_MALFORMED', `${where}: not a slot of map '${m.name}' values`);
      const t = symbolAt(r.symbol, where);
      const isFunc = t.type === STT.FUNC;
      if (def.innerMap ? t.shndx !== mapsIndex || t.type !== STT.OBJECT : !isFunc || !code.includes(t.shndx) || secName(t.shndx) === '.text')
        throw new ObjectError('OBJECT_MALFORMED', `${where}: slot of '${m.name}' points to '${t.name}', which is not a ${def.innerMap ? 'map' : 'program'}`);
      const slot = rel0 / 8;
      while (list.length <= slot) list.push(null);
      list[slot] = t.name;
    }
    for (const [name, def] of mapDefs) {
      const v = slots.get(name);
      maps.push(v && v.length ? { ...def, values: v } : def);
    }
  }

  // ---- programs / subprograms --------------------------------------------------------------------------------
  const programs: ProgramSpec[] = [];
  const subprograms: SubprogramSpec[] = [];
  for (const f of funcs) {
    const proto = f.btfProto !== undefined ? { btfProto: f.btfProto } : {};
    if (secName(f.section) === '.text') subprograms.push({ name: f.name, instructions: f.insns, linkage: f.bind === STB.LOCAL ? 'static' : 'global', ...proto });
    else programs.push({ name: f.name, section: secName(f.section), instructions: f.insns, ...proto });
  }
  return {
    license,
    ...(kernelVersion !== undefined ? { kernelVersion } : {}),
    programs,
    subprograms,
    maps,
    globals,
    ...(kfuncs.size ? { kfuncs: [...kfuncs].map(([name, btfProto]) => ({ name, btfProto })) } : {}),
    ...(btf ? { btf } : {}),
    ignored,
  };
}

function safeSize(btf: Btf, id: number): number | undefined {
  try {
    return btf.sizeOf(id);
  } catch {
    return undefined;
  }
}

/** The ELF model of `bytes` plus its spec, for tools (dump) that show both. */
export function readObjectWithElf(bytes: Uint8Array, options: ReadObjectOptions = {}): { elf: ElfFile; spec: ObjectSpec } {
  const spec = readObject(bytes, options);
  return { elf: readElf(bytes), spec };
}
