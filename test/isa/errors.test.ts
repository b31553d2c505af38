/**
 * Misuse is rejected with typed errors that name the instruction, label, line and
 * column — at the builder call (synchronously), at assemble(), at encode() and in text.
 */
import { describe, expect, it } from 'vitest';
import {
  AsmError,
  AsmSyntaxError,
  IsaError,
  asm,
  assemble,
  encode,
  insn,
  parse,
  setSourceCapture,
  type Instruction,
} from '../../dsl/isa/index.js';

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error');
}

describe('jump ranges', () => {
  const filler = (n: number) => {
    const was = setSourceCapture(false);
    const out = Array.from({ length: n }, () => insn.mov64('r0', 0));
    setSourceCapture(was);
    return out;
  };

  it('a conditional jump that cannot reach its label is an error naming label and instruction', () => {
    const prog = [insn.mov64('r1', 0), insn.jeq('r1', 0, 'far'), ...filler(32768), { ...insn.exit(), meta: { labels: ['far'] } }];
    const err = thrown(() => assemble(prog)) as AsmError;
    expect(err).toBeInstanceOf(AsmError);
    expect(err.code).toBe('ASM_JUMP_RANGE');
    expect(err.label).toBe('far');
    expect(err.index).toBe(1);
    expect(err.message).toMatch(/^instruction 1 `if r1 == 0x0 goto far` at .*errors\.test\.ts:\d+:\d+: conditional jump to label 'far' spans 32768 slots/);
  });

  it('exactly 32767 slots still reaches', () => {
    const prog = [insn.jeq('r1', 0, 'far'), ...filler(32767), { ...insn.exit(), meta: { labels: ['far'] } }];
    expect(assemble(prog)[0]!.off).toBe(32767);
  });

  it('backward jumps are checked too; an unconditional one becomes gotol on v4 only', () => {
    const prog = [{ ...insn.mov64('r0', 0), meta: { labels: ['top'] } }, ...filler(32768), insn.ja('top'), insn.exit()];
    const v4 = assemble(prog, { isa: 'v4' });
    expect(v4[32769]).toMatchObject({ opcode: 0x06, imm: -32770, off: 0 });
    const err = thrown(() => assemble(prog, { isa: 'v3' })) as AsmError;
    expect(err.code).toBe('ASM_JUMP_RANGE');
    expect(err.message).toMatch(/instruction 32769 .*label 'top'.*-32770 slots.*gotol \(ISA v4, not v3\)/);
  });
});

describe('labels', () => {
  it('unknown labels name the label and the instruction', () => {
    const err = thrown(() => assemble(asm().mov64('r0', 0).jne('r0', 1, 'nowhere').exit().build())) as AsmError;
    expect(err.code).toBe('ASM_UNKNOWN_LABEL');
    expect(err.label).toBe('nowhere');
    expect(err.message).toMatch(/^instruction 1 `if r0 != 0x1 goto nowhere` at .*errors\.test\.ts:\d+:\d+: jump to unknown label 'nowhere'$/);
  });

  it('duplicate labels: the builder throws at the second label(), assemble() names both instructions', () => {
    const b = asm().label('x').exit();
    expect(() => b.label('x')).toThrow(/label 'x' is defined twice/);
    const twice: Instruction[] = [{ ...insn.exit(), meta: { labels: ['x'] } }, { ...insn.exit(), meta: { labels: ['x'] } }];
    const err = thrown(() => assemble(twice)) as AsmError;
    expect(err.code).toBe('ASM_DUPLICATE_LABEL');
    expect(err.message).toMatch(/label 'x' is defined twice: instruction 0 `exit` \(label 'x'\) and instruction 1 `exit` \(label 'x'\)/);
  });

  it('in text, duplicate and dangling labels name line and column', () => {
    expect(() => parse('a:\n exit\n  a: exit\n', { file: 'd.s' })).toThrow(/^d\.s:3:3: label 'a' is already defined on line 1$/);
    expect(() => parse('exit\nend:\n', { file: 'd.s' })).toThrow(/label 'end' is not followed by an instruction/);
    expect(() => asm().exit().label('end').build()).toThrow(/label 'end' is not followed by an instruction/);
  });

  it('a label reference on a non-jump, and unresolved labels at encode(), are errors', () => {
    const bad: Instruction = { ...insn.mov64('r0', 0), meta: { ref: { kind: 'label', name: 'l' } } };
    expect(() => assemble([bad])).toThrow(/label reference 'l' on an instruction that is not a jump/);
    expect(() => encode([insn.ja('l')])).toThrow(/jump to label 'l' is unresolved; assemble\(\)/);
  });
});

describe('registers', () => {
  it('writing r10 is a type error and a runtime error', () => {
    // @ts-expect-error r10 is not a WritableRegister
    expect(() => insn.mov64('r10', 1)).toThrow(/mov64 destination: r10 is the read-only frame pointer/);
    // @ts-expect-error r10 is not a WritableRegister
    expect(() => asm().ldxdw('r10', 'r1', 0)).toThrow(/ldxdw destination: r10/);
    // @ts-expect-error r10 is not a WritableRegister
    expect(() => insn.lddw('r10', 1n)).toThrow(IsaError);
    // fetch atomics write their source register
    // @ts-expect-error r10 is not a WritableRegister
    expect(() => insn.atomicFetchAdd64('r1', 0, 'r10')).toThrow(/receives the old value.*r10/);
    // reading r10 is fine
    expect(insn.mov64('r1', 'r10').src).toBe(10);
    expect(insn.stxdw('r10', -8, 'r10').dst).toBe(10);
  });

  it('bad register names are type errors and runtime errors', () => {
    // @ts-expect-error not a register
    expect(() => insn.add64('r11', 1)).toThrow(/'r11' is not a register/);
    // @ts-expect-error not a register
    expect(() => insn.jeq('r1', 'w2', 0)).toThrow(/'w2' is not a register/);
  });

  it('text: writes to r10 and mixed widths are rejected with line:column', () => {
    expect(() => parse('r0 = 1\n  r10 = 5\n', { file: 'w.s' })).toThrow(/^w\.s:2:3: r10 is the read-only frame pointer/);
    expect(() => parse('r10 += r1', { file: 'w.s' })).toThrow(/^w\.s:1:1: r10/);
    expect(() => parse('r0 = atomic_fetch_add((u64 *)(r1 + 0), r10)', { file: 'w.s' })).toThrow(/w\.s:1:\d+: .*returns into its source register/);
    expect(() => parse('w1 += r2', { file: 'w.s' })).toThrow(/^w\.s:1:7: both operands/);
  });
});

describe('immediates, offsets and widths', () => {
  it('builder checks ranges synchronously', () => {
    expect(() => insn.add64('r1', 2 ** 32)).toThrow(/add64 immediate: 4294967296 is not a 32-bit integer/);
    expect(() => insn.ldxw('r1', 'r2', 40000)).toThrow(/ldxw offset: 40000 is not a signed 16-bit offset/);
    expect(() => insn.jeq('r1', 0, 32768)).toThrow(/jeq offset/);
    expect(() => insn.lddw('r1', 1n << 64n)).toThrow(/does not fit in 64 bits/);
    expect(() => insn.lddw('r1', 2 ** 60)).toThrow(/not a safe integer; pass a bigint/);
    // @ts-expect-error 24 is not a width
    expect(() => insn.bswap('r1', 24)).toThrow(/bswap: width must be 16, 32 or 64/);
    // @ts-expect-error no 32-bit movsx32
    expect(() => insn.movsx32('r1', 'r2', 32)).toThrow(/movsx32: width must be 8 or 16/);
    expect(() => asm().label('9bad')).toThrow(/'9bad' is not a valid label name/);
  });

  it('illegal size/mode combinations are rejected by encode() naming the instruction and its label', () => {
    const cases: [Instruction, RegExp][] = [
      [{ opcode: 0xd3, dst: 1, src: 2, off: 0, imm: 0 }, /atomics exist only in W and DW/], // ATOMIC | B
      [{ opcode: 0xcb, dst: 1, src: 2, off: 0, imm: 0 }, /atomics exist only in W and DW/], // ATOMIC | H
      [{ opcode: 0x99, dst: 1, src: 2, off: 0, imm: 0 }, /sign-extending load has no DW size/], // LDX MEMSX DW
      [{ opcode: 0x21, dst: 1, src: 2, off: 0, imm: 0 }, /class LDX allows only MEM and MEMSX/], // LDX ABS
      [{ opcode: 0x38, dst: 0, src: 0, off: 0, imm: 0 }, /legacy packet loads have no DW size/], // LD ABS DW
      [{ opcode: 0x82, dst: 1, src: 0, off: 0, imm: 0 }, /class ST allows only MEM/], // ST MEMSX
      [{ opcode: 0xdb, dst: 1, src: 2, off: 0, imm: 0x02 }, /unknown atomic operation 0x02/],
      [{ opcode: 0x3f, dst: 1, src: 2, off: 2, imm: 0 }, /offset must be 0 \(unsigned\) or 1 \(signed\)/],
      [{ opcode: 0xbc, dst: 1, src: 2, off: 32, imm: 0 }, /sign-extension width must be one of 0, 8, 16/],
    ];
    for (const [raw, re] of cases) {
      const prog: Instruction[] = [insn.exit(), { ...raw, meta: { labels: ['here'] } }];
      const err = thrown(() => encode(prog)) as AsmError;
      expect(err, re.source).toBeInstanceOf(AsmError);
      expect(err.message).toMatch(/^instruction 1 \(label 'here'\): /);
      expect(err.message).toMatch(re);
      expect(err.index).toBe(1);
    }
  });

  it('text: out-of-range values and bad syntax name line and column', () => {
    const cases: [string, RegExp][] = [
      ['r0 = 4294967296', /^t\.s:1:6: immediate 4294967296 does not fit in 32 bits$/],
      ['r1 = *(u8 *)(r2 + 0x8000)', /^t\.s:1:19: offset 32768 is not a 16-bit signed integer$/],
      ['  goto +0x8000', /^t\.s:1:8: jump offset 32768 does not fit in 16 bits$/],
      ['r1 = *(u64 *)skb[4]', /^t\.s:1:8: legacy packet loads are u8, u16 or u32$/],
      ['lock *(u16 *)(r1 + 0) += r2', /^t\.s:1:8: atomic operations exist only on u32 and u64$/],
      ['w1 = *(s8 *)(r2 + 0)', /^t\.s:1:1: a sign-extending load needs an r register$/],
      ['r1 = (s64)r2', /^t\.s:1:6: cannot parse/],
      ['if r1 =< r2 goto +1', /^t\.s:1:7: expected a comparison operator, found '='$/],
      ['r1 = r2 + 1', /^t\.s:1:9: unexpected '\+' after the instruction$/],
      ['frobnicate r1', /^t\.s:1:1: unknown instruction starting with 'frobnicate'$/],
      ['r1 = 0x1g', /^t\.s:1:6: malformed number '0x1g'$/],
      ['exit ; x', /^t\.s:1:6: unexpected character ';'$/],
      ['if r1 > 0 goto', /^t\.s:1:15: unexpected end of line$/],
      ['.section foo', /^t\.s:1:1: directive '\.section' is not supported$/],
      ['call -', /^t\.s:1:6: expected a helper id or function name, found '-'$/],
    ];
    for (const [line, re] of cases) {
      const err = thrown(() => parse(line, { file: 't.s' }));
      expect(err, line).toBeInstanceOf(AsmSyntaxError);
      expect(err.message, line).toMatch(re);
    }
    const e = thrown(() => parse('exit\n\n  r1 = (s8)w2\n', { file: 'x.s' })) as AsmSyntaxError;
    expect([e.line, e.column]).toEqual([3, 12]);
  });
});

describe('source locations', () => {
  it('builder instructions carry the caller file:line:column', () => {
    const line = Number(new Error().stack!.split('\n')[1]!.match(/:(\d+):\d+\)?$/)![1]) + 1;
    const i = insn.mov64('r1', 2);
    expect(i.meta?.source?.file).toMatch(/test\/isa\/errors\.test\.ts$/);
    expect(i.meta?.source?.line).toBe(line);
    const [a, b] = asm().mov64('r0', 0).exit().build();
    expect(a!.meta?.source?.line).toBe(line + 3);
    expect(b!.meta?.source?.line).toBe(line + 3);
  });

  it('parsed instructions carry file, line, column and the source text', () => {
    const [i] = parse('\n\n   r1 += 3  # comment\n', { file: 'p.s' });
    expect(i!.meta?.source).toEqual({ file: 'p.s', line: 3, column: 4, text: 'r1 += 3  # comment' });
  });
});
