/**
 * What the sync loop drives: something that turns service states into the
 * datapath's maps. The real one wraps the service manager
 * (`programs/lb/manager.ts`); tests may record instead.
 */
import type { ServiceState } from './store.js';

/** Fill level of one map, for `/metrics`. */
export interface MapFill {
  readonly map: string;
  readonly entries: number;
  readonly capacity: number;
}

/** Outcome of one `apply`. */
export interface ProgramResult {
  /** Frontends (service address/port/protocol entries) written or changed. */
  readonly upserted: number;
  /** Frontends removed. */
  readonly deleted: number;
  /** Services refused (bad or conflicting input, full maps); they keep what was programmed before. */
  readonly rejected?: number;
}

/** Totals after programming, for `/metrics`. */
export interface ProgrammerCounts {
  /** Frontends in the datapath. */
  readonly frontends: number;
  /** Backends in the datapath. */
  readonly backends: number;
}

/** Programs service states into the datapath. */
export interface ServiceProgrammer {
  /**
   * Programs `changes`: for each service key its new state, or undefined when
   * the service is gone (or no longer proxied here). With `full`, every
   * service the datapath holds that is not in `changes` is removed (the first
   * sync after a restart, when the maps came back from pins). Throws on
   * failure; the sync loop retries the same keys.
   */
  apply(changes: ReadonlyMap<string, ServiceState | undefined>, full: boolean): ProgramResult | Promise<ProgramResult>;
  /** Totals now. */
  counts(): ProgrammerCounts;
  /** Fill levels of the maps. */
  fill(): readonly MapFill[];
}
