/**
 * Turns a spec's instructions into the bytes BPF_PROG_LOAD takes: labels and
 * local calls resolved (dsl/isa `assemble`), map and global references patched
 * with fds (lddw src 1 = map fd, src 2 = map value + offset), then encoded. Keeps
 * which source location each slot came from, to report verifier errors.
 */
import { assemble } from '../../dsl/isa/assemble.js';
import { encode } from '../../dsl/isa/codec.js';
import { slots, type Instruction, type SourceLocation } from '../../dsl/isa/instruction.js';
import { LDDW, PseudoSource } from '../../dsl/isa/opcodes.js';
import { LoaderError } from '../errors.js';
import type { LoadOptions, MapFdRef } from './spec.js';

/** Encoded instructions plus the source location of every slot (sparse). */
export interface ResolvedProgram {
  readonly bytes: Uint8Array;
  readonly sources: ReadonlyMap<number, SourceLocation>;
}

function lookupMap(maps: LoadOptions['maps'], name: string): MapFdRef | undefined {
  if (!maps) return undefined;
  if (maps instanceof Map) return maps.get(name);
  return (maps as Readonly<Record<string, MapFdRef>>)[name];
}

/** Resolves every symbolic reference and encodes; throws `LoaderError` naming any unresolved one. */
export function resolveInstructions(insns: readonly Instruction[], opts: Pick<LoadOptions, 'maps' | 'globals'> = {}): ResolvedProgram {
  const patched = insns.map((insn, index): Instruction => {
    const ref = insn.meta?.ref;
    if (!ref || ref.kind === 'label' || ref.kind === 'call') return insn;
    const where = () => {
      const s = insn.meta?.source;
      return `instruction ${index}${s ? ` (${s.file}:${s.line}:${s.column})` : ''}`;
    };
    if (insn.opcode !== LDDW && (ref.kind === 'map' || ref.kind === 'global'))
      throw new LoaderError('LOADER_BAD_REF', `${where()}: ${ref.kind} reference '${ref.name}' on an instruction that is not lddw`);
    const { ref: _drop, ...meta } = insn.meta!;
    switch (ref.kind) {
      case 'map': {
        const map = lookupMap(opts.maps, ref.name);
        if (!map) throw new LoaderError('LOADER_UNRESOLVED', `${where()}: no map named '${ref.name}' was given to load()`);
        const hi = insn.src === PseudoSource.MAP_VALUE ? BigInt.asUintN(64, insn.imm64 ?? 0n) >> 32n : 0n;
        const imm64 = (hi << 32n) | BigInt(map.fd >>> 0);
        return { ...insn, imm: map.fd, imm64, meta };
      }
      case 'global': {
        const g = opts.globals?.[ref.name];
        if (!g) throw new LoaderError('LOADER_UNRESOLVED', `${where()}: no global variable '${ref.name}' was given to load()`);
        const offset = g.offset + ref.offset;
        const imm64 = (BigInt(offset >>> 0) << 32n) | BigInt(g.map.fd >>> 0);
        return { ...insn, src: PseudoSource.MAP_VALUE, imm: g.map.fd, imm64, meta };
      }
      case 'kfunc':
        throw new LoaderError('LOADER_UNRESOLVED', `${where()}: kfunc '${ref.name}' needs a BTF id; kfunc resolution is not supported yet`);
    }
  });
  const needsAssembly = patched.some((i) => i.meta?.ref?.kind === 'label' || i.meta?.ref?.kind === 'call');
  const final = needsAssembly ? assemble(patched) : patched;
  const sources = new Map<number, SourceLocation>();
  let slot = 0;
  for (const insn of final) {
    if (insn.meta?.source) sources.set(slot, insn.meta.source);
    slot += slots(insn);
  }
  return { bytes: encode(final), sources };
}
