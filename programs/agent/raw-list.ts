/**
 * LIST of a resource as plain JSON. The generated client's typed list calls
 * run every object through its ObjectSerializer (field by field, dates to
 * Date objects), which at 10,000 Services and their EndpointSlices costs
 * more than the rest of a cold start; watch events arrive as plain JSON
 * anyway, so the store sees one shape either way. Pages of `limit` objects
 * are fetched with `continue` tokens as client-go's reflector does; a token
 * that expired (410) restarts the list unpaged.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import type { KubeConfig, KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';

/** An HTTP error from the API server (`statusCode` is what ListWatch and the informer read). */
export class ListError extends Error {
  constructor(readonly statusCode: number, message: string) {
    super(message);
  }
}

/** GET of an API path as plain JSON; a non-200 answer is a {@link ListError} with its status code. */
export async function getJson(config: KubeConfig, path: string, query: Record<string, string> = {}, timeoutMs = 60_000): Promise<unknown> {
  const cluster = config.getCurrentCluster();
  if (!cluster) throw new ListError(0, 'no current cluster in the kubeconfig');
  const url = new URL(cluster.server.replace(/\/$/, '') + path);
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  const opts: RequestOptions = { method: 'GET', headers: { accept: 'application/json' } };
  await config.applyToHTTPSOptions(opts);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(url, opts, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode !== 200) {
          let message = body.slice(0, 200);
          try {
            message = (JSON.parse(body) as { message?: string }).message ?? message;
          } catch {
            // not a Status object
          }
          reject(new ListError(res.statusCode ?? 0, `GET ${path}: HTTP ${res.statusCode}: ${message}`));
          return;
        }
        try {
          resolve(JSON.parse(body));
        } catch (e) {
          reject(new ListError(res.statusCode, `GET ${path}: response is not JSON (${(e as Error).message})`));
        }
      });
    });
    req.setTimeout(timeoutMs, () => req.destroy(new ListError(0, `GET ${path}: no response in ${timeoutMs / 1000} s`)));
    req.on('error', reject);
    req.end();
  });
}

/** Lists every object at `path` (all namespaces), `limit` per page (0: one request). */
export async function listRaw<T extends KubernetesObject>(config: KubeConfig, path: string, limit = 500): Promise<KubernetesListObject<T>> {
  const items: T[] = [];
  let token: string | undefined;
  let first: KubernetesListObject<T> | undefined;
  for (;;) {
    const query: Record<string, string> = {};
    if (limit > 0) query.limit = String(limit);
    if (token) query.continue = token;
    let page: KubernetesListObject<T>;
    try {
      page = (await getJson(config, path, query)) as KubernetesListObject<T>;
    } catch (e) {
      if (token && e instanceof ListError && e.statusCode === 410) return listRaw(config, path, 0);
      throw e;
    }
    first ??= page;
    for (const item of page.items ?? []) items.push(item);
    token = page.metadata?._continue ?? (page.metadata as { continue?: string } | undefined)?.continue;
    if (!token) break;
  }
  // The resourceVersion of a paged list is the first page's (a consistent snapshot).
  return { apiVersion: first.apiVersion, kind: first.kind, metadata: { resourceVersion: first.metadata?.resourceVersion }, items };
}
