/**
 * Typed errors of the instruction layer. Every message names what was wrong:
 * the instruction (index, text, source location), the label, the byte offset or
 * the line:column of assembly text.
 */
import { TsbpfError } from '../errors.js';
import type { SourceLocation } from './instruction.js';

/** Any error raised by the instruction layer (builder misuse, invalid encodings, assembly). */
export class IsaError extends TsbpfError {}

/** Bytes that are not a valid instruction stream; `offset` is the byte offset of the bad slot. */
export class DecodeError extends IsaError {
  readonly offset: number;
  constructor(offset: number, message: string) {
    super('ISA_DECODE', `at byte offset ${offset}: ${message}`);
    this.offset = offset;
  }
}

/** Label resolution / range / ISA-level failures found by `assemble()` or `encode()`. */
export class AsmError extends IsaError {
  /** Index (in instructions, not slots) of the offending instruction, if any. */
  readonly index?: number;
  /** The label involved, if any. */
  readonly label?: string;
  constructor(code: string, message: string, where?: { index?: number; label?: string }) {
    super(code, message);
    if (where?.index !== undefined) this.index = where.index;
    if (where?.label !== undefined) this.label = where.label;
  }
}

/** Assembly text that does not parse; names `line:column`. */
export class AsmSyntaxError extends IsaError {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  constructor(file: string, line: number, column: number, message: string) {
    super('ASM_SYNTAX', `${file}:${line}:${column}: ${message}`);
    this.file = file;
    this.line = line;
    this.column = column;
  }
}

/** Formats a source location as `file:line:column` for messages. */
export function formatSource(loc: SourceLocation | undefined): string {
  return loc ? `${loc.file}:${loc.line}:${loc.column}` : '';
}
