/**
 * The object-level parts of `tsbpf dump`: maps and globals (`--maps`), BTF types
 * (`--btf`) and line info interleaved with the disassembly (`--source`, like
 * `llvm-objdump -S`). The plain disassembly stays in cli/commands/dump.ts.
 */
import { decodeBtf, decodeBtfExt, formatBtfC, type Btf, type BtfLineInfo } from '../dsl/btf/index.js';
import { readObject } from '../dsl/elf/index.js';
import { EM_BPF, readElf, readSymbols, SHF, SHT, STT, type ElfFile } from '../dsl/elf/file/index.js';
import { disassembleSection, slots, type CodeSymbol, type Instruction, type PrintOptions } from '../dsl/isa/index.js';
import { BpfMapType, MapFlags, flagNames, nameOf } from '../dsl/kernel/index.js';
import { ObjectError } from '../dsl/object/errors.js';
import { isBtfTypeRef, typeSize, type MapDefinition, type ObjectSpec, type TypeSpec } from '../dsl/object/index.js';

const MACHINES: Readonly<Record<number, string>> = { 3: 'i386', 8: 'MIPS', 20: 'PowerPC', 21: 'PowerPC64', 22: 'S/390', 40: 'ARM', 62: 'x86-64', 183: 'AArch64', 243: 'RISC-V', 258: 'LoongArch' };

/**
 * Throws unless `elf` is an eBPF ELF (e_machine EM_BPF): disassembling another
 * architecture's code as BPF prints nonsense, so `dump` refuses it in one line,
 * as `load` does.
 */
export function requireBpfElf(elf: ElfFile, displayName: string): ElfFile {
  if (elf.machine === EM_BPF) return elf;
  const arch = MACHINES[elf.machine];
  throw new ObjectError('OBJECT_NOT_BPF', `${displayName} is not a BPF object: e_machine ${elf.machine}${arch ? ` (${arch})` : ''} is not EM_BPF (247)`);
}

/** Options of the object-level dump sections. */
export interface ObjectDumpOptions {
  /** Maps, globals, programs and anything the reader ignored. */
  readonly maps?: boolean;
  /** The object's BTF as C declarations. */
  readonly btf?: boolean;
}

/** Text of the requested object-level sections for the object `bytes`. */
export function dumpObjectInfo(bytes: Uint8Array, options: ObjectDumpOptions): string {
  const out: string[] = [];
  if (options.maps) out.push(...describeSpec(readObject(bytes, { ignoreCoreRelos: true })));
  if (options.btf) {
    const btf = elfBtf(readElf(bytes));
    out.push('BTF:');
    out.push(btf ? formatBtfC(btf, { functions: true }).trimEnd() : '  (no .BTF section)');
    out.push('');
  }
  return out.join('\n');
}

/** Lines describing the maps, globals and programs of a spec. */
export function describeSpec(spec: ObjectSpec): string[] {
  const out: string[] = [`License: ${spec.license}`, ''];
  const maps = spec.maps ?? [];
  out.push(`Maps (${maps.length}):`);
  for (const m of maps) {
    out.push(`  ${m.name}: ${describeDefinition(m, spec.btf)}`);
    if (m.innerMap) out.push(`    inner map: ${describeDefinition(m.innerMap, spec.btf)}`);
    if (m.values?.length) out.push(`    values: ${m.values.map((v, i) => (v === null ? undefined : `[${i}] ${v}`)).filter(Boolean).join(', ')}`);
  }
  out.push('');
  const globals = spec.globals ?? [];
  out.push(`Globals (${globals.length}):`);
  for (const g of globals) {
    const size = typeSize(g.type, spec.btf, g.name);
    const init = g.init ? ` = ${Array.from(g.init, (b) => b.toString(16).padStart(2, '0')).join(' ')}` : '';
    out.push(`  ${g.section}+${g.offset ?? '?'} ${g.name}: ${typeName(g.type, spec.btf)} (${size} B)${g.linkage === 'static' ? ' static' : ''}${init}`);
  }
  out.push('');
  const funcs = [...spec.programs.map((p) => ({ ...p, what: p.section })), ...(spec.subprograms ?? []).map((s) => ({ ...s, what: `.text (${s.linkage ?? 'static'} subprogram)` }))];
  out.push(`Programs (${funcs.length}):`);
  for (const f of funcs) {
    const n = slotCount(f.instructions);
    out.push(`  ${f.what} ${f.name}: ${f.instructions.length} instructions${n !== f.instructions.length ? ` (${n} slots)` : ''}`);
  }
  out.push('');
  if (spec.ignored?.length) {
    out.push(`Ignored (${spec.ignored.length}):`);
    for (const i of spec.ignored) out.push(`  ${i.what}: ${i.reason}`);
    out.push('');
  }
  return out;
}

const slotCount = (insns: readonly Instruction[]) => insns.reduce((n, i) => n + slots(i), 0);

function describeDefinition(d: MapDefinition, btf: Btf | undefined): string {
  const type = typeof d.type === 'number' ? (nameOf(BpfMapType, d.type) ?? String(d.type)) : d.type;
  const parts = [type];
  const kv = (t: TypeSpec | undefined, what: string) => {
    if (typeof t === 'number') parts.push(`${what} ${t} B`);
    else if (t !== undefined) parts.push(`${what} ${typeName(t, btf)} (${safeSize(t, btf)} B)`);
  };
  kv(d.key, 'key');
  kv(d.value, 'value');
  parts.push(`max_entries ${d.maxEntries}`);
  if (d.flags) parts.push(`flags ${flagNames(MapFlags, d.flags).join('|')}`);
  parts.push(`pinning ${d.pinning ?? 'none'}`);
  if (d.numaNode !== undefined) parts.push(`numa_node ${d.numaNode}`);
  return parts.join(', ');
}

function safeSize(t: TypeSpec, btf: Btf | undefined): string {
  try {
    return String(typeSize(t, btf, 'type'));
  } catch {
    return '?';
  }
}

/** A short C-like name of a type. */
export function typeName(t: TypeSpec, btf: Btf | undefined): string {
  if (typeof t === 'number') return `${t} bytes`;
  if (!isBtfTypeRef(t)) return t.name || `(anonymous ${t.kind})`;
  return btf ? btfName(btf, t.btfType, 0) : `btf#${t.btfType}`;
}

function btfName(btf: Btf, id: number, depth: number): string {
  if (id === 0) return 'void';
  const t = btf.get(id);
  if (!t || depth > 16) return `btf#${id}`;
  switch (t.kind) {
    case 'struct': case 'union': case 'enum': case 'enum64': case 'fwd':
      return `${t.kind === 'enum64' ? 'enum' : t.kind === 'fwd' ? t.fwdKind : t.kind} ${t.name || '(anon)'}`;
    case 'ptr':
      return `${btfName(btf, t.type, depth + 1)} *`;
    case 'array':
      return `${btfName(btf, t.type, depth + 1)}[${t.nelems}]`;
    case 'const': case 'volatile': case 'restrict':
      return `${t.kind} ${btfName(btf, t.type, depth + 1)}`;
    case 'var':
      return btfName(btf, t.type, depth + 1);
    default:
      return t.name || t.kind;
  }
}

function elfBtf(elf: ElfFile): Btf | undefined {
  const sec = elf.sections.find((s) => s.name === '.BTF');
  return sec ? decodeBtf(sec.data) : undefined;
}

/**
 * Disassembly with line info interleaved (`; file:line:col` and the source
 * text before the first instruction of each line_info record), in the layout of
 * `llvm-objdump -d -S` otherwise.
 */
export function dumpWithSource(bytes: Uint8Array, displayName: string, options: PrintOptions & { raw?: boolean } = {}): string {
  const elf = requireBpfElf(readElf(bytes), displayName);
  const symbols = readSymbols(elf);
  const btf = elfBtf(elf);
  const extSec = elf.sections.find((s) => s.name === '.BTF.ext');
  const lines = new Map<string, Map<number, BtfLineInfo>>();
  if (btf && extSec) {
    for (const sec of decodeBtfExt(extSec.data, btf).lineInfo) {
      const m = new Map<number, BtfLineInfo>();
      for (const r of sec.records) m.set(r.insnOff, r);
      lines.set(sec.section, m);
    }
  }
  const out: string[] = ['', `${displayName}:\tfile format elf64-bpf`, ''];
  elf.sections.forEach((sec, index) => {
    if (index === 0 || sec.type === SHT.NOBITS || (sec.flags & SHF.EXECINSTR) === 0 || sec.data.length === 0) return;
    const syms: CodeSymbol[] = symbols
      .filter((s, k) => k > 0 && s.shndx === index && s.type !== STT.SECTION && s.type !== STT.FILE)
      .map((s) => ({ name: s.name, addr: s.value, isObject: s.type === STT.OBJECT }));
    const info = lines.get(sec.name);
    out.push(`Disassembly of section ${sec.name}:`);
    // Like llvm-objdump -S, the source text appears when the line changes (a new
    // column on the same line repeats only the location), with its indentation.
    let shown = '';
    for (const line of disassembleSection(sec.name, sec.data, syms, options)) {
      if (/^[0-9a-f]{16} <.*>:$/.test(line)) shown = '';
      const m = /^ *(\d+):\t/.exec(line);
      const r = m ? info?.get(Number(m[1]) * 8) : undefined;
      if (r) {
        out.push(`; ${r.fileName}:${r.lineNum}:${r.column}`);
        const at = `${r.fileName}:${r.lineNum}`;
        if (r.line && at !== shown) out.push(`; ${r.line.trimEnd()}`);
        shown = at;
      }
      out.push(line);
    }
    out.push('');
  });
  return out.join('\n');
}
