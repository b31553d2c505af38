/**
 * The shapes of helper signatures as the DSL sees them. The UAPI header only gives
 * C prototypes in a comment; the generator classifies each argument into one of
 * these kinds so the builder can check calls (a map where a map is expected, a
 * stack buffer paired with its size, a u32 not silently given a u64, …).
 */

/** Integer width in bits. */
export type ScalarBits = 8 | 16 | 32 | 64;

/** A plain integer argument or result. */
export interface ScalarType {
  kind: 'scalar';
  bits: ScalarBits;
  signed: boolean;
  /** 'be' for `__be16`/`__be32` (network byte order); absent for host order. */
  byteOrder?: 'be';
  /** The C spelling, e.g. `u32`, `__be16`, `enum bpf_xxx`. */
  c: string;
}

/** The program's context (`skb`, `xdp_md`, `ctx`, …): must be the r1 the program got. */
export interface CtxArg {
  kind: 'ctx';
  /** C type as written, e.g. `struct sk_buff *`. */
  c: string;
}

/** A map reference (`struct bpf_map *`), loaded with a pseudo map fd. */
export interface MapArg {
  kind: 'map';
  c: string;
}

/** A pointer to a key of the map given in an earlier argument. */
export interface MapKeyArg {
  kind: 'mapKey';
  c: string;
}

/** A pointer to a value of the map given in an earlier argument. */
export interface MapValueArg {
  kind: 'mapValue';
  c: string;
}

/** A memory region (stack, map value, packet…) whose size is passed in `sizeArg`. */
export interface MemArg {
  kind: 'mem';
  /** 'read' when the helper only reads it (`const`), else the helper may write it. */
  access: 'read' | 'write';
  /** Index of the argument carrying the size in bytes. */
  sizeArg: number;
  c: string;
}

/** The size of the memory region passed as argument `memArg`. */
export interface MemSizeArg {
  kind: 'memSize';
  memArg: number;
  bits: ScalarBits;
  signed: boolean;
  c: string;
}

/** A pointer to a specific type not covered above (spin lock, timer, socket, …). */
export interface PtrArg {
  kind: 'ptr';
  /** Pointed-to type, e.g. `struct bpf_spin_lock`, `void`, `u64`. */
  to: string;
  /** 'read' for `const` pointers. */
  access: 'read' | 'write';
  c: string;
}

/** A pointer to a BPF subprogram used as a callback (`bpf_loop`, `bpf_for_each_map_elem`…). */
export interface CallbackArg {
  kind: 'callback';
  c: string;
}

/** `...`: the variadic tail of `bpf_trace_printk` (at most 3 more u64s). */
export interface VarArgs {
  kind: 'varargs';
  c: string;
}

/** A type the classifier did not recognise; the DSL treats it as an opaque u64. */
export interface UnknownType {
  kind: 'unknown';
  c: string;
}

/** Classification of one helper argument. */
export type HelperArgType =
  | ScalarType
  | CtxArg
  | MapArg
  | MapKeyArg
  | MapValueArg
  | MemArg
  | MemSizeArg
  | PtrArg
  | CallbackArg
  | VarArgs
  | UnknownType;

/** Classification of a helper's return value. */
export type HelperReturnType =
  | { kind: 'void'; c: string }
  | ScalarType
  /** A pointer result; the verifier treats these as possibly NULL until checked. */
  | { kind: 'ptr'; to: string; nullable: boolean; c: string }
  | UnknownType;

/** One argument: its name in the UAPI prototype and its classification. */
export interface HelperArg {
  name: string;
  type: HelperArgType;
}

/** What the UAPI header says about a helper (generated). */
export interface UapiHelper {
  /** Helper id: the `imm` of `call`. */
  id: number;
  /** Name without the `bpf_` prefix, e.g. `map_lookup_elem`. */
  name: string;
  /** The C prototype from the header's doc comment ('' when the header documents none). */
  signature: string;
  ret: HelperReturnType;
  args: HelperArg[];
  /** First line of the header's description. */
  summary: string;
}
