/**
 * Static instruction mix of a program, to say where a tsbpf build spends more
 * instructions than its clang twin: stack loads and stores (values kept in
 * stack slots instead of registers), other memory stores (packet, map values),
 * helper calls, moves, ALU and jumps.
 */
import { readObject } from '../../dsl/elf/index.js';
import type { ObjectSpec } from '../../dsl/object/index.js';

/** Counts per class. */
export interface InsnMix {
  readonly total: number;
  readonly stackLoads: number;
  readonly stackStores: number;
  readonly memLoads: number;
  readonly memStores: number;
  readonly calls: number;
  readonly moves: number;
  readonly alu: number;
  readonly jumps: number;
  readonly ld64: number;
}

const FP = 10;

/** Classifies every instruction of `insns` (opcode, dst, src as in the ISA). */
export function insnMix(insns: readonly { opcode: number; dst: number; src: number }[]): InsnMix {
  const m = { total: insns.length, stackLoads: 0, stackStores: 0, memLoads: 0, memStores: 0, calls: 0, moves: 0, alu: 0, jumps: 0, ld64: 0 };
  for (const i of insns) {
    const cls = i.opcode & 7;
    const op = i.opcode >> 4;
    if (cls === 0) m.ld64++;
    else if (cls === 1) (i.src === FP ? m.stackLoads++ : m.memLoads++);
    else if (cls === 2 || cls === 3) (i.dst === FP ? m.stackStores++ : m.memStores++);
    else if (cls === 4 || cls === 7) (op === 0xb ? m.moves++ : m.alu++);
    else if (op === 8) m.calls++;
    else m.jumps++;
  }
  return m;
}

/** The mix of program `name` in a tsbpf object and in the clang twin's ELF. */
export function compareMix(ours: ObjectSpec, clangElf: Uint8Array, name: string): { tsbpf: InsnMix; clang: InsnMix } {
  const c = readObject(clangElf);
  const find = (o: ObjectSpec) => {
    const p = o.programs.find((x) => x.name === name);
    if (!p) throw new Error(`no program ${name}`);
    return p.instructions as unknown as { opcode: number; dst: number; src: number }[];
  };
  return { tsbpf: insnMix(find(ours)), clang: insnMix(find(c)) };
}
