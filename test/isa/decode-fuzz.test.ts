/**
 * Property tests: arbitrary bytes fed to the decoder give an Instruction or a
 * DecodeError naming the byte offset — never another exception — and whatever
 * decodes re-encodes to the very same bytes and prints.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DecodeError, decode, decodeOne, disassembleSection, encode, formatInstruction } from '../../dsl/isa/index.js';

const SEED = 0x7b9f;
// Opcodes that exist in some class, to push many cases into the valid region.
const knownOpcodes = [
  0x04, 0x05, 0x06, 0x07, 0x0c, 0x0f, 0x14, 0x15, 0x16, 0x17, 0x18, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x28, 0x30, 0x40, 0x48, 0x50,
  0x61, 0x62, 0x63, 0x69, 0x6a, 0x6b, 0x71, 0x72, 0x73, 0x79, 0x7a, 0x7b, 0x81, 0x84, 0x85, 0x87, 0x89, 0x91, 0x95, 0xb4, 0xb7,
  0xbc, 0xbf, 0xc3, 0xd4, 0xd7, 0xdb, 0xdc,
];

/** 16 bytes: random, or with a known opcode and mostly-small fields. */
const words = fc.oneof(
  fc.uint8Array({ minLength: 16, maxLength: 16 }),
  fc
    .tuple(fc.constantFrom(...knownOpcodes), fc.integer({ min: 0, max: 10 }), fc.integer({ min: 0, max: 10 }), fc.uint8Array({ minLength: 13, maxLength: 13 }), fc.boolean())
    .map(([op, dst, src, rest, zeroTail]) => {
      const b = new Uint8Array(16);
      b[0] = op;
      b[1] = dst | (src << 4);
      b.set(rest, 2);
      if (zeroTail) b.fill(0, 4, 8); // imm 0
      if (op === 0x18 && zeroTail) b.fill(0, 8, 12); // a well-formed second lddw slot
      return b;
    }),
);

describe('decoder on random words', () => {
  it('yields an Instruction or a DecodeError, and valid words re-encode identically (≥ 20,000 cases)', () => {
    let valid = 0;
    let invalid = 0;
    fc.assert(
      fc.property(words, fc.constantFrom(8, 16), (bytes, len) => {
        const input = bytes.subarray(0, len);
        let decoded;
        try {
          decoded = decodeOne(input, 0);
        } catch (err) {
          if (!(err instanceof DecodeError)) throw err;
          if (!(err.offset === 0 || err.offset === 8) || !/^at byte offset (0|8): ./.test(err.message)) throw new Error(`bad error ${err.message}`);
          invalid++;
          return;
        }
        valid++;
        const again = encode([decoded.insn]);
        if (again.length !== decoded.size || !Buffer.from(again).equals(Buffer.from(input.subarray(0, decoded.size))))
          throw new Error(`re-encoding changed ${Buffer.from(input).toString('hex')}`);
        if (formatInstruction(decoded.insn) === '') throw new Error('empty text');
      }),
      { numRuns: 25_000, seed: SEED },
    );
    // Both regions are exercised.
    expect(valid).toBeGreaterThan(1500);
    expect(invalid).toBeGreaterThan(3000);
  });

  it('whole streams: decode() is all-or-error, the section disassembler never throws', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 80 }), (bytes) => {
        try {
          const insns = decode(bytes);
          expect(Buffer.from(encode(insns)).equals(Buffer.from(bytes))).toBe(true);
        } catch (err) {
          if (!(err instanceof DecodeError)) throw err;
        }
        const lines = disassembleSection('.text', bytes, [{ name: 'f', addr: 0 }]);
        expect(lines[1]).toBe('0000000000000000 <f>:');
      }),
      { numRuns: 5_000, seed: SEED },
    );
  });

  it('names the offset and the reason for specific bad inputs', () => {
    const cases: [number[], RegExp][] = [
      [[0x18, 0x01, 0, 0, 1, 0, 0, 0], /offset 0: truncated lddw/],
      [[0x18, 0x01, 0, 0, 1, 0, 0, 0, 0x07, 0, 0, 0, 0, 0, 0, 0], /offset 8: second slot of lddw/],
      [[0xff, 0, 0, 0, 0, 0, 0, 0], /offset 0: .*(unknown|class)/],
      [[0xc3 & ~0x18 | 0x10, 0x21, 0, 0, 0, 0, 0, 0], /offset 0: .*atomics exist only in W and DW/], // ATOMIC with B
      [[0xcb, 0x21, 0, 0, 0, 0, 0, 0], /atomics exist only in W and DW/], // ATOMIC with H
      [[0x99, 0x21, 0, 0, 0, 0, 0, 0], /sign-extending load has no DW size/], // MEMSX with DW
      [[0x21, 0x21, 0, 0, 0, 0, 0, 0], /class LDX allows only MEM and MEMSX/], // LDX with ABS
      [[0xbf, 0x0b, 0, 0, 0, 0, 0, 0], /bad destination register number 11/],
      [[0xbf, 0xc1, 0, 0, 0, 0, 0, 0], /bad source register number 12/],
      [[0x95, 0, 0, 0, 1, 0, 0, 0], /exit/],
      [[0x07, 0x01], /offset 0: truncated instruction: 2 of 8 bytes/],
    ];
    for (const [bytes, re] of cases) expect(() => decodeOne(Uint8Array.from(bytes), 0), re.source).toThrow(re);
    // offsets are those of the failing slot within a stream
    const stream = Uint8Array.from([0x95, 0, 0, 0, 0, 0, 0, 0, 0xb7, 0, 0, 0, 0, 0, 0, 0, 0xff, 0, 0, 0, 0, 0, 0, 0]);
    expect(() => decode(stream)).toThrow(/^at byte offset 16:/);
  });
});
