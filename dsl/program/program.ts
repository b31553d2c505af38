/**
 * Declarations: programs (`program(section, name, body)`), subfunctions
 * (`fn(name, params, returns, body)`) and global variables (`global(...)`). A
 * declaration only records the body; bodies run when an object is built for a
 * target, so the target profile decides what they emit.
 */
import { callerLocation, type SourceLocation } from '../isa/index.js';
import { DslError } from '../ir/errors.js';
import { ctxKindOf, sectionDef, type AttachTypeName, type CtxKind, type ProgTypeName } from '../kernel/index.js';
import type { AnySchema, InferInput } from '../types/index.js';
import type { B } from './builder.js';
import type { CtxOf } from './context.js';
import { paramKind, type ParamSchema, type ParamView } from './params.js';
import { scalarInfoOf, type NameOf, type ScalarSchema, type ValueLike } from './scalar.js';

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A declared program. */
export interface ProgramDef<S extends string = string> {
  readonly kind: 'program';
  readonly section: S;
  readonly name: string;
  readonly progType: ProgTypeName;
  readonly attachType: AttachTypeName | undefined;
  /** Whether BPF_PROG_LOAD needs `expected_attach_type`. */
  readonly expectedAttach: 'required' | 'optional' | 'none';
  readonly ctxKind: CtxKind;
  readonly body: (b: B, ctx: CtxOf<S>) => void;
  readonly src: SourceLocation | undefined;
}

/** Declares a program in ELF section `section` (`tc`, `xdp`, `cgroup/connect4`, `socket`, `cgroup_skb/egress`…). */
export function program<const S extends string>(section: S, name: string, body: (b: B, ctx: CtxOf<S>) => void): ProgramDef<S> {
  const src = callerLocation();
  if (typeof name !== 'string' || !NAME.test(name)) throw new DslError('DSL_NAME', `program name '${String(name)}' is not an identifier`, src);
  if (typeof body !== 'function') throw new DslError('DSL_TYPE', `program ${name}: the body must be a function`, src);
  let def;
  try {
    def = sectionDef(section);
  } catch (e) {
    throw new DslError('DSL_SECTION', (e as Error).message, src);
  }
  const ctxKind = ctxKindOf(def.progType);
  if (!ctxKind) throw new DslError('DSL_SECTION', `program ${name}: section '${section}' (${def.progType}) has no typed context in the DSL yet`, src);
  return Object.freeze({ kind: 'program', section, name, progType: def.progType, attachType: def.attachType, expectedAttach: def.expectedAttach, ctxKind, body, src });
}

/**
 * A declared subfunction: parameters (in declaration order) are scalars, pointers
 * (`ptrParam`), struct/array values (copied to the caller's stack) or the context
 * (`ctxParam`); the result is a scalar.
 */
export interface FnDef<P extends Record<string, ParamSchema>, R extends ScalarSchema> {
  readonly kind: 'fn';
  readonly name: string;
  readonly params: P;
  readonly returns: R;
  readonly body: (b: B, args: { readonly [K in keyof P]: ParamView<P[K]> }) => ValueLike<NameOf<R>>;
  readonly src: SourceLocation | undefined;
}

/** Declares a subfunction (bpf-to-bpf call where the target allows, inlined otherwise). */
export function fn<const P extends Record<string, ParamSchema>, R extends ScalarSchema>(
  name: string,
  params: P,
  returns: R,
  body: (b: B, args: { readonly [K in keyof P]: ParamView<P[K]> }) => ValueLike<NameOf<R>>,
): FnDef<P, R> {
  const src = callerLocation();
  if (typeof name !== 'string' || !NAME.test(name)) throw new DslError('DSL_NAME', `function name '${String(name)}' is not an identifier`, src);
  const keys = Object.keys(params ?? {});
  if (keys.length > 5) throw new DslError('DSL_ARGS', `function ${name}: at most 5 parameters`, src);
  for (const k of keys) if (!paramKind(params[k])) throw new DslError('DSL_TYPE', `function ${name}: parameter ${k} must be a scalar schema, a struct/array schema, ptrParam() or ctxParam()`, src);
  if (keys.filter((k) => paramKind(params[k])?.t === 'ctx').length > 1) throw new DslError('DSL_ARGS', `function ${name}: at most one context parameter`, src);
  if (!scalarInfoOf(returns as never)) throw new DslError('DSL_TYPE', `function ${name}: the result must be a scalar schema`, src);
  return Object.freeze({ kind: 'fn', name, params, returns, body, src });
}

/** A declared global variable. */
export interface GlobalDef<S extends AnySchema, Sec extends string> {
  readonly kind: 'global';
  readonly name: string;
  readonly schema: S;
  readonly section: Sec;
  readonly init: Uint8Array | undefined;
  readonly src: SourceLocation | undefined;
}

/**
 * Declares a global variable in `.rodata` (read-only; set before load), `.data` or
 * `.bss` (zero-initialised, e.g. counters). Programs read it at run time from the
 * object's data map.
 */
export function global<S extends AnySchema, const Sec extends '.rodata' | '.data' | '.bss' = '.bss'>(
  name: string,
  schema: S,
  opts: { readonly section?: Sec; readonly init?: InferInput<S> } = {},
): GlobalDef<S, Sec> {
  const src = callerLocation();
  if (typeof name !== 'string' || !NAME.test(name)) throw new DslError('DSL_NAME', `global name '${String(name)}' is not an identifier`, src);
  const section = (opts.section ?? '.bss') as Sec;
  if (!['.rodata', '.data', '.bss'].includes(section)) throw new DslError('DSL_GLOBAL', `global ${name}: section must be .rodata, .data or .bss`, src);
  if (section === '.bss' && opts.init !== undefined) throw new DslError('DSL_GLOBAL', `global ${name}: .bss variables are zero-initialised; use .data for an initial value`, src);
  const init = opts.init === undefined ? undefined : schema.encode(opts.init);
  return Object.freeze({ kind: 'global', name, schema, section, init, src });
}
