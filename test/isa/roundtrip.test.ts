import { describe, expect, it } from 'vitest';
import {
  assemble,
  decode,
  disassemble,
  encode,
  formatInstruction,
  insn,
  parse,
  PseudoSource,
  LDDW,
  setSourceCapture,
  type Instruction,
} from '../../dsl/isa/index.js';
import { allForms } from './forms.js';

/** The encoded fields of an instruction, without symbolic metadata. */
function fields(i: Instruction) {
  return { opcode: i.opcode, dst: i.dst, src: i.src, off: i.off, imm: i.imm, imm64: i.imm64 };
}

describe('builder → encode → decode', () => {
  const { insns, used } = allForms();

  it('uses every instruction constructor', () => {
    const missing = Object.keys(insn).filter((k) => !used.has(k));
    expect(missing).toEqual([]);
    expect(insns.length).toBeGreaterThan(300);
  });

  it('decodes to the same values', () => {
    const bytes = encode(insns);
    expect(bytes.length % 8).toBe(0);
    const back = decode(bytes);
    expect(back.map(fields)).toEqual(insns.map(fields));
    // and re-encoding the decoded values gives the same bytes
    expect(Buffer.from(encode(back)).equals(Buffer.from(bytes))).toBe(true);
  });

  it('encodes lddw as two slots with the high half in the second imm', () => {
    const [i] = [insn.lddw('r1', 0x1122334455667788n)];
    const b = encode([i!]);
    expect(Buffer.from(b).toString('hex')).toBe('1801000088776655000000004433221' + '1');
    expect(decode(b)[0]!.imm64).toBe(0x1122334455667788n);
    const mv = encode([insn.ldMapValue('r2', 3, 24)]);
    expect(mv[1]).toBe(0x22); // src 2 (MAP_VALUE), dst 2
    expect(new DataView(mv.buffer).getUint32(4, true)).toBe(3);
    expect(new DataView(mv.buffer).getUint32(12, true)).toBe(24);
  });
});

describe('text → assemble → disassemble', () => {
  const { insns } = allForms();
  // Every form that has a textual spelling: all except lddw with a pseudo source and a
  // non-zero second immediate (map value offsets), which LLVM's syntax cannot express
  // (`ld_pseudo rD, src, imm` has one immediate), and r10 destinations, which the text
  // assembler refuses on purpose, and legacy indirect loads with an immediate offset.
  const expressible = insns.filter((i) => {
    if (i.opcode === LDDW && i.src !== PseudoSource.IMM64 && (i.imm64 ?? 0n) >> 32n !== 0n) return false;
    // Legacy indirect packet loads: LLVM's `skb[rN]` has no place for the imm offset.
    if ((i.opcode & 0xe7) === 0x40 && i.imm !== 0) return false;
    return true;
  });

  for (const alu32 of [true, false]) {
    it(`prints, re-parses and re-prints identically (alu32=${alu32})`, () => {
      const printable = expressible.filter((i) => formatInstruction(i, { alu32 }) !== '<unknown>');
      const text = disassemble(printable, { alu32 });
      const reparsed = assemble(parse(text.join('\n')));
      expect(disassemble(reparsed, { alu32 })).toEqual(text);
      // Field-exact too, except calls: LLVM prints helper (src 0), resolved bpf-to-bpf
      // (src 1) and kfunc (src 2) calls all as `call <imm>`, so text keeps only the helper form.
      if (alu32) {
        const isCall = (i: Instruction) => i.opcode === 0x85;
        expect(reparsed.filter((i) => !isCall(i)).map(fields)).toEqual(printable.filter((i) => !isCall(i)).map(fields));
      }
    });
  }

  it('round-trips programs with labels through the label-aware printer', () => {
    const src = ['entry:', 'r1 = 0x0', 'loop:', 'r1 += 0x1', 'if r1 < 0xa goto loop', 'call sub', 'gotol out', 'out:', 'exit', 'sub:', 'r0 = 0x0', 'exit'];
    const parsed = parse(src.join('\n'));
    expect(disassemble(parsed, { labels: true })).toEqual(src);
    const bytes = encode(assemble(parsed));
    // offsets: `if` at slot 2 → loop (slot 1): -2; call at 3 → sub (slot 6): +2; gotol at 4 → out (5): 0
    expect(disassemble(decode(bytes))).toEqual(['r1 = 0x0', 'r1 += 0x1', 'if r1 < 0xa goto -0x2', 'call 0x2', 'gotol +0x0', 'exit', 'r0 = 0x0', 'exit']);
  });
});

describe('assemble()', () => {
  it('resolves labels in slots, counting lddw as two', () => {
    const p = assemble([
      { ...insn.ja('end') },
      insn.lddw('r1', 1n),
      insn.jeq('r1', 0, 'top'),
      { ...insn.exit(), meta: { labels: ['end'] } },
    ].map((i, k) => (k === 0 ? { ...i, meta: { ...i.meta, labels: ['top'] } } : i)));
    expect(p[0]!.off).toBe(3); // slots: ja 0, lddw 1-2, jeq 3, exit 4 → 4 - 1
    expect(p[2]!.off).toBe(-4); // 0 - (3 + 1)
    expect(p[0]!.meta?.ref).toBeUndefined();
  });

  it('resolves bpf-to-bpf calls and function addresses to labels in the list, keeps others symbolic', () => {
    const p = assemble([insn.callFunc('f'), insn.ldFunc('r2', 'f'), insn.callFunc('elsewhere'), insn.ldMapFd('r1', 'm'), insn.exit(), { ...insn.exit(), meta: { labels: ['f'] } }]);
    expect(p[0]!.imm).toBe(6); // f is slot 7 (lddw and ldMapFd take two); from slot 0
    expect(p[1]!.imm).toBe(5); // from slot 1
    expect(p[2]!.meta?.ref).toEqual({ kind: 'call', name: 'elsewhere' });
    expect(p[3]!.meta?.ref).toEqual({ kind: 'map', name: 'm' });
  });

  it('widens an unconditional jump to gotol only when ISA v4 allows it', () => {
    const capture = setSourceCapture(false); // 40,000 stack captures would only slow the test
    const body = Array.from({ length: 40000 }, () => insn.mov64('r0', 0));
    setSourceCapture(capture);
    const prog = [insn.ja('far'), ...body, { ...insn.exit(), meta: { labels: ['far'] } }];
    const v4 = assemble(prog, { isa: 'v4' });
    expect(v4[0]!.opcode).toBe(0x06);
    expect(v4[0]!.imm).toBe(40000);
    expect(() => assemble(prog, { isa: 'v3' })).toThrow(/label 'far'.*beyond ±32767.*gotol/);
  });

  it('rejects instructions above the target ISA level', () => {
    expect(() => assemble([insn.jlt('r1', 1, 0), insn.exit()], { isa: 'v1' })).toThrow(/instruction 0.*needs ISA v2 but the target is v1/);
    expect(() => assemble([insn.jeq32('r1', 1, 0)], { isa: 'v2' })).toThrow(/needs ISA v3/);
    expect(() => assemble([insn.sdiv64('r1', 3)], { isa: 'v3' })).toThrow(/needs ISA v4/);
    expect(() => assemble([insn.atomicFetchAdd64('r1', 0, 'r2')], { isa: 'v2' })).toThrow(/needs ISA v3/);
    expect(assemble([insn.atomicAdd64('r1', 0, 'r2'), insn.jlt('r1', 1, 0)], { isa: 'v2' })).toHaveLength(2);
  });
});
