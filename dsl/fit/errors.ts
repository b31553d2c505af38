import { TsbpfError } from '../errors.js';
import type { SourceLocation } from '../isa/index.js';

/** `file:line:column` of a source location, or `instruction #i` when none is known. */
export function describeWhere(src: SourceLocation | undefined, index: number): string {
  return src ? `${src.file}:${src.line}:${src.column} (instruction #${index})` : `instruction #${index}`;
}

/**
 * A program does not fit a target profile and cannot be made to fit: an instruction
 * above the profile's ISA, a helper the kernel lacks, a loop on a kernel without
 * bounded loops, or a program too big with no valid place to split it. The message
 * names the program, the instruction and (when known) its TypeScript source line.
 */
export class FitError extends TsbpfError {
  /** Program concerned. */
  readonly program: string;
  /** Index (in instructions, not slots) of the offending instruction, if one is to blame. */
  readonly index: number | undefined;
  /** Source location of that instruction, when known. */
  readonly source: SourceLocation | undefined;

  constructor(code: string, program: string, message: string, where?: { index?: number; source?: SourceLocation | undefined }) {
    const at = where?.index !== undefined ? ` at ${describeWhere(where.source, where.index)}` : '';
    super(code, `${program}: ${message}${at}`);
    this.program = program;
    this.index = where?.index;
    this.source = where?.source;
  }
}
