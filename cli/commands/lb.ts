/**
 * `tsbpf lb …`: the socket load balancer from the command line.
 *
 * - `lb up` compiles the socket-LB programs for this kernel, loads them with the
 *   service tables pinned under `--pin` and attaches them to `--cgroup` through
 *   pinned links (`programs/lb/deploy.ts`); `lb down` detaches, keeping the
 *   tables unless `--purge`.
 * - `lb service add|del|list` and `lb sync` change the tables through the
 *   service manager opened on the pins, one service at a time; a bad argument
 *   is refused before anything is written.
 * - `lb demo` is `npm start`: the whole thing in namespaces, then torn down.
 */
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { TsbpfError } from '../../dsl/errors.js';
import { checkPinDir, DEFAULT_LB_PIN_DIR, lbDown, lbStatus, lbUp, type LbUpResult } from '../../programs/lb/deploy.js';
import { ServiceError } from '../../programs/lb/errors.js';
import { servicesFromKubernetes } from '../../programs/lb/kubernetes.js';
import { ServiceManager } from '../../programs/lb/manager.js';
import {
  formatEndpoint, formatFrontend, MAX_AFFINITY_TIMEOUT_SECONDS, parseEndpoint, parseFrontend, type ExternalTrafficPolicy, type Service,
} from '../../programs/lb/spec.js';
import { cliIo } from '../io.js';

function usage(message: string): TsbpfError {
  return new TsbpfError('CLI_USAGE', message);
}

const out = (text: string) => void cliIo().stdout.write(text.endsWith('\n') ? text : `${text}\n`);

function formatUp(r: LbUpResult): string {
  const lines = [`socket load balancer up on cgroup ${r.cgroup} (compiled for kernel ${r.kernel}), pins under ${r.pinDir}`];
  for (const p of r.programs) lines.push(`  ${p.hook.padEnd(13)} ${p.name.padEnd(14)} prog id ${p.progId}, link id ${p.linkId} ${p.action}`);
  for (const o of r.omitted) lines.push(`  ${o.hook.padEnd(13)} not attached: ${o.reason}`);
  for (const l of r.limitations) lines.push(`  ${l.feature}: not available: ${l.reason}`);
  for (const d of r.detached) lines.push(`  ${d.padEnd(13)} detached (no longer part of the load balancer)`);
  const reused = r.maps.filter((m) => m.origin === 'reused').map((m) => m.name);
  const created = r.maps.filter((m) => m.origin !== 'reused').map((m) => m.name);
  if (reused.length) lines.push(`maps reused (services kept): ${reused.join(', ')}`);
  if (created.length) lines.push(`maps created: ${created.join(', ')}`);
  if (r.nodeAddresses.length) lines.push(`node addresses (NodePort from the node, besides loopback): ${r.nodeAddresses.join(', ')}`);
  return lines.join('\n');
}

function formatService(s: Service): string {
  const notes = [
    ...(s.nodePort ? ['NodePort'] : []),
    ...(s.externalIP ? ['external IP'] : []),
    ...(s.externalTrafficPolicy === 'Local' ? ['externalTrafficPolicy=Local'] : []),
    ...(s.sessionAffinity ? [`sessionAffinity=ClientIP ${s.sessionAffinity.timeoutSeconds}s`] : []),
  ];
  const kind = notes.length ? ` (${notes.join(', ')})` : '';
  const backends = s.backends.map((b) => {
    const marks = [...(b.local ? ['local'] : []), ...(b.terminating ? ['terminating'] : [])];
    return `${formatEndpoint(b.address, b.port)}${marks.length ? ` (${marks.join(', ')})` : ''}`;
  });
  return `${formatFrontend(s.frontend)}${kind} -> ${backends.length ? backends.join(', ') : 'no backends (connects are refused)'}`;
}

/** Opens the service manager on the pins of a load balancer that was brought up. */
function openManager(pinDir: string): ServiceManager {
  checkPinDir(pinDir);
  return ServiceManager.fromPins(pinDir);
}

/**
 * Runs one manager request, naming a refused field the way it was given on
 * the command line (`--backend 2 (10.0.0.1:80)`, `service`) instead of by
 * the manager's request path (`upsert[0].backends[1]`).
 */
function inArgumentTerms<T>(fn: () => T, backendTexts: readonly string[], remoteCount = backendTexts.length): T {
  try {
    return fn();
  } catch (e) {
    if (!(e instanceof ServiceError) || !e.path.startsWith('upsert[0]')) throw e;
    const field = e.path.slice('upsert[0]'.length).replace(/^\./, '');
    const backend = /^backends\[(\d+)\]/.exec(field);
    const i = backend ? Number(backend[1]) : 0;
    // --backend ones come first in the spec, then --local-backend ones.
    const option = i < remoteCount ? `--backend ${i + 1}` : `--local-backend ${i - remoteCount + 1}`;
    const named = backend ? `${option} (${backendTexts[i]})` : field.startsWith('frontend') ? 'service' : field === 'externalTrafficPolicy' ? '--external-traffic-policy' : field.startsWith('sessionAffinity') ? '--session-affinity' : field || 'service';
    throw new ServiceError(e.code, `${named}: ${e.message.slice(e.path.length + 2)}`, { cause: e });
  }
}

/** `--node-ports 30000-32767` or `off`. */
function parseNodePorts(text: string): readonly [number, number] | false {
  if (text === 'off') return false;
  const m = /^(\d{1,5})-(\d{1,5})$/.exec(text);
  const [first, last] = m ? [Number(m[1]), Number(m[2])] : [NaN, NaN];
  if (!(first >= 1 && last <= 65535 && first <= last)) throw usage(`--node-ports must be FIRST-LAST (1 ≤ FIRST ≤ LAST ≤ 65535) or off, got ${JSON.stringify(text)}`);
  return [first, last];
}

/** `--session-affinity 10800`: whole seconds in Kubernetes' bounds. */
function parseAffinityTimeout(text: string): number {
  const n = /^[0-9]{1,6}$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= MAX_AFFINITY_TIMEOUT_SECONDS)) throw usage(`--session-affinity must be whole seconds in 1..${MAX_AFFINITY_TIMEOUT_SECONDS}, got ${JSON.stringify(text)}`);
  return n;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Registers `tsbpf lb` and its subcommands. */
export function registerLb(program: Command): void {
  const lb = program.command('lb').description('socket-level load balancer for services: deploy it, edit its services, run the demo');

  lb.command('up')
    .description('compile the socket load balancer for this kernel, load it (reusing pinned service tables) and attach it to a cgroup')
    .option('--cgroup <path>', 'cgroup v2 directory to attach to (default: the cgroup2 root)')
    .option('--pin <dir>', 'pin directory on bpffs', DEFAULT_LB_PIN_DIR)
    .option('--target <t>', "kernel profile to compile for (default 'host')")
    .option('--node-ports <first-last|off>', 'node port range translated for connects to the node itself (default 30000-32767)')
    .option('--host-netns-only', "translate only sockets of the host's network namespace (pods are left to a service mesh)")
    .option('--no-ipv6', 'IPv4 programs only')
    .option('--json', 'print JSON')
    .action((o: { cgroup?: string; pin: string; target?: string; nodePorts?: string; hostNetnsOnly?: boolean; ipv6: boolean; json?: boolean }) => {
      const socketLb = {
        ...(o.nodePorts !== undefined ? { nodePortRange: parseNodePorts(o.nodePorts) } : {}),
        ...(o.hostNetnsOnly ? { hostNamespaceOnly: true } : {}),
        ...(o.ipv6 ? {} : { ipv6: false }),
      };
      const r = lbUp({ pinDir: o.pin, socketLb, ...(o.cgroup ? { cgroup: o.cgroup } : {}), ...(o.target ? { target: o.target } : {}) });
      out(o.json ? JSON.stringify(r) : formatUp(r));
    });

  lb.command('down')
    .description('detach the load balancer; the service tables stay pinned (so lb up picks them up again) unless --purge')
    .option('--pin <dir>', 'pin directory on bpffs', DEFAULT_LB_PIN_DIR)
    .option('--purge', 'also remove the pinned maps (the service table is lost)')
    .option('--json', 'print JSON')
    .action((o: { pin: string; purge?: boolean; json?: boolean }) => {
      const r = lbDown({ pinDir: o.pin, purge: Boolean(o.purge) });
      if (o.json) return out(JSON.stringify(r));
      const what = r.detached.length ? `detached ${r.detached.join(', ')}` : 'the load balancer was not attached';
      out(`${what}; ${o.purge ? `removed ${r.removedMaps.length} pinned maps from ${r.pinDir}` : `service tables kept under ${r.pinDir} (lb down --purge removes them)`}`);
    });

  lb.command('status')
    .description('which hooks the load balancer pinned under --pin is attached at')
    .option('--pin <dir>', 'pin directory on bpffs', DEFAULT_LB_PIN_DIR)
    .option('--json', 'print JSON')
    .action((o: { pin: string; json?: boolean }) => {
      const s = lbStatus(o.pin);
      if (o.json) return out(JSON.stringify(s.map((l) => ({ ...l, cgroupId: l.cgroupId?.toString() }))));
      out(s.length ? s.map((l) => `${l.hook.padEnd(13)} prog id ${l.progId}, link id ${l.linkId}, cgroup id ${l.cgroupId}`).join('\n') : `not up (no links under ${o.pin})`);
    });

  const service = lb.command('service').description('add, delete and list services in the pinned tables');

  service
    .command('add')
    .description('create or replace a service: VIP:PORT/PROTO (IPv6 as [fd00::1]:80/tcp) and its backends')
    .argument('<frontend>', 'VIP:PORT/PROTO, e.g. 10.96.0.10:80/tcp, [fd00::10]:53/udp, 0.0.0.0:30080/tcp with --nodeport')
    .option('--backend <ip:port>', 'a backend (repeat for more; none: connects are refused)', collect)
    .option('--local-backend <ip:port>', 'a backend on this node (flagged local; the ones an externalTrafficPolicy=Local frontend uses)', collect)
    .option('--nodeport', 'a NodePort frontend (address 0.0.0.0 or [::]): reached at the node\'s own addresses')
    .option('--external-traffic-policy <policy>', 'Cluster (default) or Local: traffic from outside the node only to --local-backend ones, not SNATed (NodePort frontends)')
    .option('--session-affinity <seconds>', `ClientIP session affinity: a client keeps its backend while it comes back within this many seconds (1..${MAX_AFFINITY_TIMEOUT_SECONDS})`)
    .option('--pin <dir>', 'pin directory on bpffs', DEFAULT_LB_PIN_DIR)
    .action((frontendText: string, o: { backend?: string[]; localBackend?: string[]; nodeport?: boolean; externalTrafficPolicy?: string; sessionAffinity?: string; pin: string }) => {
      const remote = o.backend ?? [];
      const local = o.localBackend ?? [];
      const backendTexts = [...remote, ...local];
      // Everything is parsed and checked before the tables are opened: a typo writes nothing.
      const frontend = parseFrontend(frontendText, 'service');
      const backends = [
        ...remote.map((b, k) => parseEndpoint(b, `--backend ${k + 1}`)).map((e) => ({ address: e.address, port: e.port })),
        ...local.map((b, k) => parseEndpoint(b, `--local-backend ${k + 1}`)).map((e) => ({ address: e.address, port: e.port, local: true })),
      ];
      const policy: ExternalTrafficPolicy | undefined = o.externalTrafficPolicy === undefined ? undefined : o.externalTrafficPolicy.toLowerCase() === 'local' ? 'Local' : o.externalTrafficPolicy.toLowerCase() === 'cluster' ? 'Cluster' : undefined;
      if (o.externalTrafficPolicy !== undefined && policy === undefined) throw usage(`--external-traffic-policy must be Cluster or Local, got ${JSON.stringify(o.externalTrafficPolicy)}`);
      const timeout = o.sessionAffinity === undefined ? undefined : parseAffinityTimeout(o.sessionAffinity);
      using mgr = openManager(o.pin);
      const spec = {
        frontend,
        backends,
        ...(o.nodeport ? { nodePort: true } : {}),
        ...(policy ? { externalTrafficPolicy: policy } : {}),
        ...(timeout !== undefined ? { sessionAffinity: { timeoutSeconds: timeout } } : {}),
      } as const;
      const r = inArgumentTerms(() => mgr.upsertService(spec), backendTexts, remote.length);
      out(`${r.change} ${formatService(r.service)}`);
    });

  service
    .command('del')
    .description('delete a service')
    .argument('<frontend>', 'VIP:PORT/PROTO')
    .option('--pin <dir>', 'pin directory on bpffs', DEFAULT_LB_PIN_DIR)
    .action((frontendText: string, o: { pin: string }) => {
      const frontend = parseFrontend(frontendText, 'service');
      using mgr = openManager(o.pin);
      if (!mgr.deleteService(frontend)) throw new TsbpfError('CLI_LB_NO_SERVICE', `no service ${formatFrontend(frontend)} in the tables under ${o.pin}`);
      out(`deleted ${formatFrontend(frontend)}`);
    });

  service
    .command('list')
    .description('list the services in the pinned tables')
    .option('--pin <dir>', 'pin directory on bpffs', DEFAULT_LB_PIN_DIR)
    .option('--json', 'print JSON')
    .action((o: { pin: string; json?: boolean }) => {
      using mgr = openManager(o.pin);
      const list = mgr.list();
      if (o.json) return out(JSON.stringify(list));
      out(list.length ? list.map(formatService).join('\n') : 'no services');
    });

  lb.command('sync')
    .description('make the tables hold exactly the services of `kubectl get services,endpointslices -A -o json` output: only what differs is written, services not in it are removed')
    .argument('<file>', 'the JSON file (- for standard input)')
    .option('--pin <dir>', 'pin directory on bpffs', DEFAULT_LB_PIN_DIR)
    .option('--node-name <name>', "this node's name: endpoints whose nodeName it is are local (externalTrafficPolicy=Local uses only them)")
    .option('--zone <zone>', "this node's zone: EndpointSlice zone hints pick the endpoints (topology-aware routing)")
    .option('--json', 'print JSON')
    .action(async (file: string, o: { pin: string; nodeName?: string; zone?: string; json?: boolean }) => {
      const text = file === '-' ? await readAll(cliIo().stdin) : readJsonFile(file);
      let doc: unknown;
      try {
        doc = JSON.parse(text);
      } catch (e) {
        throw usage(`${file === '-' ? 'standard input' : file} is not JSON: ${(e as Error).message}`);
      }
      using mgr = openManager(o.pin);
      // Translated and checked in full first: a bad list changes nothing.
      // Only the families the tables were made for (`lb up --no-ipv6` has no IPv6 ones); the rest is reported as skipped.
      const wanted = servicesFromKubernetes(doc, { families: mgr.families, ...(o.nodeName ? { nodeName: o.nodeName } : {}), ...(o.zone ? { zone: o.zone } : {}) });
      const r = mgr.sync(wanted.services);
      if (o.json) return out(JSON.stringify({ ...r, skipped: wanted.skipped }));
      const from = (f: string) => (wanted.origins.has(f) ? ` (${wanted.origins.get(f)})` : '');
      const lines = [
        ...r.added.map((f) => `added ${f}${from(f)}`),
        ...r.updated.map((f) => `updated ${f}${from(f)}`),
        ...r.removed.map((f) => `removed ${f}`),
        ...wanted.skipped.map((s) => `skipped ${s.service}: ${s.reason}`),
      ];
      out(`${lines.length ? `${lines.join('\n')}\n` : ''}${r.added.length || r.updated.length || r.removed.length ? '' : 'no changes; '}${r.unchanged} unchanged, ${r.writes} map writes`);
    });

  lb.command('demo')
    .description('npm start: namespaces for a client and two backend pods, the socket LB on a demo cgroup, real requests to a service, then everything torn down')
    .option('--connections <n>', 'connections to make to the service', '200')
    .action(async (o: { connections: string }) => {
      const n = Number(o.connections);
      if (!Number.isInteger(n) || n < 1 || n > 10_000) throw usage(`--connections must be 1..10000, got ${JSON.stringify(o.connections)}`);
      const { runLbDemo } = await import('../../programs/demo/lb-demo.js');
      await runLbDemo({ connections: n, write: out });
    });
}

function readJsonFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw usage(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
  return text;
}
