/**
 * The socket LB on services with externalTrafficPolicy=Local written by the
 * manager: connects made on the node itself (the test cgroup) to the node port
 * use every backend, local or not — Kubernetes applies the policy to traffic
 * from outside the node only, and the socket programs read the EXTERNAL-scope
 * frontend, never the INTERNAL one the tc NodePort programs use — and even a
 * Local service without any local backend stays reachable from the node.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServiceManager } from '../../programs/lb/index.js';
import { need } from '../support/env.js';
import { TCP_CLIENT, type TcpResult } from '../sock/clients.js';
import { BACKEND_PORT, openSockLab, type SockLab } from '../sock/lab.js';

const NODE_PORT = 30481;

describe.skipIf(!need({ kernel: true }))('socket LB on externalTrafficPolicy=Local services: from the node, every backend', () => {
  let lab: SockLab;
  let m: ServiceManager;
  beforeAll(async () => {
    lab = await openSockLab({ subnet: 82, target: 'host', nodePortRange: [30000, 32767] });
    m = ServiceManager.fromPins(lab.pins.path);
  });
  afterAll(() => {
    m?.close();
    lab?.close();
  });

  const reached = (r: TcpResult[]) => {
    expect(r.filter((x) => !x.ok)).toEqual([]);
    return new Set(r.map((x) => x.data));
  };

  it('a Local NodePort service with one local backend: node connects reach both backends', async () => {
    const [b1, b2] = lab.backends4;
    const r = m.upsertService({
      frontend: { address: '0.0.0.0', port: NODE_PORT, protocol: 'TCP' },
      nodePort: true,
      externalTrafficPolicy: 'Local',
      backends: [{ address: b1!, port: BACKEND_PORT.tcp, local: true }, { address: b2!, port: BACKEND_PORT.tcp }],
    });
    expect(r.service.externalTrafficPolicy).toBe('Local');
    expect(reached(await lab.client<TcpResult[]>(TCP_CLIENT, ['127.0.0.1', NODE_PORT, 30]))).toEqual(new Set([`backend ${b1}`, `backend ${b2}`]));
  });

  it('a Local NodePort service without local backends is still reachable from the node', async () => {
    const [b1, b2] = lab.backends4;
    m.upsertService({
      frontend: { address: '0.0.0.0', port: NODE_PORT, protocol: 'TCP' },
      nodePort: true,
      externalTrafficPolicy: 'Local',
      backends: [{ address: b1!, port: BACKEND_PORT.tcp }, { address: b2!, port: BACKEND_PORT.tcp }],
    });
    expect(reached(await lab.client<TcpResult[]>(TCP_CLIENT, ['127.0.0.1', NODE_PORT, 30]))).toEqual(new Set([`backend ${b1}`, `backend ${b2}`]));
  });
});
