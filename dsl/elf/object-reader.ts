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
import { TsbpfError } from '../errors.js';
import { ObjectError } from '../object/errors.js';
import type { ObjectSpec, ProgramSpec, SubprogramSpec } from '../object/spec.js';
import { readElf, STB, type ElfFile } from './file/index.js';
import { applyBtfExt, Functions, resolveCodeRelocations } from './object-read-code.js';
import { ReadContext, type ReadObjectOptions } from './object-read-context.js';
import { readGlobals } from './object-read-data.js';
import { mapSymbols, readMaps } from './object-read-maps.js';

export type { ReadObjectOptions } from './object-read-context.js';

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
  const ctx = new ReadContext(bytes, options);
  const funcs = new Functions(ctx);
  const maps = mapSymbols(ctx);
  const { globals, kept } = readGlobals(ctx);
  const kfuncs = resolveCodeRelocations(ctx, funcs, maps, kept);
  applyBtfExt(ctx, funcs);
  const programs: ProgramSpec[] = [];
  const subprograms: SubprogramSpec[] = [];
  for (const f of funcs.all) {
    const proto = f.btfProto !== undefined ? { btfProto: f.btfProto } : {};
    const section = ctx.sectionName(f.section);
    if (section === '.text') subprograms.push({ name: f.name, instructions: f.insns, linkage: f.bind === STB.LOCAL ? 'static' : 'global', ...proto });
    else programs.push({ name: f.name, section, instructions: f.insns, ...proto });
  }
  return {
    license: ctx.license,
    ...(ctx.kernelVersion !== undefined ? { kernelVersion: ctx.kernelVersion } : {}),
    programs,
    subprograms,
    maps: readMaps(ctx, maps),
    globals,
    ...(kfuncs.size ? { kfuncs: [...kfuncs].map(([name, btfProto]) => ({ name, btfProto })) } : {}),
    ...(ctx.btf ? { btf: ctx.btf } : {}),
    ignored: ctx.ignored,
  };
}

/** The ELF model of `bytes` plus its spec, for tools (dump) that show both. */
export function readObjectWithElf(bytes: Uint8Array, options: ReadObjectOptions = {}): { elf: ElfFile; spec: ObjectSpec } {
  const spec = readObject(bytes, options);
  return { elf: readElf(bytes), spec };
}
