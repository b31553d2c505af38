/**
 * A local HTTP server speaking the Kubernetes list/watch protocol for Services
 * and EndpointSlices, so informers can be tested without a cluster:
 *  - LIST returns `{kind: …List, metadata: {resourceVersion}, items}`, in pages
 *    with `continue` tokens when asked with `limit` (tokens can be made to expire);
 *  - WATCH (`?watch=true&resourceVersion=N`) replays the events after N, then
 *    streams live ones as chunked JSON lines (ADDED/MODIFIED/DELETED, and
 *    BOOKMARK when asked with `allowWatchBookmarks`);
 *  - a resourceVersion older than the last `compact()` is expired: answered
 *    with HTTP 410 or with a 200 stream holding one `ERROR` event whose Status
 *    has code 410 (`expiry` chooses), as real API servers do both;
 *  - faults on demand: drop all watch connections (socket destroyed), close
 *    them cleanly server-side, hold new watches back, fail the next requests;
 *  - optionally HTTPS (a key and certificate of the test's own) and a bearer
 *    token every request must carry (else 401), as a real API server checks
 *    a service account's.
 * One global resourceVersion counter, like etcd's revision.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

/** The resources served. */
export type Resource = 'services' | 'endpointslices';

/** Watch/list paths the client uses (all namespaces). */
export const RESOURCE_PATHS: Record<Resource, string> = {
  services: '/api/v1/services',
  endpointslices: '/apis/discovery.k8s.io/v1/endpointslices',
};

const LIST_KIND: Record<Resource, { kind: string; apiVersion: string; itemKind: string }> = {
  services: { kind: 'ServiceList', apiVersion: 'v1', itemKind: 'Service' },
  endpointslices: { kind: 'EndpointSliceList', apiVersion: 'discovery.k8s.io/v1', itemKind: 'EndpointSlice' },
};

/** A stored object (only what the protocol needs is typed). */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; [k: string]: unknown };
  [k: string]: unknown;
}

interface Event {
  readonly rv: number;
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  readonly object: KubeObject;
}

interface OpenWatch {
  readonly resource: Resource;
  readonly res: ServerResponse;
  readonly bookmarks: boolean;
}

/** A request the server saw. */
export interface SeenRequest {
  readonly resource: Resource | undefined;
  readonly watch: boolean;
  readonly resourceVersion: string | undefined;
  readonly status: number;
  /** The Authorization header sent, if any. */
  readonly authorization: string | undefined;
}

/** Options of {@link FakeKubeApi.start}. */
export interface FakeKubeApiOptions {
  /** Serve HTTPS with this PEM key and certificate (the certificate must name 127.0.0.1). */
  readonly tls?: { readonly key: string | Buffer; readonly cert: string | Buffer };
  /** Refuse (401) every request without `Authorization: Bearer <token>`. */
  readonly token?: string;
}

/** How an expired resourceVersion is reported. */
export type Expiry = 'http' | 'event';

function keyOf(o: KubeObject): string {
  return `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
}

function status410(): Record<string, unknown> {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'too old resource version', reason: 'Expired', code: 410 };
}

/** The fake API server; see the module comment. */
export class FakeKubeApi implements AsyncDisposable {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  url = '';
  /** Every request, in order. */
  readonly requests: SeenRequest[] = [];
  /** How expired watches are answered. */
  expiry: Expiry = 'event';
  /** Answer LIST requests carrying a `continue` token with 410 (the token expired). */
  expireContinue = false;
  private rv = 1000;
  private compactedRv = 0;
  private readonly lastRv: Record<Resource, number> = { services: 0, endpointslices: 0 };
  private readonly objects: Record<Resource, Map<string, KubeObject>> = { services: new Map(), endpointslices: new Map() };
  private readonly history: Record<Resource, Event[]> = { services: [], endpointslices: [] };
  private readonly watches = new Set<OpenWatch>();
  private readonly nodes = new Map<string, KubeObject>();
  private held: Array<() => void> = [];
  private holding = false;
  private failures: Array<{ resource: Resource | undefined; watch: boolean | undefined; status: number }> = [];
  private readonly server: Server;
  private readonly token: string | undefined;

  private constructor(options: FakeKubeApiOptions) {
    const handler = (req: IncomingMessage, res: ServerResponse) => this.handle(req, res);
    // https.Server is an http.Server subclass with the same request events.
    this.server = options.tls ? (createHttpsServer({ key: options.tls.key, cert: options.tls.cert }, handler) as unknown as Server) : createServer(handler);
    this.token = options.token;
  }

  /** Starts a server on 127.0.0.1 (random port): plain HTTP, or HTTPS with `tls`. */
  static async start(options: FakeKubeApiOptions = {}): Promise<FakeKubeApi> {
    const api = new FakeKubeApi(options);
    await new Promise<void>((resolve) => api.server.listen(0, '127.0.0.1', resolve));
    api.url = `${options.tls ? 'https' : 'http'}://127.0.0.1:${(api.server.address() as AddressInfo).port}`;
    return api;
  }

  /** The port the server listens on. */
  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** The current resourceVersion. */
  get resourceVersion(): number {
    return this.rv;
  }

  /** resourceVersion of the last change to `resource` (what a caught-up informer has applied). */
  lastResourceVersion(resource: Resource): string {
    return String(this.lastRv[resource]);
  }

  /** Open watch connections. */
  get openWatches(): number {
    return this.watches.size;
  }

  /** Creates or replaces an object (ADDED or MODIFIED). Returns the stored copy. */
  apply(resource: Resource, object: KubeObject): KubeObject {
    const stored = structuredClone(object);
    const { apiVersion, itemKind } = LIST_KIND[resource];
    stored.apiVersion ??= apiVersion;
    stored.kind ??= itemKind;
    stored.metadata.resourceVersion = String(++this.rv);
    const key = keyOf(stored);
    const type = this.objects[resource].has(key) ? 'MODIFIED' : 'ADDED';
    this.objects[resource].set(key, stored);
    this.emit(resource, { rv: this.rv, type, object: stored });
    return stored;
  }

  /** Serves Node `name` with `labels` at GET /api/v1/nodes/NAME (not watched). */
  setNode(name: string, labels: Record<string, string>): void {
    this.nodes.set(name, { apiVersion: 'v1', kind: 'Node', metadata: { name, labels, resourceVersion: '1' } });
  }

  /** Deletes an object by namespace/name (DELETED); false when absent. */
  remove(resource: Resource, namespace: string, name: string): boolean {
    const key = `${namespace}/${name}`;
    const old = this.objects[resource].get(key);
    if (!old) return false;
    this.objects[resource].delete(key);
    const gone = structuredClone(old);
    gone.metadata.resourceVersion = String(++this.rv);
    this.emit(resource, { rv: this.rv, type: 'DELETED', object: gone });
    return true;
  }

  /** The stored objects of a resource. */
  list(resource: Resource): KubeObject[] {
    return [...this.objects[resource].values()].map((o) => structuredClone(o));
  }

  /** Forgets history: watches from a resourceVersion before now get 410 Gone. */
  compact(): void {
    this.compactedRv = this.rv;
    for (const r of Object.keys(this.history) as Resource[]) this.history[r] = [];
  }

  /** Sends a BOOKMARK with the current resourceVersion on every watch that asked for them. */
  bookmark(): void {
    for (const w of this.watches)
      if (w.bookmarks) this.write(w, { type: 'BOOKMARK', object: { kind: LIST_KIND[w.resource].itemKind, apiVersion: LIST_KIND[w.resource].apiVersion, metadata: { resourceVersion: String(this.rv) } } });
  }

  /** Sends an ERROR 410 event on every open watch and ends them (the watcher fell behind). */
  expireWatches(): void {
    this.compact();
    for (const w of [...this.watches]) {
      this.write(w, { type: 'ERROR', object: status410() });
      this.end(w);
    }
  }

  /** Ends every watch cleanly from the server side (as the server's watch timeout does). */
  closeWatches(): void {
    for (const w of [...this.watches]) this.end(w);
  }

  /** Drops every watch connection abruptly (socket destroyed mid-stream). */
  dropWatches(): void {
    for (const w of [...this.watches]) {
      this.watches.delete(w);
      w.res.socket?.destroy();
    }
  }

  /** Holds new watch requests unanswered until `release()`. */
  hold(): void {
    this.holding = true;
  }

  /** Answers the held watch requests (with whatever state the server has by then). */
  release(): void {
    this.holding = false;
    for (const go of this.held.splice(0)) go();
  }

  /** Fails the next matching request with `status` (a Status body). */
  failNext(status: number, match: { resource?: Resource; watch?: boolean } = {}): void {
    this.failures.push({ resource: match.resource, watch: match.watch, status });
  }

  /** Requests seen for a resource, optionally only lists or only watches. */
  seen(resource: Resource, watch?: boolean): SeenRequest[] {
    return this.requests.filter((r) => r.resource === resource && (watch === undefined || r.watch === watch));
  }

  /** Closes every connection and the server. */
  async close(): Promise<void> {
    this.release();
    for (const w of this.watches) w.res.socket?.destroy();
    this.watches.clear();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://fake');
    const resource = (Object.keys(RESOURCE_PATHS) as Resource[]).find((r) => RESOURCE_PATHS[r] === url.pathname);
    const watch = url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1';
    const rvParam = url.searchParams.get('resourceVersion') ?? undefined;
    const authorization = req.headers.authorization;
    const record = (status: number) => this.requests.push({ resource, watch, resourceVersion: rvParam, status, authorization });
    if (this.token !== undefined && authorization !== `Bearer ${this.token}`) {
      record(401);
      this.json(res, 401, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Unauthorized', code: 401, message: 'Unauthorized' });
      return;
    }
    const node = /^\/api\/v1\/nodes\/([^/]+)$/.exec(url.pathname);
    if (node && req.method === 'GET' && !watch) {
      const found = this.nodes.get(decodeURIComponent(node[1]!));
      record(found ? 200 : 404);
      if (found) this.json(res, 200, found);
      else this.json(res, 404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404, message: `nodes "${node[1]}" not found` });
      return;
    }
    if (!resource || req.method !== 'GET') {
      record(404);
      this.json(res, 404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404, message: `no route ${req.method} ${url.pathname}` });
      return;
    }
    const fault = this.failures.findIndex((f) => (f.resource === undefined || f.resource === resource) && (f.watch === undefined || f.watch === watch));
    if (fault >= 0) {
      const { status } = this.failures.splice(fault, 1)[0]!;
      record(status);
      this.json(res, status, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'InternalError', code: status, message: 'injected failure' });
      return;
    }
    if (!watch) {
      const { kind, apiVersion } = LIST_KIND[resource];
      const limit = Number(url.searchParams.get('limit') ?? 0);
      const token = url.searchParams.get('continue');
      if (token && this.expireContinue) {
        record(410);
        this.json(res, 410, { ...status410(), message: 'the provided continue parameter is too old' });
        return;
      }
      // Serialised right away below, so the stored objects need no copy.
      const all = [...this.objects[resource].values()].sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : 1));
      const [rv, offset] = token ? Buffer.from(token, 'base64url').toString().split(':').map(Number) : [this.rv, 0];
      const items = limit > 0 ? all.slice(offset, offset! + limit) : all;
      const more = limit > 0 && offset! + limit < all.length;
      record(200);
      const metadata = { resourceVersion: String(rv), ...(more ? { continue: Buffer.from(`${rv}:${offset! + limit}`).toString('base64url') } : {}) };
      this.json(res, 200, { kind, apiVersion, metadata, items });
      return;
    }
    const go = () => this.startWatch(resource, rvParam, url.searchParams.get('allowWatchBookmarks') === 'true', req, res, record);
    if (this.holding) this.held.push(go);
    else go();
  }

  private startWatch(resource: Resource, rvParam: string | undefined, bookmarks: boolean, req: IncomingMessage, res: ServerResponse, record: (s: number) => void): void {
    if (res.destroyed) return;
    const from = rvParam ? Number(rvParam) : this.rv;
    if (from < this.compactedRv) {
      if (this.expiry === 'http') {
        record(410);
        this.json(res, 410, status410());
        return;
      }
      record(200);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(`${JSON.stringify({ type: 'ERROR', object: status410() })}\n`);
      res.end();
      return;
    }
    record(200);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.flushHeaders();
    const w: OpenWatch = { resource, res, bookmarks };
    this.watches.add(w);
    req.on('close', () => this.watches.delete(w));
    for (const e of this.history[resource]) if (e.rv > from) this.write(w, { type: e.type, object: e.object });
  }

  private emit(resource: Resource, event: Event): void {
    this.lastRv[resource] = event.rv;
    this.history[resource].push(event);
    for (const w of this.watches) if (w.resource === resource) this.write(w, { type: event.type, object: event.object });
  }

  private write(w: OpenWatch, event: { type: string; object: unknown }): void {
    if (!w.res.writableEnded) w.res.write(`${JSON.stringify(event)}\n`);
  }

  private end(w: OpenWatch): void {
    this.watches.delete(w);
    w.res.end();
  }

  private json(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  }
}
