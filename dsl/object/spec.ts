/**
 * The in-memory description of a BPF object ("object spec"): everything a
 * libbpf-style ELF object carries, as plain data. The ELF writer serialises it,
 * the ELF reader produces it (from our objects and clang's), and the object
 * loader consumes it directly, without a file.
 *
 * Conventions the loader relies on:
 * - Instructions keep symbolic references in `meta.ref` (see dsl/isa):
 *   `map` (a `lddw` of a map pointer; name of a `maps` entry), `global` (a
 *   `lddw` of the address of `offset` bytes into a `globals` variable, or into a
 *   whole data section when `name` is a section name such as `.rodata`), `call`
 *   (bpf-to-bpf call or function address; name of a program or subprogram) and
 *   `kfunc`. The loader patches map fds / global map values; call offsets are
 *   computed when the functions are laid out together.
 * - Jump offsets inside one function are already resolved or are `label` refs
 *   that `assemble()` resolves.
 * - `meta.source` on an instruction becomes BTF line_info; every program and
 *   subprogram also gets func_info.
 * - Types are a schema (dsl/types), a reference into `btf` ({ btfType: id }),
 *   or a plain byte size.
 */
import type { Btf, BtfTypeId } from '../btf/index.js';
import type { Instruction } from '../isa/index.js';
import type { AttachTypeName, MapTypeName, ProgTypeName } from '../kernel/index.js';
import type { AnySchema } from '../types/index.js';

/** A reference to a type inside the spec's `btf` graph. */
export interface BtfTypeRef {
  readonly btfType: BtfTypeId;
}

/** How a key, value or variable type is given: a schema, a BTF type, or just a byte size. */
export type TypeSpec = AnySchema | BtfTypeRef | number;

/** Whether `t` is a {@link BtfTypeRef}. */
export function isBtfTypeRef(t: TypeSpec): t is BtfTypeRef {
  return typeof t === 'object' && t !== null && 'btfType' in t;
}

/** Pinning of a map: `byName` pins at `<pin root>/<map name>` (LIBBPF_PIN_BY_NAME). */
export type MapPinning = 'none' | 'byName';

/**
 * A map: what an object declares (`MapSpec`, named), an inner-map template, and
 * what `BpfMap.create` (loader/maps) takes. Load-time extras (a loaded BTF fd,
 * custom codecs, an open inner-map fd) are options of `BpfMap.create`, not part
 * of the spec.
 */
export interface MapDefinition {
  /** Map type by UAPI name (`'HASH'`, `'PROG_ARRAY'`…) or raw number. */
  readonly type: MapTypeName | number;
  /** Kernel-visible name ([A-Za-z0-9_.], 15 characters kept); required in an object. */
  readonly name?: string;
  /** Key type (schema / BTF type) or key size in bytes. Omit for maps without keys. */
  readonly key?: TypeSpec;
  /** Value type or value size in bytes. */
  readonly value?: TypeSpec;
  readonly maxEntries: number;
  /** `map_flags` (see `MapFlags` in dsl/kernel). */
  readonly flags?: number;
  readonly pinning?: MapPinning;
  readonly numaNode?: number;
  /** Template of the inner maps of a map-in-map (`ARRAY_OF_MAPS`, `HASH_OF_MAPS`). */
  readonly innerMap?: MapDefinition;
  /** `map_extra` (bloom filter hash count, arena address); BpfMap.create only (the ELF writer refuses it). */
  readonly mapExtra?: bigint | number;
  /** Offload to this interface (hardware offload only); BpfMap.create only (the ELF writer refuses it). */
  readonly ifindex?: number;
}

/** A map of the object. */
export interface MapSpec extends MapDefinition {
  /** Map name (also its ELF symbol and BTF VAR name). */
  readonly name: string;
  /**
   * Initial slots: for a `PROG_ARRAY` the names of programs, for a map-in-map the
   * names of maps in this object; `null` leaves a slot empty. Index = key.
   */
  readonly values?: readonly (string | null)[];
}

/** A global variable in `.rodata` / `.data` / `.bss` (or a `.rodata.*`/`.data.*`/`.bss.*` section). */
export interface GlobalSpec {
  readonly name: string;
  /** ELF section; its name decides the kind (`.rodata*` read-only, `.bss*` zero-initialised). */
  readonly section: string;
  readonly type: TypeSpec;
  /** Initial bytes (at most the type's size; the rest is zero). Not allowed in `.bss`. */
  readonly init?: Uint8Array;
  /** Byte offset in its section; laid out after the previous variable (aligned) when omitted. */
  readonly offset?: number;
  /** `global` (default) or `static` (a local symbol, as a C `static` variable). */
  readonly linkage?: 'global' | 'static';
}

/**
 * A function's optional BTF signature: a FUNC_PROTO id in the spec's `btf`.
 * Without it the writer emits `int (void *ctx)` for programs and `int (void)`
 * for subprograms — enough for static subprograms (verified in their caller's
 * context), but a `global` subprogram is verified on its own against its
 * prototype, so give it a real one.
 */
export interface FunctionSignature {
  readonly btfProto?: BtfTypeId;
}

/** An entry-point program: its own code in the ELF section `section` (the SEC name). */
export interface ProgramSpec extends FunctionSignature {
  readonly name: string;
  /** SEC name (`xdp`, `tc`, `cgroup/connect4`…); several programs may share one. */
  readonly section: string;
  readonly instructions: readonly Instruction[];
  /**
   * Program type when the section does not say it (a raw or probe program whose
   * section is only a label); otherwise it comes from the section
   * (`sectionDef(section).progType`). Not written to the ELF: a loader reading the
   * object back derives it from the section again.
   */
  readonly type?: ProgTypeName;
  /**
   * `expected_attach_type` at load when the section does not give it (or to
   * override it): a UAPI name or the raw number. Default: the section's attach
   * type where BPF_PROG_LOAD takes one.
   */
  readonly expectedAttachType?: AttachTypeName | number;
}

/** A bpf-to-bpf subprogram (placed in `.text`). */
export interface SubprogramSpec extends FunctionSignature {
  readonly name: string;
  readonly instructions: readonly Instruction[];
  /** `static` (default; local symbol, verified in the caller's context) or `global` (verified on its own). */
  readonly linkage?: 'static' | 'global';
}

/**
 * A kernel function (kfunc) the code calls through `kfunc` references. libbpf
 * resolves it in vmlinux/module BTF and checks that this prototype is
 * compatible, so it must match the kernel's declaration.
 */
export interface KfuncSpec {
  readonly name: string;
  /** FUNC_PROTO id in the spec's `btf`. */
  readonly btfProto: BtfTypeId;
}

/** Something in an object the reader understood but did not keep. */
export interface IgnoredItem {
  /** Section, symbol or record concerned. */
  readonly what: string;
  readonly reason: string;
}

/** The whole object. */
export interface ObjectSpec {
  /** License string (`"GPL"`, `"Dual BSD/GPL"`…). */
  readonly license: string;
  /** Optional kernel version word (`version` section; obsolete but accepted). */
  readonly kernelVersion?: number;
  readonly programs: readonly ProgramSpec[];
  readonly subprograms?: readonly SubprogramSpec[];
  readonly maps?: readonly MapSpec[];
  readonly globals?: readonly GlobalSpec[];
  /** Prototypes of the kfuncs the code calls. */
  readonly kfuncs?: readonly KfuncSpec[];
  /** BTF graph that `{ btfType }` references and `btfProto` ids point into. */
  readonly btf?: Btf;
  /** Filled by the reader: content it did not keep, each with a reason. */
  readonly ignored?: readonly IgnoredItem[];
}
