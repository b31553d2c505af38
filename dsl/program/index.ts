/**
 * The typed program DSL: declare programs, maps, globals and subfunctions in
 * TypeScript; `buildObject` turns them into an ObjectSpec for a target kernel.
 */
export { program, fn, global, type ProgramDef, type FnDef, type GlobalDef } from './program.js';
export { ptrParam, ctxParam, type PtrParam, type CtxParam, type ParamSchema, type ParamView, type ParamArg } from './params.js';
export {
  hashMap, lruHashMap, percpuHashMap, arrayMap, percpuArrayMap, lpmTrie, progArray, ringbuf, perfEventArray, isMapDef,
  type MapDef, type MapKind, type MapOptions, type ProgSlots,
} from './maps.js';
export type { SwitchCases } from './conditions.js';
export { FibLookup4, FibLookup6, type FibParams } from './fib.js';
export { SockTuple4, SockTuple6, type SockRef, type SockView } from './sockets.js';
export type { B, LoopOptions, CsumWord, CsumDiff, SkLookupOptions, Var, InitOf, DataArg, Nullable, UpdateFlag, DataMap } from './builder.js';
export type { Ptr, AnyPtr, Place, Region, View, StructView, ArrayView, Settable, Atomics, PtrBrand, SchemaOf } from './pointer.js';
export type { Value, ValueLike, Int, BeInt, Cond, CondArg, HostIntName, BeIntName, ScalarName, NameOf, ScalarSchema, U32Like, U64Like, ShiftAmount } from './scalar.js';
export type { SockCtx, SockHook, SkSkbCtx, SockOpsCtx, SkMsgCtx } from './context-sock.js';
export type { CtxOf, TcCtx, XdpCtx, SocketCtx, CgroupSkbCtx, SockAddrCtx, SockAddrHook } from './context.js';
export { build, buildObject, programsOf, targetProfile, type BuildOptions, type BuildObjectOptions, type BuildResult } from './build.js';
export { DslError } from '../ir/errors.js';
