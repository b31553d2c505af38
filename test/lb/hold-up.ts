/**
 * Child process of test/lb/restart.test.ts: brings the load balancer up on a
 * cgroup and pin directory, adds the services (VIP:8080 and VIP:9000 to the
 * given backends), prints `up` and then stays alive until the test kills it,
 * as an agent would that crashed after deploying.
 *
 *   node --import tsx test/lb/hold-up.ts CGROUP PIN_DIR VIP BACKEND…
 */
import { lbUp } from '../../programs/lb/deploy.js';
import { ServiceManager } from '../../programs/lb/manager.js';

const [cgroup, pinDir, vip, ...backends] = process.argv.slice(2);
if (!cgroup || !pinDir || !vip || backends.length === 0) throw new Error('usage: hold-up.ts CGROUP PIN_DIR VIP BACKEND…');
lbUp({ cgroup, pinDir });
const mgr = ServiceManager.fromPins(pinDir);
for (const port of [8080, 9000]) mgr.upsertService({ frontend: { address: vip, port, protocol: 'TCP' }, backends: backends.map((address) => ({ address, port })) });
process.stdout.write('up\n');
setInterval(() => undefined, 1000);
