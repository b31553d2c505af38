/**
 * This node's zone for topology-aware routing: the `topology.kubernetes.io/zone`
 * label of its Node object, as kube-proxy reads it. A DaemonSet cannot get node
 * labels through the downward API, so the agent asks the API server once at
 * start (`get nodes`); a zone label changed later takes a restart.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from './log.js';
import { getJson } from './raw-list.js';

/** The well-known zone label. */
export const ZONE_LABEL = 'topology.kubernetes.io/zone';

/** The zone label of Node `nodeName`; undefined (logged) when it has none or the Node cannot be read in `timeoutMs`. */
export async function readNodeZone(config: KubeConfig, nodeName: string, log: Logger, timeoutMs = 5000): Promise<string | undefined> {
  try {
    const node = (await getJson(config, `/api/v1/nodes/${encodeURIComponent(nodeName)}`, {}, timeoutMs)) as { metadata?: { labels?: Record<string, unknown> } };
    const zone = node.metadata?.labels?.[ZONE_LABEL];
    if (typeof zone === 'string' && zone !== '') {
      log.info('node zone: following topology hints', { node: nodeName, zone });
      return zone;
    }
    log.info('node has no zone label: topology hints are not followed', { node: nodeName, label: ZONE_LABEL });
  } catch (e) {
    log.warn('cannot read the Node object: topology hints are not followed', { node: nodeName, error: e });
  }
  return undefined;
}
