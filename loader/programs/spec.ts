/**
 * The program spec is the one of dsl/object (`ProgramSpec`: name, section,
 * instructions, optional `type` / `expectedAttachType` overrides), the same the
 * ELF writer and `loadObject` take. What only matters at load time (BTF,
 * func_info / line_info, license, flags, log settings, maps, raw instruction
 * bytes) is a `LoadOptions` field here.
 */
export type { ProgramSpec } from '../../dsl/object/index.js';

/** func_info record with an instruction index (what BPF_PROG_LOAD wants). */
export interface FuncInfoRecord {
  readonly insnOff: number;
  readonly typeId: number;
}

/**
 * line_info record with its strings as text (the dsl/btf `BtfLineInfo` shape):
 * `fileName` and `line` (source text) must be in the BTF string table loaded
 * with the program.
 */
export interface LineInfoRecord {
  readonly insnOff: number;
  readonly fileName: string;
  readonly line: string;
  readonly lineNum: number;
  readonly column: number;
}

/** Something holding a loaded BTF object's fd (a `LoadedBtf`, or `{ fd }`). */
export interface BtfRef {
  readonly fd: number;
  /** String offsets of the blob, to encode text line info. */
  readonly strings?: ((s: string) => number | undefined) | undefined;
}

/** What a map reference resolves to. */
export interface MapFdRef {
  readonly fd: number;
}

/** Options of `Program.load`: everything about a load that is not the program itself. */
export interface LoadOptions {
  /**
   * Raw instructions (8 bytes per slot) loaded as given instead of
   * `spec.instructions`, which must then be empty (e.g. a file of bytes, or
   * probes that load deliberately odd code).
   */
  readonly bytes?: Uint8Array;
  /** License string; most helpers need a GPL-compatible one. Default `GPL`. */
  readonly license?: string;
  /** `prog_flags` (ProgFlag bits). */
  readonly flags?: number;
  /** BTF for func_info / line_info. */
  readonly btf?: BtfRef;
  /** func_info: 8-byte kernel records, or records. Needs `btf`. */
  readonly funcInfo?: Uint8Array | readonly FuncInfoRecord[];
  /** line_info: 16-byte kernel records, or records with text. Needs `btf`. */
  readonly lineInfo?: Uint8Array | readonly LineInfoRecord[];
  /** BTF id of the attach target (tracing, LSM, struct_ops, ext). */
  readonly attachBtfId?: number;
  /** Target program fd (ext/freplace) or module BTF object fd. */
  readonly attachProgFd?: number;
  /** Only old kprobe kernels looked at this. */
  readonly kernVersion?: number;
  /** Maps by name, for `lddw` map references (`ldMapFd('name')`, `ldMapValue('name', off)`). */
  readonly maps?: Readonly<Record<string, MapFdRef>> | ReadonlyMap<string, MapFdRef>;
  /** Maps for `lddw` with src 5/6 (`ldMapIdx(n)`, `ldMapIdxValue(n, off)`): index n is `fdArray[n]`. */
  readonly fdArray?: readonly MapFdRef[];
  /** Global variables by symbol: the map holding them and the symbol's offset in its value. */
  readonly globals?: Readonly<Record<string, { readonly map: MapFdRef; readonly offset: number }>>;
  /**
   * Verifier log level to load with from the start (1 errors + summary, 2 every
   * instruction, 4 stats; may be OR-ed). Default: load without a log, and reload
   * with level 1 only if the load fails.
   */
  readonly logLevel?: number;
  /** Initial log buffer size in bytes (grown as needed). Default 64 KiB. */
  readonly logSize?: number;
  /** Upper bound for growing the log. Default 64 MiB. */
  readonly maxLogSize?: number;
}
