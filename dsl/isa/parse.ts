/**
 * Assembly text → `Instruction[]`, in the LLVM BPF syntax that `llvm-objdump -d`
 * prints and `llvm-mc -triple bpfel` accepts. Labels (`name:`) attach to the next
 * instruction; `goto name` / `if … goto name` become label references resolved by
 * `assemble()`; `call name` is a bpf-to-bpf call; `rN = name ll` is a 64-bit
 * symbol address (map or global) left for relocation.
 *
 * Deliberately stricter than llvm-mc where it would silently produce something
 * else: immediates that do not fit are errors (llvm-mc truncates), writing r10 is
 * an error. Upper-case registers, a second sign in `(rN - -8)` and 32-bit
 * `lock … |=/&=/^=` with an r register are errors, as in llvm-mc (which reads
 * only the mnemonic case-insensitively). One deliberate leniency: `gotol`
 * takes a 32-bit offset (llvm-mc 19 parses only 16 bits, though the
 * instruction and llvm-objdump use 32). Comments start with `#` or `//`. A trailing llvm-objdump annotation
 * such as `<prog+0x10>` after a jump target is ignored, so dump output re-assembles.
 */
import { AsmSyntaxError, IsaError } from './errors.js';
import type { Instruction, Register, SourceLocation, WritableRegister } from './instruction.js';
import { insn, type JumpTarget } from './insn.js';
import { AtomicOp, Class, LDDW, Mode, Size } from './opcodes.js';
import { setSourceCapture } from './source.js';

type TokKind = 'ident' | 'num' | 'punct' | 'annot';
interface Tok {
  kind: TokKind;
  text: string;
  col: number;
  value?: bigint;
}

const PUNCT = ['s>>=', 's>=', 's<=', 's/=', 's%=', '<<=', '>>=', '<<', '>>', 's>', 's<', '+=', '-=', '*=', '/=', '|=', '&=', '%=', '^=', '==', '!=', '>=', '<=', '>', '<', '=', '&', '(', ')', '*', '+', '-', ',', '[', ']', ':'];

/** Options of `parse()`. */
export interface ParseOptions {
  /** File name used in error messages and source locations. */
  readonly file?: string;
}

class LineParser {
  readonly toks: Tok[] = [];
  pos = 0;
  constructor(
    readonly file: string,
    readonly line: number,
    readonly text: string,
  ) {}

  fail(col: number, msg: string): never {
    throw new AsmSyntaxError(this.file, this.line, col, clipQuotes(msg));
  }

  tokenize(): void {
    const s = this.text;
    let i = 0;
    while (i < s.length) {
      const c = s[i]!;
      if (c === ' ' || c === '\t' || c === '\r') {
        i++;
        continue;
      }
      if (c === '#' || (c === '/' && s[i + 1] === '/')) break;
      const col = i + 1;
      if (/[0-9]/.test(c)) {
        const m = /^(0[xX][0-9a-fA-F]+|0[bB][01]+|[0-9]+)/.exec(s.slice(i))!;
        let lit = m[0];
        if (/[A-Za-z_$.]/.test(s[i + lit.length] ?? '')) this.fail(col, `malformed number '${/^[\w$.]+/.exec(s.slice(i))![0]}'`);
        let value: bigint;
        if (/^0[bB]/.test(lit)) value = BigInt(lit);
        else if (/^0[0-9]+$/.test(lit)) {
          if (/[89]/.test(lit)) this.fail(col, `malformed octal number '${lit}'`);
          value = BigInt(`0o${lit.slice(1)}`);
        } else value = BigInt(lit);
        this.toks.push({ kind: 'num', text: lit, col, value });
        i += lit.length;
        continue;
      }
      if (/[A-Za-z_.$]/.test(c)) {
        const m = /^[A-Za-z_.$][\w.$]*/.exec(s.slice(i))!;
        const word = m[0];
        // Signed operators are spelled with a leading 's': s/=, s%=, s>>=, s>, s>=, s<, s<=.
        if (word === 's') {
          const op = PUNCT.find((p) => p.startsWith('s') && s.startsWith(p, i));
          if (op) {
            this.toks.push({ kind: 'punct', text: op, col });
            i += op.length;
            continue;
          }
        }
        this.toks.push({ kind: 'ident', text: word, col });
        i += word.length;
        continue;
      }
      if (c === '<' && this.toks.some((t) => t.text === 'goto' || t.text === 'gotol')) {
        // llvm-objdump jump annotation at the end of the line: `<sym+0x10>`, ignored.
        const m = /^<[^\s<>]+>(?=\s*(#|\/\/|$))/.exec(s.slice(i));
        if (m) {
          this.toks.push({ kind: 'annot', text: m[0], col });
          i += m[0].length;
          continue;
        }
      }
      const p = PUNCT.find((q) => !q.startsWith('s') && s.startsWith(q, i));
      if (!p) this.fail(col, `unexpected character '${c}'`);
      this.toks.push({ kind: 'punct', text: p, col });
      i += p.length;
    }
  }

  peek(k = 0): Tok | undefined {
    return this.toks[this.pos + k];
  }
  get col(): number {
    return this.peek()?.col ?? this.text.replace(/\s*(#|\/\/).*$/, '').trimEnd().length + 1;
  }
  at(text: string, k = 0): boolean {
    const t = this.peek(k);
    return t !== undefined && t.kind !== 'num' && t.text === text;
  }
  next(): Tok {
    const t = this.toks[this.pos];
    if (!t) this.fail(this.col, 'unexpected end of line');
    this.pos++;
    return t;
  }
  expect(text: string): Tok {
    const t = this.peek();
    if (!t || t.kind === 'num' || t.text !== text) this.fail(this.col, `expected '${text}'${t ? ` but found '${t.text}'` : ' at end of line'}`);
    this.pos++;
    return t;
  }
  done(): boolean {
    return this.pos >= this.toks.length;
  }
  end(): void {
    const t = this.peek();
    if (t) this.fail(t.col, `unexpected '${t.text}' after the instruction`);
  }

  /** A register token: `r0`–`r10` or `w0`–`w10` (lower case, as llvm-mc requires outside the mnemonic). */
  isReg(k = 0): boolean {
    const t = this.peek(k);
    return t?.kind === 'ident' && /^[rw](10|[0-9])$/.test(t.text);
  }
  reg(): { n: number; w: boolean; col: number } {
    const t = this.peek();
    if (!this.isReg()) {
      this.refuseUpperCaseRegister();
      this.fail(this.col, `expected a register${t ? ` but found '${t.text}'` : ''}`);
    }
    this.pos++;
    return { n: Number(t!.text.slice(1)), w: t!.text.startsWith('w'), col: t!.col };
  }

  /** Fails naming the fix when the next token is an upper-case register (`R1`; llvm-mc takes it for a symbol). */
  refuseUpperCaseRegister(): void {
    const t = this.peek();
    if (t?.kind === 'ident' && /^[RW](10|[0-9])$/.test(t.text)) this.fail(t.col, `registers are lower case: write '${t.text.toLowerCase()}', not '${t.text}'`);
  }

  /** Optionally signed integer literal. */
  isNum(k = 0): boolean {
    const t = this.peek(k);
    if (t?.kind === 'num') return true;
    return (t?.text === '-' || t?.text === '+') && this.peek(k + 1)?.kind === 'num';
  }
  num(): { v: bigint; col: number } {
    const col = this.col;
    let sign = 1n;
    if (this.at('-')) {
      sign = -1n;
      this.pos++;
    } else if (this.at('+')) this.pos++;
    const t = this.peek();
    if (t?.kind !== 'num') {
      this.refuseUpperCaseRegister();
      this.fail(this.col, `expected a number${t ? ` but found '${t.text}'` : ''}`);
    }
    this.pos++;
    return { v: sign * t.value!, col };
  }
  /** A 32-bit immediate: signed or unsigned 32-bit range, wrapped to signed. */
  imm32(): number {
    const { v, col } = this.num();
    if (v < -(1n << 31n) || v >= 1n << 32n) this.fail(col, `immediate ${v} does not fit in 32 bits`);
    return Number(BigInt.asIntN(32, v));
  }
  off16(): number {
    const { v, col } = this.num();
    if (v < -32768n || v > 32767n) this.fail(col, `offset ${v} is not a 16-bit signed integer`);
    return Number(v);
  }
  /** `(rN + off)` / `(rN - off)` without the parentheses. */
  addr(): { base: number; off: number } {
    const base = this.reg();
    if (base.w) this.fail(base.col, 'memory base must be an r register');
    const signTok = this.peek();
    if (!signTok || (signTok.text !== '+' && signTok.text !== '-')) this.fail(this.col, "expected '+' or '-' and an offset");
    this.pos++;
    // The sign is the operator: a second one (`r10 - - 8`, `r10 + -8`) is an error, as in llvm-mc.
    const unsigned = this.peek();
    if (unsigned?.kind !== 'num') this.fail(this.col, `expected an unsigned offset after '${signTok.text}'${unsigned ? ` but found '${unsigned.text}'` : ''}`);
    const { v, col } = this.num();
    const off = signTok.text === '-' ? -v : v;
    if (off < -32768n || off > 32767n) this.fail(col, `offset ${off} is not a 16-bit signed integer`);
    return { base: base.n, off: Number(off) };
  }
  /** `(uN *)` / `(sN *)` → size and signedness. */
  sizeCast(): { size: number; signed: boolean; bits: number; col: number } {
    this.expect('(');
    const t = this.next();
    const m = /^([us])(8|16|32|64)$/.exec(t.text);
    if (t.kind !== 'ident' || !m) this.fail(t.col, `expected a size such as u32 or s16, found '${t.text}'`);
    this.expect('*');
    this.expect(')');
    const bits = Number(m[2]);
    const size = bits === 8 ? Size.B : bits === 16 ? Size.H : bits === 32 ? Size.W : Size.DW;
    return { size, signed: m[1] === 's', bits, col: t.col };
  }
  /** Jump target: `+N`, `-N`, `N` or a label, then an optional `<annotation>`. */
  target(wide: boolean): JumpTarget {
    let out: JumpTarget;
    if (this.isNum()) {
      const { v, col } = this.num();
      const lim = wide ? 1n << 31n : 1n << 15n;
      if (v < -lim || v >= lim) this.fail(col, `jump offset ${v} does not fit in ${wide ? 32 : 16} bits`);
      out = Number(v);
    } else {
      const t = this.next();
      if (t.kind !== 'ident') this.fail(t.col, `expected a jump target (label or offset), found '${t.text}'`);
      out = t.text;
    }
    if (this.peek()?.kind === 'annot') this.pos++;
    return out;
  }
}

const w = (n: number) => `r${n}` as WritableRegister;
const r = (n: number) => `r${n}` as Register;

const aluByPunct: Record<string, [string, string]> = {
  '+=': ['add64', 'add32'], '-=': ['sub64', 'sub32'], '*=': ['mul64', 'mul32'], '/=': ['div64', 'div32'],
  's/=': ['sdiv64', 'sdiv32'], '|=': ['or64', 'or32'], '&=': ['and64', 'and32'], '<<=': ['lsh64', 'lsh32'],
  '>>=': ['rsh64', 'rsh32'], 's>>=': ['arsh64', 'arsh32'], '%=': ['mod64', 'mod32'], 's%=': ['smod64', 'smod32'],
  '^=': ['xor64', 'xor32'],
};
const jmpByPunct: Record<string, string> = {
  '==': 'jeq', '>': 'jgt', '>=': 'jge', '&': 'jset', '!=': 'jne', 's>': 'jsgt', 's>=': 'jsge',
  '<': 'jlt', '<=': 'jle', 's<': 'jslt', 's<=': 'jsle',
};
const atomicByPunct: Record<string, number> = { '+=': AtomicOp.ADD, '|=': AtomicOp.OR, '&=': AtomicOp.AND, '^=': AtomicOp.XOR };
const fetchByName: Record<string, number> = { add: AtomicOp.ADD, or: AtomicOp.OR, and: AtomicOp.AND, xor: AtomicOp.XOR };

type Ctor = (...args: unknown[]) => Instruction;
const ctor = (name: string) => (insn as unknown as Record<string, Ctor>)[name]!;

function atomicInsn(size: number, imm: number, base: number, off: number, src: number): Instruction {
  return { opcode: Class.STX | size | Mode.ATOMIC, dst: base, src, off, imm };
}

/** Longest user text quoted in an error message; longer literals are cut. */
const MAX_QUOTED = 40;

/** `msg` with every quoted piece and number longer than {@link MAX_QUOTED} cut, so a huge bad literal cannot flood the message. */
function clipQuotes(msg: string): string {
  return msg
    .replace(/'([^']{41,})'/g, (_m, q: string) => `'${q.slice(0, MAX_QUOTED)}…' (${q.length} characters)`)
    .replace(/\b\d{41,}\b/g, (d) => `${d.slice(0, 20)}… (a ${d.length}-digit number)`);
}

/** Parses one statement (tokens of a line after any labels). */
function statement(p: LineParser): Instruction {
  // llvm-mc reads the first word of a statement (the mnemonic) case-insensitively: `EXIT`, `R1 = 5`.
  if (p.peek()?.kind === 'ident') p.toks[p.pos] = { ...p.peek()!, text: p.peek()!.text.toLowerCase() };
  const first = p.peek()!;
  const kw = first.kind === 'ident' ? first.text : '';
  if (kw === 'exit') {
    p.next();
    return insn.exit();
  }
  if (kw === 'call') {
    p.next();
    if (p.isNum()) return insn.call(p.imm32());
    const t = p.next();
    if (t.kind !== 'ident') p.fail(t.col, `expected a helper id or function name, found '${t.text}'`);
    return insn.callFunc(t.text);
  }
  if (kw === 'callx') p.fail(first.col, 'callx (indirect call) is not supported by the kernel');
  if (kw === 'may_goto') {
    p.next();
    return insn.mayGoto(p.target(false));
  }
  if (kw === 'goto' || kw === 'gotol') {
    p.next();
    const to = p.target(kw === 'gotol');
    return kw === 'goto' ? insn.ja(to) : insn.gotol(to);
  }
  if (kw === 'if') {
    p.next();
    const a = p.reg();
    const opTok = p.next();
    const base = jmpByPunct[opTok.text];
    if (opTok.kind !== 'punct' || !base) p.fail(opTok.col, `expected a comparison operator, found '${opTok.text}'`);
    let rhs: Register | number;
    if (p.isReg()) {
      const b = p.reg();
      if (b.w !== a.w) p.fail(b.col, 'both operands of a comparison must be r registers (64-bit) or w registers (32-bit)');
      rhs = r(b.n);
    } else rhs = p.imm32();
    p.expect('goto');
    const to = p.target(false);
    return ctor(a.w ? `${base}32` : base)(r(a.n), rhs, to);
  }
  if (kw === 'ld_pseudo') {
    p.next();
    const d = p.reg();
    p.expect(',');
    const srcCol = p.col;
    const src = p.num().v;
    if (src < 0n || src > 6n) p.fail(srcCol, `pseudo source ${src} is not 0–6`);
    p.expect(',');
    const imm = p.imm32();
    if (d.n === 10) p.fail(d.col, 'r10 is the read-only frame pointer and cannot be written');
    if (d.w) p.fail(d.col, 'ld_pseudo loads a 64-bit value: it needs an r register');
    return { opcode: LDDW, dst: d.n, src: Number(src), off: 0, imm, imm64: BigInt(imm >>> 0) };
  }
  if (kw === 'lock') {
    p.next();
    p.expect('*');
    const c = p.sizeCast();
    if (c.signed || (c.bits !== 32 && c.bits !== 64)) p.fail(c.col, 'atomic operations exist only on u32 and u64');
    p.expect('(');
    const { base, off } = p.addr();
    p.expect(')');
    const opTok = p.next();
    const op = atomicByPunct[opTok.text];
    if (op === undefined) p.fail(opTok.col, `expected +=, |=, &= or ^=, found '${opTok.text}'`);
    const s = p.reg();
    if (s.w && c.bits === 64) p.fail(s.col, 'a 64-bit atomic takes an r register');
    // 32-bit or/and/xor take a w register; only += (the old xadd) also accepts an r register.
    if (!s.w && c.bits === 32 && opTok.text !== '+=') p.fail(s.col, `a 32-bit atomic ${opTok.text} takes a w register: lock *(u32 *)(…) ${opTok.text} w${s.n}`);
    return atomicInsn(c.size, op, base, off, s.n);
  }
  if (first.text === '*') {
    p.next();
    const c = p.sizeCast();
    if (c.signed) p.fail(c.col, 'stores take an unsigned size (u8, u16, u32, u64)');
    p.expect('(');
    const { base, off } = p.addr();
    p.expect(')');
    p.expect('=');
    if (p.isReg()) {
      const s = p.reg();
      if (s.w && c.bits === 64) p.fail(s.col, 'a 64-bit store takes an r register');
      return ctor(['stxb', 'stxh', 'stxw', 'stxdw'][Math.log2(c.bits) - 3]!)(r(base), off, r(s.n));
    }
    return ctor(['stb', 'sth', 'stw', 'stdw'][Math.log2(c.bits) - 3]!)(r(base), off, p.imm32());
  }
  if (p.isReg()) return assignment(p);
  return p.fail(first.col, `unknown instruction starting with '${first.text}'`);
}

/** Statements that start with a register: `rD = …` and `rD op= …`. */
function assignment(p: LineParser): Instruction {
  const d = p.reg();
  const writeCheck = () => {
    if (d.n === 10) p.fail(d.col, 'r10 is the read-only frame pointer and cannot be written');
  };
  const opTok = p.next();
  const alu = aluByPunct[opTok.text];
  if (alu) {
    writeCheck();
    if (p.isReg()) {
      const s = p.reg();
      if (s.w !== d.w) p.fail(s.col, 'both operands must be r registers (64-bit) or w registers (32-bit)');
      return ctor(alu[d.w ? 1 : 0])(w(d.n), r(s.n));
    }
    return ctor(alu[d.w ? 1 : 0])(w(d.n), p.imm32());
  }
  if (opTok.text !== '=') p.fail(opTok.col, `expected '=' or an operator such as '+=', found '${opTok.text}'`);
  const t = p.peek();
  if (!t) p.fail(p.col, 'expected a value after =');

  // rD = -rD
  if (t.text === '-' && p.isReg(1)) {
    p.next();
    const s = p.reg();
    if (s.n !== d.n || s.w !== d.w) p.fail(s.col, `negation must be in place: ${d.w ? 'w' : 'r'}${d.n} = -${d.w ? 'w' : 'r'}${d.n}`);
    writeCheck();
    return d.w ? insn.neg32(w(d.n)) : insn.neg64(w(d.n));
  }
  // rD = imm [ll]  /  rD = symbol ll
  if (p.isNum()) {
    const save = p.pos;
    const { v, col } = p.num();
    if (p.at('ll')) {
      p.next();
      if (d.w) p.fail(d.col, 'a 64-bit immediate load needs an r register');
      if (v < -(1n << 63n) || v >= 1n << 64n) p.fail(col, `immediate ${v} does not fit in 64 bits`);
      writeCheck();
      return insn.lddw(w(d.n), v);
    }
    p.pos = save;
    writeCheck();
    const imm = p.imm32();
    return d.w ? insn.mov32(w(d.n), imm) : insn.mov64(w(d.n), imm);
  }
  if (t.kind === 'ident' && p.at('ll', 1) && !p.isReg()) {
    p.next();
    p.next();
    if (d.w) p.fail(d.col, 'a 64-bit address load needs an r register');
    writeCheck();
    const base = insn.lddw(w(d.n), 0);
    return { ...base, meta: { ...base.meta, ref: { kind: 'map', name: t.text } } };
  }
  // rD = rS
  if (p.isReg()) {
    const s = p.reg();
    if (s.w !== d.w) p.fail(s.col, 'both operands must be r registers (64-bit) or w registers (32-bit)');
    writeCheck();
    return d.w ? insn.mov32(w(d.n), r(s.n)) : insn.mov64(w(d.n), r(s.n));
  }
  // rD = (sN)rS
  if (t.text === '(' && /^s(8|16|32)$/.test(p.peek(1)?.text ?? '') && p.at(')', 2)) {
    p.next();
    const bits = Number(p.next().text.slice(1));
    p.next();
    const s = p.reg();
    if (s.w !== d.w) p.fail(s.col, 'sign-extending move takes two r registers or two w registers');
    if (d.w && bits === 32) p.fail(t.col, '32-bit sign-extending move is only from s8 or s16');
    writeCheck();
    return d.w ? insn.movsx32(w(d.n), r(s.n), bits as 8 | 16) : insn.movsx64(w(d.n), r(s.n), bits as 8 | 16 | 32);
  }
  // rD = addr_space_cast(rS, dst_as, src_as)
  if (t.kind === 'ident' && t.text === 'addr_space_cast') {
    p.next();
    p.expect('(');
    const s = p.reg();
    p.expect(',');
    const dstAs = p.num();
    p.expect(',');
    const srcAs = p.num();
    p.expect(')');
    for (const a of [dstAs, srcAs]) if (a.v < 0n || a.v > 0xffffn) p.fail(a.col, `address space ${a.v} is not 0–65535`);
    if (d.w || s.w) p.fail(d.col, 'addr_space_cast takes r registers');
    writeCheck();
    return insn.addrSpaceCast(w(d.n), r(s.n), Number(dstAs.v), Number(srcAs.v));
  }
  // rD = le16 rD / be32 / bswap64
  const swap = t.kind === 'ident' ? /^(le|be|bswap)(16|32|64)$/.exec(t.text) : null;
  if (swap) {
    p.next();
    const s = p.reg();
    if (d.w || s.w || s.n !== d.n) p.fail(s.col, `byte swap must be in place on an r register: r${d.n} = ${t.text} r${d.n}`);
    writeCheck();
    const bits = Number(swap[2]) as 16 | 32 | 64;
    return swap[1] === 'le' ? insn.le(w(d.n), bits) : swap[1] === 'be' ? insn.be(w(d.n), bits) : insn.bswap(w(d.n), bits);
  }
  // Loads: rD = *(uN *)(rS + off), rD = *(sN *)(…), r0 = *(uN *)skb[…]
  if (t.text === '*') {
    p.next();
    const c = p.sizeCast();
    if (p.at('skb')) {
      p.next();
      if (c.signed || c.bits === 64) p.fail(c.col, 'legacy packet loads are u8, u16 or u32');
      if (d.n !== 0 || d.w) p.fail(d.col, 'legacy packet loads always write r0');
      p.expect('[');
      let out: Instruction;
      const name = c.bits === 8 ? 'b' : c.bits === 16 ? 'h' : 'w';
      if (p.isReg()) {
        const s = p.reg();
        if (s.w) p.fail(s.col, 'the index must be an r register');
        out = ctor(`ldind${name}`)(r(s.n), 0);
      } else out = ctor(`ldabs${name}`)(p.imm32());
      p.expect(']');
      return out;
    }
    p.expect('(');
    const { base, off } = p.addr();
    p.expect(')');
    if (d.w && (c.signed || c.bits === 64)) p.fail(d.col, `a ${c.signed ? 'sign-extending' : '64-bit'} load needs an r register`);
    if (c.signed && c.bits === 64) p.fail(c.col, 'sign-extending loads are s8, s16 or s32');
    writeCheck();
    const name = `ldx${c.signed ? 's' : ''}${['b', 'h', 'w', 'dw'][Math.log2(c.bits) - 3]}`;
    return ctor(name)(w(d.n), r(base), off);
  }
  // Atomics with a result register.
  if (t.kind === 'ident') {
    const fetch = /^atomic_fetch_(add|or|and|xor)$/.exec(t.text);
    if (fetch) {
      p.next();
      p.expect('(');
      const c = p.sizeCast();
      if (c.signed || (c.bits !== 32 && c.bits !== 64)) p.fail(c.col, 'atomic operations exist only on u32 and u64');
      p.expect('(');
      const { base, off } = p.addr();
      p.expect(')');
      p.expect(',');
      const s = p.reg();
      p.expect(')');
      if (s.n !== d.n || s.w !== d.w || d.w !== (c.bits === 32))
        p.fail(s.col, `atomic_fetch_${fetch[1]} returns into its source register: ${c.bits === 32 ? 'w' : 'r'}N = atomic_fetch_${fetch[1]}((u${c.bits} *)(…), ${c.bits === 32 ? 'w' : 'r'}N)`);
      writeCheck();
      return atomicInsn(c.size, fetchByName[fetch[1]!]! | AtomicOp.FETCH, base, off, s.n);
    }
    const xc = /^(xchg|xchg32|cmpxchg|cmpxchg32)_(32|64)$/.exec(t.text);
    if (xc && ['xchg_64', 'xchg32_32', 'cmpxchg_64', 'cmpxchg32_32'].includes(t.text)) {
      p.next();
      const is32 = xc[2] === '32';
      const cmp = xc[1]!.startsWith('cmp');
      p.expect('(');
      const { base, off } = p.addr();
      p.expect(',');
      const a = p.reg();
      let s = a;
      if (cmp) {
        p.expect(',');
        s = p.reg();
      }
      p.expect(')');
      const regsOk = [d, a, s].every((x) => x.w === is32);
      if (!regsOk) p.fail(d.col, `${t.text} takes ${is32 ? 'w' : 'r'} registers`);
      if (cmp ? d.n !== 0 || a.n !== 0 : a.n !== d.n) p.fail(a.col, cmp ? `${t.text} compares and returns in r0/w0` : `${t.text} returns into its source register`);
      writeCheck();
      return atomicInsn(is32 ? Size.W : Size.DW, cmp ? AtomicOp.CMPXCHG : AtomicOp.XCHG, base, off, s.n);
    }
  }
  p.refuseUpperCaseRegister();
  return p.fail(t.col, `cannot parse the right-hand side starting at '${t.text}'`);
}

/**
 * Parses assembly text into instructions with labels and source locations
 * (`file:line:column` of each statement). Throws `AsmSyntaxError` naming
 * `file:line:column`. Jumps to labels stay symbolic: run `assemble()` next.
 */
export function parse(text: string, options: ParseOptions = {}): Instruction[] {
  const file = options.file ?? '<input>';
  const out: Instruction[] = [];
  let pending: string[] = [];
  const defined = new Map<string, number>();
  const lines = text.split('\n');
  const capture = setSourceCapture(false);
  try {
    lines.forEach((lineText, k) => {
      const line = k + 1;
      const p = new LineParser(file, line, lineText);
      p.tokenize();
      // Labels, possibly several, possibly followed by a statement.
      while (p.peek()?.kind === 'ident' && p.at(':', 1)) {
        const t = p.next();
        p.next();
        const prev = defined.get(t.text);
        if (prev !== undefined) p.fail(t.col, `label '${t.text}' is already defined on line ${prev}`);
        defined.set(t.text, line);
        pending.push(t.text);
      }
      // Directives llvm-mc accepts that carry no meaning for a single code section.
      if (p.peek()?.kind === 'ident' && p.peek()!.text.startsWith('.')) {
        const d = p.peek()!;
        if (d.text === '.text' || d.text === '.globl' || d.text === '.global' || d.text === '.p2align') return;
        p.fail(d.col, `directive '${d.text}' is not supported`);
      }
      if (p.done()) return;
      const col = p.col;
      let i: Instruction;
      try {
        i = statement(p);
      } catch (err) {
        if (err instanceof IsaError && !(err instanceof AsmSyntaxError)) p.fail(col, err.message);
        throw err;
      }
      p.end();
      const source: SourceLocation = { file, line, column: col, text: lineText.trim() };
      const meta = { ...i.meta, source, ...(pending.length ? { labels: pending } : {}) };
      pending = [];
      out.push({ ...i, meta });
    });
  } finally {
    setSourceCapture(capture);
  }
  if (pending.length) throw new AsmSyntaxError(file, lines.length, 1, `label '${pending[0]}' is not followed by an instruction`);
  return out;
}
