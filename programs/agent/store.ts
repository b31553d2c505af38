/**
 * The agent's view of the cluster: Services and their EndpointSlices, grouped
 * by service (`namespace/name`). Every change names the services it touched,
 * so the sync loop programs only those. Which services this node proxies at
 * all is decided here: headless ones (`clusterIP: None`), ExternalName ones
 * and those that name another proxy (`service.kubernetes.io/service-proxy-name`)
 * are left out, as kube-proxy leaves them out.
 */
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';

/** Label on an EndpointSlice naming its Service. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
/** Label on a Service that hands it to a different proxy. */
export const SERVICE_PROXY_NAME_LABEL = 'service.kubernetes.io/service-proxy-name';
/** Annotation on an EndpointSlice: when the change it reflects was triggered (RFC 3339). */
export const TRIGGER_TIME_ANNOTATION = 'endpoints.kubernetes.io/last-change-trigger-time';

/** What the datapath needs to program one service. */
export interface ServiceState {
  /** `namespace/name`. */
  readonly key: string;
  readonly service: V1Service;
  /** Its EndpointSlices, in no particular order. */
  readonly slices: readonly V1EndpointSlice[];
}

/** `namespace/name` of an object. */
export function objectKey(obj: { metadata?: { namespace?: string; name?: string } }): string {
  return `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
}

/** Why this node does not proxy `service`, or undefined when it does. */
export function skipReason(service: V1Service): string | undefined {
  if (service.metadata?.labels?.[SERVICE_PROXY_NAME_LABEL] !== undefined)
    return `labelled ${SERVICE_PROXY_NAME_LABEL}=${service.metadata.labels[SERVICE_PROXY_NAME_LABEL]}`;
  if (service.spec?.type === 'ExternalName') return 'type ExternalName';
  const ip = service.spec?.clusterIP;
  if (ip === 'None') return 'headless';
  if (!ip) return 'no clusterIP';
  return undefined;
}

/** The trigger time of a slice's change in ms since the epoch, if it carries a valid one. */
export function triggerTime(slice: V1EndpointSlice): number | undefined {
  const text = slice.metadata?.annotations?.[TRIGGER_TIME_ANNOTATION];
  if (text === undefined) return undefined;
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? ms : undefined;
}

/** A change to the store: which services it touched, and a new trigger time if the slice carries one. */
export interface StoreChange {
  readonly keys: readonly string[];
  /** Set when an EndpointSlice's trigger-time annotation is new (not seen for this slice before). */
  readonly triggeredAt?: number;
}

/** Services and EndpointSlices by service; see the module comment. */
export class ServiceStore {
  private readonly services = new Map<string, V1Service>();
  private readonly sliceOwner = new Map<string, { service: string; slice: V1EndpointSlice; trigger: string | undefined }>();
  private readonly slicesByService = new Map<string, Map<string, V1EndpointSlice>>();

  /** A Service appeared or changed. */
  upsertService(service: V1Service): StoreChange {
    const key = objectKey(service);
    this.services.set(key, service);
    return { keys: [key] };
  }

  /** A Service is gone. */
  deleteService(service: V1Service): StoreChange {
    const key = objectKey(service);
    this.services.delete(key);
    return { keys: [key] };
  }

  /** An EndpointSlice appeared or changed (possibly moving to another service). */
  upsertSlice(slice: V1EndpointSlice): StoreChange {
    const sliceKey = objectKey(slice);
    const owner = slice.metadata?.labels?.[SERVICE_NAME_LABEL];
    const previous = this.sliceOwner.get(sliceKey);
    const keys: string[] = [];
    if (previous) {
      this.removeSlice(sliceKey, previous.service);
      keys.push(previous.service);
    }
    if (owner === undefined) {
      this.sliceOwner.delete(sliceKey);
      return { keys };
    }
    const service = `${slice.metadata?.namespace ?? ''}/${owner}`;
    const trigger = slice.metadata?.annotations?.[TRIGGER_TIME_ANNOTATION];
    this.sliceOwner.set(sliceKey, { service, slice, trigger });
    let group = this.slicesByService.get(service);
    if (!group) this.slicesByService.set(service, (group = new Map()));
    group.set(sliceKey, slice);
    if (!keys.includes(service)) keys.push(service);
    const fresh = trigger !== undefined && trigger !== previous?.trigger ? triggerTime(slice) : undefined;
    return fresh === undefined ? { keys } : { keys, triggeredAt: fresh };
  }

  /** An EndpointSlice is gone. */
  deleteSlice(slice: V1EndpointSlice): StoreChange {
    const sliceKey = objectKey(slice);
    const previous = this.sliceOwner.get(sliceKey);
    if (!previous) return { keys: [] };
    this.sliceOwner.delete(sliceKey);
    this.removeSlice(sliceKey, previous.service);
    return { keys: [previous.service] };
  }

  /** The state to program for `key`, or undefined when the service is absent or not ours to proxy. */
  state(key: string): ServiceState | undefined {
    const service = this.services.get(key);
    if (!service || skipReason(service) !== undefined) return undefined;
    return { key, service, slices: [...(this.slicesByService.get(key)?.values() ?? [])] };
  }

  /** Every service this node proxies. */
  allStates(): ServiceState[] {
    const out: ServiceState[] = [];
    for (const key of this.services.keys()) {
      const s = this.state(key);
      if (s) out.push(s);
    }
    return out;
  }

  /** Counts for metrics: services known, services proxied, slices. */
  counts(): { services: number; proxied: number; slices: number } {
    let proxied = 0;
    for (const s of this.services.values()) if (skipReason(s) === undefined) proxied++;
    return { services: this.services.size, proxied, slices: this.sliceOwner.size };
  }

  private removeSlice(sliceKey: string, service: string): void {
    const group = this.slicesByService.get(service);
    if (!group) return;
    group.delete(sliceKey);
    if (group.size === 0) this.slicesByService.delete(service);
  }
}
