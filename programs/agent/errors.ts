/** Typed errors of the per-node agent. */
import { TsbpfError } from '../../dsl/errors.js';

/**
 * An error of the agent: bad options (`AGENT_BAD_OPTION`), no usable API server
 * configuration (`AGENT_NO_KUBECONFIG`), a datapath that cannot be set up
 * (`AGENT_DATAPATH`), an ops server that cannot listen (`AGENT_LISTEN`).
 */
export class AgentError extends TsbpfError {}
