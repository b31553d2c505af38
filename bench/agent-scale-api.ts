/**
 * The API-server side of bench/agent-scale.ts, in its own process so its
 * work does not share the agent's event loop: a list/watch server
 * (test/support/kube-api.ts) filled with N services and their
 * EndpointSlices, and a churn generator changing slices at a fixed rate, each
 * change stamped with `endpoints.kubernetes.io/last-change-trigger-time`.
 *
 * stdin commands (one per line), answers on stdout:
 *   populate SERVICES ENDPOINTS_PER_SERVICE  → populated RV
 *   churn RATE_PER_S SECONDS                 → churned COUNT
 */
import { createInterface } from 'node:readline';
import { FakeKubeApi } from '../test/support/kube-api.js';
import { makeService, makeSlice } from '../test/support/kube-objects.js';

const api = await FakeKubeApi.start();
process.stdout.write(`url ${api.url}\n`);

const vip = (i: number) => `10.${96 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
const pod = (i: number, j: number) => {
  const n = i * 8 + j;
  return `10.${128 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`;
};
let services = 0;
let perService = 0;
const ns = (i: number) => `ns${i % 100}`;
const sliceOf = (i: number, variant: number, at?: Date) =>
  makeSlice(ns(i), `svc${i}-a`, `svc${i}`, Array.from({ length: perService }, (_, j) => ({ ip: pod(i, (j + variant) % 8) })), [{ name: 'http', port: 8080 }], at);

async function churn(rate: number, seconds: number): Promise<number> {
  const start = performance.now();
  let done = 0;
  const total = Math.round(rate * seconds);
  let seed = 7;
  while (done < total) {
    const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate));
    for (; done < due; done++) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      const i = seed % services;
      api.apply('endpointslices', sliceOf(i, 1 + (done % 7), new Date()));
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  return done;
}

for await (const line of createInterface({ input: process.stdin })) {
  const [cmd, a, b] = line.trim().split(/\s+/);
  if (cmd === 'populate') {
    services = Number(a);
    perService = Number(b);
    for (let i = 0; i < services; i++) {
      api.apply('services', makeService(ns(i), `svc${i}`, vip(i), [{ name: 'http', port: 80, targetPort: 8080 }]));
      api.apply('endpointslices', sliceOf(i, 0));
    }
    process.stdout.write(`populated ${api.resourceVersion}\n`);
  } else if (cmd === 'churn') {
    const n = await churn(Number(a), Number(b));
    process.stdout.write(`churned ${n}\n`);
  } else if (cmd === 'quit') break;
}
await api.close();
process.exit(0);
