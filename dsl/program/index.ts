/**
 * The typed program DSL: declare programs, maps, globals and subfunctions in
 * TypeScript; `buildObject` turns them into an ObjectSpec for a target kernel.
 */
export { program, fn, global, type ProgramDef, type FnDef, type GlobalDef } from './program.js';
export {
  hashMap, lruHashMap, percpuHashMap, arrayMap, percpuArrayMap, lpmTrie, progArray, ringbuf, perfEventArray, isMapDef,
  type MapDef, type MapKind, type MapOptions, type ProgSlots,
} from './maps.js';
export type { B, LoopOptions, CsumWord, Var, InitOf, DataArg, Nullable, UpdateFlag, DataMap } from './builder.js';
export type { Ptr, AnyPtr, Place, Region, View, StructView, ArrayView, Settable, Atomics, PtrBrand, SchemaOf } from './pointer.js';
export type { Value, ValueLike, Int, BeInt, Cond, HostIntName, BeIntName, ScalarName, NameOf, ScalarSchema, U32Like, U64Like, ShiftAmount } from './scalar.js';
export type { CtxOf, TcCtx, XdpCtx, SocketCtx, CgroupSkbCtx, SockAddrCtx, SockAddrHook } from './context.js';
export { build, buildObject, programsOf, targetProfile, type BuildOptions, type BuildResult } from './build.js';
export { DslError } from '../ir/errors.js';
