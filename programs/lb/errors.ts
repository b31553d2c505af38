/**
 * Errors of the service manager. Every refusal happens before the first map
 * write (bad input, a full map) or is followed by a rollback (a kernel write
 * that failed midway), so a `ServiceError` always means "nothing changed"
 * except `LB_ROLLBACK_FAILED`, which says exactly that it could not be undone.
 */
import { TsbpfError } from '../../dsl/errors.js';

/**
 * Stable codes of service-manager errors:
 * - `LB_INVALID_SPEC`: a spec is not an object, misses a field, has a field of the wrong type or an unknown field;
 * - `LB_INVALID_ADDRESS`: not an IPv4/IPv6 address, or an unusable one (unspecified backend, wildcard without `nodePort`);
 * - `LB_INVALID_PORT`: a port outside 1..65535 or not an integer;
 * - `LB_INVALID_PROTOCOL`: a protocol other than `'TCP'`/`'UDP'`;
 * - `LB_MIXED_FAMILY`: an IPv6 backend for an IPv4 frontend or the reverse;
 * - `LB_DUPLICATE_FRONTEND`: the same frontend twice in one request;
 * - `LB_DUPLICATE_BACKEND`: the same backend address:port twice in one service;
 * - `LB_TOO_MANY_BACKENDS`: more backends than the per-service limit;
 * - `LB_MAP_FULL`: the change does not fit the maps (entries, backend ids, reverse-NAT indexes);
 * - `LB_FAMILY_UNAVAILABLE`: the manager has no maps for that address family;
 * - `LB_MAPS`: map handles or pins are missing or have the wrong shape;
 * - `LB_STATE`: the maps hold something the manager cannot have written (restore refuses to guess);
 * - `LB_WRITE_FAILED`: a kernel map write failed; everything written before it was rolled back;
 * - `LB_ROLLBACK_FAILED`: a write failed and undoing it failed too (the manager refuses further use);
 * - `LB_KUBERNETES_INPUT`: the Kubernetes JSON is not a Service/EndpointSlice list;
 * - `LB_CLOSED`: the manager was closed.
 */
export type ServiceErrorCode =
  | 'LB_INVALID_SPEC'
  | 'LB_INVALID_ADDRESS'
  | 'LB_INVALID_PORT'
  | 'LB_INVALID_PROTOCOL'
  | 'LB_MIXED_FAMILY'
  | 'LB_DUPLICATE_FRONTEND'
  | 'LB_DUPLICATE_BACKEND'
  | 'LB_TOO_MANY_BACKENDS'
  | 'LB_MAP_FULL'
  | 'LB_FAMILY_UNAVAILABLE'
  | 'LB_MAPS'
  | 'LB_STATE'
  | 'LB_WRITE_FAILED'
  | 'LB_ROLLBACK_FAILED'
  | 'LB_KUBERNETES_INPUT'
  | 'LB_CLOSED';

/**
 * The service manager refused a request or found its maps unusable. `path`
 * names the offending part of the input (`services[2].backends[0].port`),
 * `''` when the error is not about one field.
 */
export class ServiceError extends TsbpfError {
  declare readonly code: ServiceErrorCode;
  /** Where in the input the problem is, e.g. `backends[1].address`; `''` if nowhere in particular. */
  readonly path: string;

  constructor(code: ServiceErrorCode, message: string, options: { path?: string; cause?: unknown } = {}) {
    super(code, options.path ? `${options.path}: ${message}` : message, options.cause === undefined ? undefined : { cause: options.cause });
    this.path = options.path ?? '';
  }
}
