/**
 * Where the agent finds the API server. The agent is the node's service proxy,
 * so the API server's ClusterIP is not programmed yet when it starts: an
 * explicit address (`--api-server`) replaces the server of whichever
 * credentials were found (in-cluster service account, kubeconfig file, or none).
 */
import { existsSync, readFileSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { AgentError } from './errors.js';

/** Where Kubernetes mounts a pod's service account (`token`, `ca.crt`, `namespace`): in-cluster credentials. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
/** Service-account token mounted into every pod (in-cluster credentials). */
export const SERVICE_ACCOUNT_TOKEN = `${SERVICE_ACCOUNT_DIR}/token`;

/** How to reach the API server. */
export interface KubeConnectionOptions {
  /** A kubeconfig file; default: in-cluster credentials, else `$KUBECONFIG` / `~/.kube/config`. */
  readonly kubeconfig?: string;
  /** API server URL (`https://10.0.0.1:6443`) that overrides the configured one. */
  readonly apiServer?: string;
  /** Environment to read `KUBERNETES_SERVICE_HOST` / `KUBECONFIG` from (default: the process's). */
  readonly env?: NodeJS.ProcessEnv;
  /**
   * The service-account directory (`token`, `ca.crt`, optional `namespace`)
   * of in-cluster credentials; default `$TSBPF_SERVICE_ACCOUNT_DIR`, else
   * {@link SERVICE_ACCOUNT_DIR}. Tests point it at a directory of their own.
   */
  readonly serviceAccountDir?: string;
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
  const saDir = options.serviceAccountDir ?? (env.TSBPF_SERVICE_ACCOUNT_DIR || SERVICE_ACCOUNT_DIR);
  if (options.apiServer !== undefined) checkServerUrl(options.apiServer);
  let config = new KubeConfig();
  let source: KubeConfigSource;
  if (options.kubeconfig !== undefined) {
    if (!existsSync(options.kubeconfig)) throw new AgentError('AGENT_NO_KUBECONFIG', `kubeconfig file '${options.kubeconfig}' does not exist`);
    config.loadFromFile(options.kubeconfig);
    source = 'kubeconfig-file';
  } else if (existsSync(join(saDir, 'token')) && (env.KUBERNETES_SERVICE_HOST || options.apiServer !== undefined)) {
    // The URL comes from KUBERNETES_SERVICE_HOST/PORT unless the override replaces it below.
    config = inClusterConfig(saDir, env, options.apiServer);
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

/**
 * In-cluster credentials from a service-account directory: the API server
 * at `KUBERNETES_SERVICE_HOST:KUBERNETES_SERVICE_PORT` (of `env`, not
 * necessarily the process's; the client library's own loader reads only
 * process.env and the fixed path), verified with `ca.crt`, authenticated with
 * the bearer token in `token` (re-read by the client as it rotates).
 */
function inClusterConfig(dir: string, env: NodeJS.ProcessEnv, override: string | undefined): KubeConfig {
  const ca = join(dir, 'ca.crt');
  if (!existsSync(ca)) throw new AgentError('AGENT_NO_KUBECONFIG', `in-cluster credentials in ${dir} have a token but no ca.crt`);
  let server = override;
  if (server === undefined) {
    const host = env.KUBERNETES_SERVICE_HOST!;
    const port = env.KUBERNETES_SERVICE_PORT || '443';
    if (!/^[0-9]{1,5}$/.test(port)) throw new AgentError('AGENT_NO_KUBECONFIG', `KUBERNETES_SERVICE_PORT must be a port number, got '${port}'`);
    server = `https://${isIPv6(host) ? `[${host}]` : host}:${port}`;
  }
  const namespacePath = join(dir, 'namespace');
  const namespace = existsSync(namespacePath) ? readFileSync(namespacePath, 'utf8').trim() : undefined;
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [{ name: 'in-cluster', server, caFile: ca, skipTLSVerify: false }],
    users: [{ name: 'service-account', authProvider: { name: 'tokenFile', config: { tokenFile: join(dir, 'token') } } }],
    contexts: [{ name: 'in-cluster', cluster: 'in-cluster', user: 'service-account', ...(namespace ? { namespace } : {}) }],
    currentContext: 'in-cluster',
  });
  return config;
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
