/**
 * One or more calls of every instruction constructor, with edge values. `allForms`
 * records which constructors it used so the tests can prove nothing is missed.
 */
import { insn, type Instruction, type Register, type WritableRegister } from '../../dsl/isa/index.js';

type Insn = typeof insn;

/** Calls every constructor; returns the instructions and the set of constructor names used. */
export function allForms(): { insns: Instruction[]; used: Set<string> } {
  const used = new Set<string>();
  const I = new Proxy(insn, {
    get(target, key: string) {
      used.add(key);
      return target[key as keyof Insn];
    },
  }) as Insn;
  const out: Instruction[] = [];
  const regs: WritableRegister[] = ['r0', 'r1', 'r5', 'r9'];
  const alu = ['add', 'sub', 'mul', 'div', 'sdiv', 'or', 'and', 'lsh', 'rsh', 'arsh', 'mod', 'smod', 'xor', 'mov'] as const;
  for (const op of alu)
    for (const w of ['64', '32'] as const) {
      const f = I[`${op}${w}`];
      out.push(f('r1', 'r2'), f('r9', 'r10'), f('r0', 7), f('r3', -1), f('r4', 0x7fffffff), f('r5', -0x80000000), f('r6', 0xffffffff));
    }
  for (const r of regs) out.push(I.neg64(r), I.neg32(r));
  for (const b of [8, 16, 32] as const) out.push(I.movsx64('r1', 'r10', b));
  for (const b of [8, 16] as const) out.push(I.movsx32('r2', 'r3', b));
  for (const b of [16, 32, 64] as const) out.push(I.le('r1', b), I.be('r2', b), I.bswap('r3', b));
  const jumps = ['jeq', 'jgt', 'jge', 'jset', 'jne', 'jsgt', 'jsge', 'jlt', 'jle', 'jslt', 'jsle'] as const;
  for (const j of jumps)
    for (const w of ['', '32'] as const) {
      const f = I[`${j}${w}`];
      out.push(f('r1', 'r2', 0), f('r10', 5, -1), f('r0', -7, 32767), f('r3', 'r10', -32768));
    }
  out.push(I.ja(0), I.ja(-32768), I.ja(32767), I.gotol(0), I.gotol(-0x80000000), I.gotol(0x7fffffff), I.mayGoto(3), I.mayGoto(-32768));
  out.push(I.addrSpaceCast('r1', 'r2', 0, 1), I.addrSpaceCast('r3', 'r10', 1, 0), I.addrSpaceCast('r4', 'r5', 0xffff, 0xffff));
  out.push(I.call(1), I.call(212), I.callFunc(-1), I.callFunc(5), I.kfunc(0), I.kfunc(12345), I.exit());
  const sizes = ['b', 'h', 'w', 'dw'] as const;
  for (const s of sizes) {
    out.push(I[`ldx${s}`]('r0', 'r10', -8), I[`ldx${s}`]('r9', 'r1', 32767));
    out.push(I[`st${s}`]('r10', -32768, -1), I[`st${s}`]('r1', 0, 0x7fffffff));
    out.push(I[`stx${s}`]('r10', -8, 'r10'), I[`stx${s}`]('r1', 4, 'r0'));
  }
  for (const s of ['b', 'h', 'w'] as const) out.push(I[`ldxs${s}`]('r1', 'r2', -4), I[`ldabs${s}`](14), I[`ldind${s}`]('r7', -2));
  const atomics = ['Add', 'Or', 'And', 'Xor', 'FetchAdd', 'FetchOr', 'FetchAnd', 'FetchXor', 'Xchg', 'Cmpxchg'] as const;
  for (const a of atomics)
    for (const w of ['32', '64'] as const) out.push(I[`atomic${a}${w}`]('r1', -8, 'r2'), I[`atomic${a}${w}`]('r10', 0, 'r0'));
  out.push(
    I.lddw('r1', 0n),
    I.lddw('r2', -1n),
    I.lddw('r3', 0x123456789abcdef0n),
    I.lddw('r4', (1n << 64n) - 1n),
    I.lddw('r5', -(1n << 63n)),
    I.lddw('r6', 42),
    I.ldMapFd('r1', 7),
    I.ldMapValue('r2', 7, 16),
    I.ldBtfId('r3', 1234),
    I.ldFunc('r4', 3),
    I.ldMapIdx('r5', 2),
    I.ldMapIdxValue('r6', 2, 0xffff),
  );
  // Symbolic forms: placeholders that later layers relocate.
  out.push(I.ldMapFd('r1', 'events'), I.ldMapValue('r2', 'config', 8), I.ldGlobal('r3', 'rodata_var', 4), I.ldFunc('r4', 'callback'));
  out.push(I.callFunc('helper_fn'), I.kfunc('bpf_obj_new_impl'));
  return { insns: out, used };
}

/** Registers for type-level checks. */
export type { Register };
