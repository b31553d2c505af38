/**
 * What the agent's NodePort end-to-end files share: the two-node topology
 * (test/tc/nodeport-e2e-topology.ts) with a private bpffs, a test cgroup, the
 * fake API server and backend servers in the pods, torn down together — the
 * agent uninstalled first — with a check that none of the namespaces or pins
 * outlived the run.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { Agent } from '../../programs/agent/agent.js';
import { createPinDir, type PinDir } from '../support/bpffs.js';
import { createTestCgroup, type TestCgroup } from '../support/cgroup.js';
import { FakeKubeApi } from '../support/kube-api.js';
import { ip } from '../support/netns.js';
import { createNodePortTopology, type Backend, type NodePortTopology } from '../tc/nodeport-e2e-topology.js';

/** One file's environment. */
export interface AgentNodePortEnv {
  readonly topo: NodePortTopology;
  readonly pins: PinDir;
  /** The agent's pin directory, on `pins`. */
  readonly pinDir: string;
  readonly cg: TestCgroup;
  readonly api: FakeKubeApi;
  /** Backend servers the file started (stopped at teardown). */
  readonly servers: Backend[];
}

/** Creates the environment; on failure removes what was made. */
export async function createAgentNodePortEnv(tag: string): Promise<AgentNodePortEnv> {
  const env: { -readonly [K in keyof AgentNodePortEnv]?: AgentNodePortEnv[K] } = { servers: [] };
  try {
    env.topo = createNodePortTopology();
    env.pins = createPinDir(tag);
    env.cg = createTestCgroup(tag);
    env.api = await FakeKubeApi.start();
    return { ...env, pinDir: join(env.pins.path, 'agent') } as AgentNodePortEnv;
  } catch (e) {
    await teardownAgentNodePortEnv(env, undefined);
    throw e;
  }
}

/** Uninstalls the agent (if any), stops and removes everything, and checks nothing is left. */
export async function teardownAgentNodePortEnv(env: Partial<AgentNodePortEnv> | undefined, agent: Agent | undefined): Promise<void> {
  const t = env?.topo;
  const namespaces = [t?.lan, t?.client, t?.nodeA, t?.nodeB, t?.podA, t?.podB, t?.cpod].filter((n): n is string => Boolean(n));
  try {
    await agent?.uninstall();
  } finally {
    for (const s of env?.servers ?? []) await s.stop();
    await env?.api?.close();
    env?.cg?.cleanup();
    env?.pins?.cleanup();
    t?.cleanup();
  }
  const left = ip('netns', 'list');
  for (const n of namespaces) expect(left).not.toContain(n);
  if (env?.pins) expect(existsSync(env.pins.path)).toBe(false);
}

/** Polls `cond` (sync or async) every `intervalMs` until it holds; throws naming `what` after `timeoutMs`. */
export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 10_000, intervalMs = 20): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
