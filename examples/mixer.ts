/**
 * A tc program with a long straight-line body: it reads three 64-bit words from
 * the packet, stirs them through `rounds` rounds of add / xor / rotate / multiply
 * (with a data-dependent branch every 8 rounds and a stack accumulator every 16),
 * writes four words back into the packet and returns the top bits of the result.
 * With the default 1,200 rounds it is about 10,000 instructions: one program on a
 * 6.x target, a chain of tail calls on 4.19 (`tsbpf build examples/mixer.ts
 * --target 4.19 --explain`).
 *
 * Written with the assembler layer (`dsl/isa`); `mixerReference` computes the same
 * thing in TypeScript so tests can compare.
 */
import { asm } from '../dsl/isa/index.js';
import type { ProgramSpec } from '../dsl/object/index.js';

const SKB_DATA = 76;
const SKB_DATA_END = 80;
const MUL = 0x9e3779b1;
/** Bytes of packet the program needs; shorter packets take the early return. */
export const MIXER_BYTES = 32;
/** Return value for packets shorter than MIXER_BYTES. */
export const MIXER_SHORT = 7;

/** The mixer program with `rounds` rounds. */
export function mixerProgram(rounds = 1200, name = 'mixer'): ProgramSpec {
  const a = asm();
  a.mov64('r6', 'r1');
  const bounds = () => {
    a.ldxw('r2', 'r6', SKB_DATA).ldxw('r3', 'r6', SKB_DATA_END).mov64('r4', 'r2').add64('r4', MIXER_BYTES).jgt('r4', 'r3', 'short');
  };
  bounds();
  a.ldxdw('r7', 'r2', 0).ldxdw('r8', 'r2', 8).ldxdw('r9', 'r2', 16);
  a.stdw('r10', -8, 0);
  for (let i = 0; i < rounds; i++) {
    a.add64('r7', 'r8').xor64('r8', 'r7');
    a.mov64('r1', 'r8').lsh64('r1', 13).rsh64('r8', 51).or64('r8', 'r1');
    a.mul64('r9', MUL).add64('r9', 'r7');
    if (i % 16 === 15) a.ldxdw('r1', 'r10', -8).add64('r1', 'r9').stxdw('r10', -8, 'r1');
    if (i % 8 === 7) a.jle('r7', 'r9', `skip${i}`).xor64('r7', 'r9').label(`skip${i}`).add64('r7', i);
  }
  bounds();
  a.stxdw('r2', 0, 'r7').stxdw('r2', 8, 'r8').ldxdw('r1', 'r10', -8).stxdw('r2', 16, 'r1').stxdw('r2', 24, 'r9');
  a.mov64('r0', 'r9').rsh64('r0', 40).exit();
  a.label('short').mov64('r0', MIXER_SHORT).exit();
  return { name, section: 'tc', instructions: a.build() };
}

const M64 = (1n << 64n) - 1n;
/** The multiplier as the kernel sees it: a 32-bit immediate, sign-extended to 64 bits. */
const MUL64 = BigInt.asUintN(64, BigInt.asIntN(32, BigInt(MUL)));

/** What the mixer returns and leaves in the packet, computed in TypeScript. */
export function mixerReference(packet: Uint8Array, rounds = 1200): { retval: number; packet: Uint8Array } {
  if (packet.length < MIXER_BYTES) return { retval: MIXER_SHORT, packet };
  const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  let r7 = view.getBigUint64(0, true);
  let r8 = view.getBigUint64(8, true);
  let r9 = view.getBigUint64(16, true);
  let acc = 0n;
  for (let i = 0; i < rounds; i++) {
    r7 = (r7 + r8) & M64;
    r8 ^= r7;
    r8 = ((r8 << 13n) & M64) | (r8 >> 51n);
    r9 = (r9 * MUL64) & M64;
    r9 = (r9 + r7) & M64;
    if (i % 16 === 15) acc = (acc + r9) & M64;
    if (i % 8 === 7) {
      if (!(r7 <= r9)) r7 ^= r9;
      r7 = (r7 + BigInt(i)) & M64;
    }
  }
  const out = new Uint8Array(packet);
  const ov = new DataView(out.buffer);
  ov.setBigUint64(0, r7, true);
  ov.setBigUint64(8, r8, true);
  ov.setBigUint64(16, acc, true);
  ov.setBigUint64(24, r9, true);
  return { retval: Number((r9 >> 40n) & 0xffffffffn), packet: out };
}

/** The example object: `tsbpf build examples/mixer.ts`. */
export const mixer = mixerProgram();
