/**
 * A minimal relocatable BPF object for a bare instruction list (what `tsbpf asm
 * -o` and `tsbpf demo` write): one code section, a global function symbol,
 * labels as local symbols, relocations for external calls and `rN = sym ll`, a
 * license — readable by llvm-objdump, llvm-readelf and `tsbpf dump`.
 */
import { encode, slots, type Instruction } from '../isa/index.js';
import { ElfBuilder, R_BPF, SHF, SHN, SHT, STB, STT, STV, writeElf, type ElfRelocation } from './file/index.js';

/** Options of `objectFromInstructions`. */
export interface CodeObjectOptions {
  /** Code section name (default `.text`). */
  readonly section?: string;
  /** Name of the global function symbol covering the code. */
  readonly symbol: string;
  /** License string (default `GPL`). */
  readonly license?: string;
}

/** A minimal relocatable BPF object holding assembled instructions. */
export function objectFromInstructions(insns: readonly Instruction[], options: CodeObjectOptions): Uint8Array {
  const code = encode(insns);
  const b = new ElfBuilder();
  const text = b.addSection({ name: options.section ?? '.text', type: SHT.PROGBITS, flags: SHF.ALLOC | SHF.EXECINSTR, align: 8, data: code });
  b.addSection({ name: 'license', type: SHT.PROGBITS, flags: SHF.ALLOC | SHF.WRITE, align: 1, data: new TextEncoder().encode(`${options.license ?? 'GPL'}\0`) });
  // Labels become local symbols (jump annotations in dumps), like llvm-mc's output.
  const local = new Map<string, number>();
  let slot = 0;
  const offsets: number[] = [];
  for (const i of insns) {
    offsets.push(slot * 8);
    for (const l of i.meta?.labels ?? [])
      if (l !== options.symbol) local.set(l, b.addSymbol({ name: l, value: slot * 8, size: 0, bind: STB.LOCAL, type: STT.NOTYPE, visibility: STV.DEFAULT, shndx: text }));
    slot += slots(i);
  }
  b.addSymbol({ name: options.symbol, value: 0, size: code.length, bind: STB.GLOBAL, type: STT.FUNC, visibility: STV.DEFAULT, shndx: text });
  const external = new Map<string, number>();
  const rels: ElfRelocation[] = [];
  insns.forEach((i, k) => {
    const ref = i.meta?.ref;
    if (!ref || ref.kind === 'label') return;
    const name = ref.name;
    let sym = local.get(name) ?? (name === options.symbol ? local.size + 1 : external.get(name));
    if (sym === undefined) {
      sym = b.addSymbol({ name, value: 0, size: 0, bind: STB.GLOBAL, type: STT.NOTYPE, visibility: STV.DEFAULT, shndx: SHN.UNDEF });
      external.set(name, sym);
    }
    rels.push({ offset: offsets[k]!, symbol: sym, type: ref.kind === 'call' && (i.opcode & 7) === 5 ? R_BPF['64_32'] : R_BPF['64_64'] });
  });
  if (rels.length) b.addRelocations(text, rels);
  return writeElf(b.build());
}
