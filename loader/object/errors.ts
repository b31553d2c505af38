/**
 * Errors of the object loader. A pinned map that does not fit the object's
 * definition gets its own class so an agent can react to it (ask an operator,
 * or reload with `onMismatch: 'replace'`) without parsing messages.
 */
import { LoaderError } from '../errors.js';

/** One field in which a pinned map differs from the object's definition. */
export interface PinnedMapDifference {
  /** Kernel field name: `type`, `key_size`, `value_size`, `max_entries` or `map_flags`. */
  readonly field: 'type' | 'key_size' | 'value_size' | 'max_entries' | 'map_flags';
  /** What the pinned map has (type names for `type`, hex strings for `map_flags`). */
  readonly pinned: string | number;
  /** What the object asks for. */
  readonly spec: string | number;
}

/** Text of one difference, e.g. `max_entries pinned 1024 vs spec 2048`. */
export function describeDifference(d: PinnedMapDifference): string {
  return `${d.field} pinned ${d.pinned} vs spec ${d.spec}`;
}

/**
 * A map pinned at the path an object wants (pinning byName) has another shape
 * than the object's definition, and `onMismatch` is `'error'` (the default).
 */
export class PinnedMapMismatchError extends LoaderError {
  /** Name of the map in the object. */
  readonly mapName: string;
  /** The bpffs path of the pinned map. */
  readonly path: string;
  readonly differences: readonly PinnedMapDifference[];

  constructor(mapName: string, path: string, differences: readonly PinnedMapDifference[]) {
    super(
      'LOADER_PIN_MISMATCH',
      `map "${mapName}" pinned at ${path} does not match the object's definition: ${differences.map(describeDifference).join(', ')}; ` +
        `remove the pin (rm ${path}) or load with onMismatch: 'replace' (programs still using the old map keep it)`,
    );
    this.mapName = mapName;
    this.path = path;
    this.differences = differences;
  }
}

/** An object that cannot be loaded as given (unknown section, bad initial slot, missing function…). */
export class ObjectLoadError extends LoaderError {}
