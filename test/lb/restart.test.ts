/**
 * Restart: the load balancer's state lives in pins, not in a process. A
 * process brings the LB up and adds a service, then is killed (SIGKILL);
 * `lb down` without `--purge` and `lb up` again (the CLI) keep an
 * established TCP connection working and the service table as it was, and
 * new connections are balanced again afterwards. All in namespaces, a test
 * cgroup and a private bpffs this test creates.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createPodLab, startChild, startEchoServer, startServer, type LabChild } from '../../programs/lab/index.js';
import { runClient } from '../../programs/demo/traffic.js';
import { lbDown, lbStatus } from '../../programs/lb/deploy.js';
import { createPinDir } from '../support/bpffs.js';
import { createTestCgroup } from '../support/cgroup.js';
import { runCli } from '../support/cli.js';
import { need } from '../support/env.js';

const root = join(import.meta.dirname, '..', '..');
const VIP = '10.96.0.10';

/** A server that answers every line with `<id> <line>` and keeps the connection open. */
const LINE_SERVER = `
const net = require('node:net');
const [id, port] = process.argv.slice(1);
net.createServer((s) => { s.setEncoding('utf8'); s.on('error', () => {}); s.on('data', (d) => { for (const l of d.split('\\n').filter(Boolean)) s.write(id + ' ' + l + '\\n'); }); })
  .listen(Number(port), '0.0.0.0', () => process.stdout.write('ready\\n'));
setTimeout(() => process.exit(0), 60000).unref();
`;

/** One long-lived connection: each line on stdin is sent, each reply line printed. */
const HELD_CLIENT = `
const net = require('node:net');
const [host, port] = process.argv.slice(1);
const c = net.connect({ host, port: Number(port) }, () => process.stdout.write('connected\\n'));
c.setEncoding('utf8');
c.on('data', (d) => process.stdout.write('reply ' + d));
c.on('error', (e) => process.stdout.write('error ' + e.code + '\\n'));
c.on('close', () => process.stdout.write('closed\\n'));
process.stdin.setEncoding('utf8').on('data', (d) => c.write(d));
setTimeout(() => process.exit(0), 60000).unref();
`;

/** Sends `ping-<n>` on the held connection and waits for its reply line. */
async function ping(held: { child: LabChild; lines: string[] }, n: number): Promise<string> {
  held.child.process.stdin!.write(`ping-${n}\n`);
  const deadline = Date.now() + 3000;
  for (;;) {
    const line = held.lines.find((l) => l.includes(`ping-${n}`) || l.startsWith('error') || l === 'closed');
    if (line) return line;
    if (Date.now() > deadline) return 'no reply';
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('lb restart', () => {
  it.skipIf(!need({ kernel: true, tools: ['ip'] }))(
    'a killed lb-up process, lb down without --purge and lb up keep an established connection and the service table',
    async () => {
      using pins = createPinDir('lbrestart');
      using cg = createTestCgroup('lbrestart');
      using lab = createPodLab({ pods: ['client', 'backend-1', 'backend-2'], tag: 'lbrestart' });
      const pinDir = join(pins.path, 'lb');
      const backends = [lab.pod('backend-1'), lab.pod('backend-2')];
      const children: LabChild[] = [];
      try {
        for (const b of backends) children.push(await startServer([process.execPath, '-e', LINE_SERVER, b.name, '9000'], { netns: b.ns, timeoutMs: 60_000 }));
        const echo = await Promise.all(backends.map((b) => startEchoServer({ netns: b.ns, id: b.name, tcpPort: 8080, lifetimeMs: 60_000 })));
        children.push(...echo.map((e) => e.child));

        // A separate process brings the LB up and adds the services, then is killed.
        let upOut = '';
        const upper = startChild([process.execPath, '--import', 'tsx', join(root, 'test/lb/hold-up.ts'), cg.path, pinDir, VIP, ...backends.map((b) => b.address)], {
          timeoutMs: 60_000,
          onStdout: (c) => (upOut += c),
        });
        children.push(upper);
        const deadline = Date.now() + 45_000;
        while (!upOut.includes('up\n') && upper.process.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        expect(upOut).toContain('up\n');
        upper.stop('SIGKILL');
        const killed = await upper.done;
        expect(killed.signal).toBe('SIGKILL');

        const listed = async () => {
          const r = await runCli(['lb', 'service', 'list', '--json', '--pin', pinDir]);
          expect(r).toMatchObject({ code: 0, stderr: '' });
          return JSON.parse(r.stdout) as unknown[];
        };
        const table = await listed();
        expect(table).toHaveLength(2);

        const place = { netns: lab.pod('client').ns, cgroup: cg.path };
        const lines: string[] = [];
        const heldChild = startChild([process.execPath, '-e', HELD_CLIENT, VIP, '9000'], {
          ...place,
          timeoutMs: 60_000,
          onStdout: (c) => lines.push(...c.split('\n').filter(Boolean)),
        });
        children.push(heldChild);
        const held = { child: heldChild, lines };
        expect(await ping(held, 1)).toMatch(/^reply backend-[12] ping-1$/);
        const answeredBy = (await ping(held, 1)).split(' ')[1];

        const before = await runClient({ ...place, host: VIP, port: 8080, count: 40, timeoutMs: 10_000 });
        expect(before.failures).toEqual([]);
        expect(Object.keys(before.answers).sort()).toEqual(['backend-1', 'backend-2']);

        const down = await runCli(['lb', 'down', '--pin', pinDir]);
        expect(down.code, down.stderr).toBe(0);
        expect(down.stdout).toContain('service tables kept');
        expect(lbStatus(pinDir)).toEqual([]);
        expect(await listed()).toEqual(table);
        expect(await ping(held, 2)).toBe(`reply ${answeredBy} ping-2`);
        // Detached for real: the VIP is not translated any more.
        const whileDown = await runClient({ ...place, host: VIP, port: 8080, count: 2, timeoutMs: 5000 });
        expect(whileDown.latenciesUs).toEqual([]);

        const up = await runCli(['lb', 'up', '--cgroup', cg.path, '--pin', pinDir]);
        expect(up.code, up.stderr).toBe(0);
        expect(up.stdout).toMatch(/maps reused \(services kept\): .*lb4_services/);
        expect(await listed()).toEqual(table);
        expect(await ping(held, 3)).toBe(`reply ${answeredBy} ping-3`);

        // Up while up swaps the programs in the pinned links.
        const again = await runCli(['lb', 'up', '--cgroup', cg.path, '--pin', pinDir]);
        expect(again.code, again.stderr).toBe(0);
        expect(again.stdout).toContain('replaced');
        expect(await ping(held, 4)).toBe(`reply ${answeredBy} ping-4`);

        const after = await runClient({ ...place, host: VIP, port: 8080, count: 40, timeoutMs: 10_000 });
        expect(after.failures).toEqual([]);
        expect(Object.keys(after.answers).sort()).toEqual(['backend-1', 'backend-2']);
        expect(lines.filter((l) => l.startsWith('error') || l === 'closed')).toEqual([]);
      } finally {
        for (const c of children) c.stop('SIGKILL');
        await Promise.all(children.map((c) => c.done.catch(() => undefined)));
        try {
          lbDown({ pinDir, purge: true });
        } catch {
          // The pin dir goes with the bpffs anyway.
        }
      }
    },
    90_000,
  );
});
