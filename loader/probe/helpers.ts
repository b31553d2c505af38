/**
 * Helpers per program type: load `call <id>; r0 = 0; exit` for every (program
 * type, helper). A helper is unsupported iff the load fails AND the verifier log
 * says `invalid func `, `unknown func ` or `program of this type cannot use
 * helper ` (the 6.10+ wording bpftool 7.1 misses). Any other failure (argument
 * checks, missing map…) means the verifier accepted the call itself, so the
 * helper exists for that type; the raw reason is kept.
 *
 * Speed: one instruction buffer per program type with the call's imm patched in
 * place, one attr buffer, one small log buffer, no decode of successful loads.
 */
import { errnoName } from '../sys/errno.js';
import { PROG_RECIPES } from './catalog.js';
import type { ProbeContext } from './context.js';
import { helperCall } from './programs.js';
import { inconclusive, supported, unsupported, type Feature } from './result.js';

/** Log phrases that mean "this helper is not available to this program type". */
export const REFUSAL_PHRASES = ['invalid func ', 'unknown func ', 'program of this type cannot use helper '] as const;

const SLEEPABLE = 1 << 4;
const EPERM = 1;
/** Shared result object for the common case (results are read-only). */
const SUPPORTED: Feature = Object.freeze(supported());
/** Verifier-log bytes per helper load: the refusal is in the first lines. */
export const LOG_BYTES = 1024;

/** How the prober uses the verifier log. */
export type LogStrategy = 'always' | 'on-failure';

/** Classifies one failed load from its log. Exported for tests. */
export function classifyHelperFailure(errno: number, log: string): Feature {
  for (const phrase of REFUSAL_PHRASES) {
    const at = log.indexOf(phrase);
    if (at >= 0) {
      const end = log.indexOf('\n', at);
      return unsupported({ reason: log.slice(at, end < 0 ? undefined : end) });
    }
  }
  const lines = log.split('\n').filter((l) => l.trim() && !l.startsWith('processed ') && !l.startsWith('verification time'));
  const last = lines.pop()?.trim() ?? '';
  return supported({ reason: `load failed with ${errnoName(errno)}${last ? `: ${last}` : ''} (call accepted by the verifier)` });
}

/** What a helper-probe load options are for one program type (insns excluded). */
export function helperLoadBase(ctx: ProbeContext, progType: string) {
  const recipe = PROG_RECIPES[progType] ?? {};
  return {
    type: ctx.progType.get(progType)!,
    expectedAttachType: recipe.expectedAttachType ? ctx.attachType.get(recipe.expectedAttachType) : undefined,
    progFlags: recipe.sleepable ? SLEEPABLE : 0,
    kernVersion: recipe.kernVersion ? ctx.kernVersion : 0,
    attachBtfId: recipe.attachFunc ? ctx.vmlinux?.funcId(recipe.attachFunc) : undefined,
  };
}

/**
 * How one helper load ended, as a worker thread reports it: loaded, EPERM, the
 * log's refusal line, or another failure with the log's last line.
 */
export const HelperOutcome = { Loaded: 0, NotPermitted: 1, Refused: 2, OtherFailure: 3 } as const;
/** One of {@link HelperOutcome}'s values. */
export type HelperOutcome = (typeof HelperOutcome)[keyof typeof HelperOutcome];

const EPERM_RESULT: Feature = Object.freeze(inconclusive('BPF_PROG_LOAD failed with EPERM (not permitted)'));

/** The result for one outcome; the same objects and texts on every thread. */
export function helperFeature(outcome: HelperOutcome, errno: number, line: string): Feature {
  switch (outcome) {
    case HelperOutcome.Loaded:
      return SUPPORTED;
    case HelperOutcome.NotPermitted:
      return EPERM_RESULT;
    case HelperOutcome.Refused:
      return unsupported({ reason: line });
    default:
      return supported({ reason: `load failed with ${errnoName(errno)}${line ? `: ${line}` : ''} (call accepted by the verifier)` });
  }
}

/** The refusal phrases as bytes, searched in the raw log without decoding it. */
export const REFUSAL_NEEDLES: readonly Uint8Array[] = REFUSAL_PHRASES.map((p) => new TextEncoder().encode(p));

/** Helper support for one program type. */
export function probeHelpersFor(
  ctx: ProbeContext,
  progType: string,
  strategy: LogStrategy = 'always',
): Record<string, Feature> {
  const out: Record<string, Feature> = {};
  const insns = helperCall(0);
  const dv = new DataView(insns.buffer, insns.byteOffset, insns.byteLength);
  const base = { ...helperLoadBase(ctx, progType), insns };
  const sys = ctx.sys;
  // Classification on the log bytes: decode only the one line quoted as the reason.
  const classify = (errno: number): Feature => {
    for (const n of REFUSAL_NEEDLES) {
      const at = sys.logIndexOf(n);
      if (at >= 0) return helperFeature(HelperOutcome.Refused, errno, sys.logLineAt(at).trim());
    }
    return helperFeature(HelperOutcome.OtherFailure, errno, sys.lastLogLine());
  };
  sys.prepareRepeatedLoad({ ...base, logLevel: strategy === 'always' ? 1 : 0 }, LOG_BYTES);
  const logged = strategy === 'always';
  for (const { name, value } of ctx.catalog.helpers) {
    dv.setInt32(4, value, true);
    let r = sys.repeatLoad();
    if (r < 0 && !logged) {
      // on-failure: switch the attr to a logged load for this retry, then back.
      sys.prepareRepeatedLoad({ ...base, logLevel: 1 }, LOG_BYTES);
      r = sys.repeatLoad();
      sys.prepareRepeatedLoad(base, LOG_BYTES);
    }
    if (r >= 0) {
      sys.close(r);
      out[name] = SUPPORTED;
      continue;
    }
    const errno = -r;
    out[name] = errno === EPERM ? EPERM_RESULT : classify(errno);
  }
  return out;
}

/** The program types whose helpers are probed: those that load. */
export function loadableTypes(programTypes: Readonly<Record<string, Feature>>): string[] {
  return Object.entries(programTypes)
    .filter(([, f]) => f.status === 'supported')
    .map(([n]) => n);
}

/** Helpers for every program type that loads; other types are skipped (absent). */
export function probeHelpers(
  ctx: ProbeContext,
  programTypes: Readonly<Record<string, Feature>>,
  strategy: LogStrategy = 'always',
  onProgress?: (done: number, total: number, progType: string) => void,
): Record<string, Record<string, Feature>> {
  const out: Record<string, Record<string, Feature>> = {};
  const types = loadableTypes(programTypes);
  types.forEach((t, k) => {
    onProgress?.(k, types.length, t);
    out[t] = probeHelpersFor(ctx, t, strategy);
  });
  onProgress?.(types.length, types.length, '');
  return out;
}
