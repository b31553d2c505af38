/**
 * Where the agent finds the API server. The agent is the node's service proxy,
 * so the API server's ClusterIP is not programmed yet when it starts: an
 * explicit address (`--api-server`) replaces the server of whichever
 * credentials were found (in-cluster service account, kubeconfig file, or none).
 */
import { existsSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { AgentError } from './errors.js';

/** Service-account token mounted into every pod (in-cluster credentials). */
export const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/** How to reach the API server. */
export interface KubeConnectionOptions {
  /** A kubeconfig file; default: in-cluster credentials, else `$KUBECONFIG` / `~/.kube/config`. */
  readonly kubeconfig?: string;
  /** API server URL (`https://10.0.0.1:6443`) that overrides the configured one. */
  readonly apiServer?: string;
  /** Environment to read `KUBERNETES_SERVICE_HOST` / `KUBECONFIG` from (default: the process's). */
  readonly env?: NodeJS.ProcessEnv;
}

/** Where the configuration came from, for the start-up log. */
export type KubeConfigSource = 'kubeconfig-file' | 'in-cluster' | 'default-kubeconfig' | 'api-server-only';

/** A loaded configuration and its origin. */
export interface LoadedKubeConfig {
  readonly config: KubeConfig;
  readonly source: KubeConfigSource;
  readonly server: string;
}

/** Loads the client configuration the options describe; throws {@link AgentError} when none is usable. */
export function loadKubeConfig(options: KubeConnectionOptions = {}): LoadedKubeConfig {
  const env = options.env ?? process.env;
  if (options.apiServer !== undefined) checkServerUrl(options.apiServer);
  let config = new KubeConfig();
  let source: KubeConfigSource;
  if (options.kubeconfig !== undefined) {
    if (!existsSync(options.kubeconfig)) throw new AgentError('AGENT_NO_KUBECONFIG', `kubeconfig file '${options.kubeconfig}' does not exist`);
    config.loadFromFile(options.kubeconfig);
    source = 'kubeconfig-file';
  } else if (existsSync(SERVICE_ACCOUNT_TOKEN) && (env.KUBERNETES_SERVICE_HOST || options.apiServer !== undefined)) {
    // loadFromCluster needs KUBERNETES_SERVICE_HOST for its URL; the override replaces it below.
    config.loadFromCluster();
    source = 'in-cluster';
  } else if (env.KUBECONFIG || existsSync(`${env.HOME ?? ''}/.kube/config`)) {
    config.loadFromDefault();
    source = 'default-kubeconfig';
  } else if (options.apiServer !== undefined) {
    config.loadFromOptions({
      // The client refuses plain http unless TLS verification is off (there is no TLS to verify).
      clusters: [{ name: 'api-server', server: options.apiServer, skipTLSVerify: isPlainHttp(options.apiServer) }],
      users: [{ name: 'anonymous' }],
      contexts: [{ name: 'api-server', cluster: 'api-server', user: 'anonymous' }],
      currentContext: 'api-server',
    });
    return { config, source: 'api-server-only', server: options.apiServer };
  } else {
    throw new AgentError('AGENT_NO_KUBECONFIG', 'no API server configuration: not in a cluster, no kubeconfig (--kubeconfig, $KUBECONFIG, ~/.kube/config) and no --api-server');
  }
  if (options.apiServer !== undefined) config = withServer(config, options.apiServer);
  const cluster = config.getCurrentCluster();
  if (!cluster) throw new AgentError('AGENT_NO_KUBECONFIG', `the kubeconfig has no current cluster (context '${config.getCurrentContext()}')`);
  return { config, source, server: cluster.server };
}

/** The same credentials with the current cluster's server replaced. */
function withServer(config: KubeConfig, server: string): KubeConfig {
  const current = config.getCurrentCluster();
  const next = new KubeConfig();
  next.loadFromOptions({
    clusters: config.clusters.map((c) => (c === current ? { ...c, server, skipTLSVerify: c.skipTLSVerify || isPlainHttp(server) } : c)),
    users: config.users,
    contexts: config.contexts,
    currentContext: config.currentContext,
  });
  return next;
}

function isPlainHttp(url: string): boolean {
  return url.startsWith('http:');
}

function checkServerUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new AgentError('AGENT_BAD_OPTION', `--api-server '${url}' is not a URL (expected https://HOST:PORT)`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')
    throw new AgentError('AGENT_BAD_OPTION', `--api-server '${url}' must be an http:// or https:// URL`);
}
