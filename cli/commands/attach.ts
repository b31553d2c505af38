/**
 * `tsbpf attach KIND --prog PINNED_PROG …` and `tsbpf detach …`: attach a pinned
 * program to a cgroup hook, a tc hook (tcx or netlink) or XDP (link or netlink),
 * and remove such attachments again. A BPF link lives only while something holds
 * it, so link attachments made from the command line must be pinned (`--pin`);
 * without a pin, `auto` picks the persistent legacy/netlink mechanism instead.
 */
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { TsbpfError } from '../../dsl/errors.js';
import {
  attachCgroup,
  attachTc,
  attachXdp,
  BpfLink,
  cgroupHook,
  detachCgroupProgram,
  detachTcProgram,
  detachXdpProgram,
  type Attachment,
  type AttachmentSummary,
} from '../../loader/links/index.js';
import type { XdpMode } from '../../loader/netlink/index.js';
import { objGet } from '../../loader/sys/bpf.js';
import { Fd } from '../../loader/sys/fd.js';
import { progInfo } from '../../loader/sys/info.js';
import { cliIo } from '../io.js';

/** What an attach/detach command is aimed at, parsed from KIND. */
export type AttachKind =
  | { readonly family: 'cgroup'; readonly hook: string }
  | { readonly family: 'tc'; readonly direction: 'ingress' | 'egress'; readonly tcx: boolean }
  | { readonly family: 'xdp' };

/** Parses KIND: `xdp`, `tc/ingress`, `tcx/egress`, or a cgroup hook (`connect4`, `cgroup/sendmsg6`, `cgroup_skb/ingress`). */
export function parseAttachKind(kind: string): AttachKind {
  if (kind === 'xdp') return { family: 'xdp' };
  const tc = /^(tcx?)\/(ingress|egress)$/.exec(kind);
  if (tc) return { family: 'tc', direction: tc[2] as 'ingress' | 'egress', tcx: tc[1] === 'tcx' };
  return { family: 'cgroup', hook: cgroupHook(kind).name };
}

/** Options shared by attach and detach. */
interface TargetOptions {
  cgroup?: string;
  dev?: string;
  netns?: string;
  json?: boolean;
}

interface AttachOptions extends TargetOptions {
  prog: string;
  mode?: string;
  xdpMode?: string;
  pin?: string;
  priority?: string;
  handle?: string;
  name?: string;
  replace?: boolean;
}

interface DetachOptions extends TargetOptions {
  link?: string;
  prog?: string;
  progId?: string;
}

function cliError(message: string): TsbpfError {
  return new TsbpfError('CLI_USAGE', message);
}

function intOption(value: string | undefined, what: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw cliError(`${what} must be a non-negative integer, got ${JSON.stringify(value)}`);
  return n;
}

/** Opens a pinned program, checking the pin really is a program. */
function openPinnedProgram(path: string): Fd {
  const fd = new Fd(objGet(path), `program pinned at ${path}`);
  let fdinfo = '';
  try {
    fdinfo = readFileSync(`/proc/self/fdinfo/${fd.value}`, 'utf8');
  } catch {
    // Without fdinfo we let the kernel judge at attach time.
  }
  if (fdinfo && !/^prog_type:/m.test(fdinfo)) {
    fd.close();
    throw cliError(`${path} is pinned but is not a program`);
  }
  return fd;
}

function needTarget(kind: AttachKind, o: TargetOptions): void {
  if (kind.family === 'cgroup') {
    if (!o.cgroup) throw cliError(`${kind.hook} attaches to a cgroup: pass --cgroup PATH`);
    if (o.dev) throw cliError('--dev does not apply to cgroup hooks');
  } else {
    if (!o.dev) throw cliError(`${kind.family === 'xdp' ? 'xdp' : 'tc'} attaches to an interface: pass --dev IFNAME`);
    if (o.cgroup) throw cliError('--cgroup does not apply to interface hooks');
  }
}

/** Performs `tsbpf attach`; returns the attachment summary. */
export function runAttach(kindText: string, o: AttachOptions): AttachmentSummary {
  const kind = parseAttachKind(kindText);
  needTarget(kind, o);
  const mode = o.mode ?? 'auto';
  const wantsLink = mode === 'link' || mode === 'tcx' || (kind.family === 'tc' && kind.tcx);
  if (wantsLink && !o.pin) {
    throw cliError('a BPF link is removed when this command exits unless it is pinned: pass --pin PATH (on a bpffs), or use --mode legacy/netlink');
  }
  if (o.pin && (mode === 'legacy' || mode === 'netlink')) throw cliError(`--pin needs a link; --mode ${mode} attachments persist without one`);
  using prog = openPinnedProgram(o.prog);
  let att: Attachment;
  if (kind.family === 'cgroup') {
    if (!['auto', 'link', 'legacy'].includes(mode)) throw cliError(`--mode for cgroup hooks is link, legacy or auto; got ${mode}`);
    att = attachCgroup(prog, { hook: kind.hook, cgroup: o.cgroup!, mode: mode === 'auto' ? (o.pin ? 'auto' : 'legacy') : (mode as 'link' | 'legacy') });
  } else if (kind.family === 'tc') {
    const tcMode = kind.tcx || mode === 'link' || mode === 'tcx' ? 'tcx' : mode === 'netlink' ? 'netlink' : mode === 'auto' ? (o.pin ? 'auto' : 'netlink') : undefined;
    if (!tcMode) throw cliError(`--mode for tc is link (tcx), netlink or auto; got ${mode}`);
    att = attachTc(prog, {
      iface: o.dev!,
      netns: o.netns,
      direction: kind.direction,
      mode: tcMode,
      priority: intOption(o.priority, '--priority'),
      handle: intOption(o.handle, '--handle'),
      name: o.name,
      replace: o.replace,
    });
  } else {
    if (!['auto', 'link', 'netlink'].includes(mode)) throw cliError(`--mode for xdp is link, netlink or auto; got ${mode}`);
    const xdpMode = (o.xdpMode ?? 'auto') as XdpMode;
    if (!['auto', 'generic', 'driver', 'offload'].includes(xdpMode)) throw cliError(`--xdp-mode is generic, driver, offload or auto; got ${xdpMode}`);
    att = attachXdp(prog, { iface: o.dev!, netns: o.netns, mode: mode === 'auto' ? (o.pin ? 'auto' : 'netlink') : (mode as 'link' | 'netlink'), xdpMode });
  }
  if (o.pin) {
    if (!(att instanceof BpfLink)) throw cliError('internal: expected a link to pin');
    try {
      att.pin(o.pin);
    } catch (e) {
      att.detach();
      throw e;
    }
  }
  const summary = att.summary();
  att.close();
  return summary;
}

/** Performs `tsbpf detach`; returns what was removed. */
export function runDetach(kindText: string | undefined, o: DetachOptions): { removed: number; what: string } {
  if (o.link) {
    if (kindText || o.prog || o.progId) throw cliError('--link detaches exactly that pinned link; do not combine it with KIND or --prog/--prog-id');
    const link = BpfLink.open(o.link);
    const what = link.describe();
    link.detach();
    return { removed: 1, what };
  }
  if (!kindText) throw cliError('pass KIND with its target and --prog/--prog-id, or --link PINNED_LINK');
  const kind = parseAttachKind(kindText);
  needTarget(kind, o);
  let progId = intOption(o.progId, '--prog-id');
  if (progId === undefined) {
    if (!o.prog) throw cliError('name the program to detach with --prog PINNED_PROG or --prog-id ID');
    using prog = openPinnedProgram(o.prog);
    progId = progInfo(prog.value).id;
  }
  let removed: number;
  let what: string;
  if (kind.family === 'cgroup') {
    removed = detachCgroupProgram(o.cgroup!, kind.hook, progId);
    what = `${kind.hook} on ${o.cgroup}`;
  } else if (kind.family === 'tc') {
    removed = detachTcProgram({ iface: o.dev!, netns: o.netns }, kind.direction, progId);
    what = `tc ${kind.direction} on ${o.dev}`;
  } else {
    removed = detachXdpProgram({ iface: o.dev!, netns: o.netns }, progId);
    what = `xdp on ${o.dev}`;
  }
  if (removed === 0) throw new TsbpfError('CLI_NOT_ATTACHED', `program id ${progId} is not attached at ${what}`);
  return { removed, what: `program id ${progId} from ${what}` };
}

function formatSummary(s: AttachmentSummary): string {
  const extra = [
    s.linkId !== undefined ? `link id ${s.linkId}` : undefined,
    s.pinnedPath !== undefined ? `pinned at ${s.pinnedPath}` : undefined,
    ...Object.entries(s.details ?? {}).map(([k, v]) => `${k} ${v}`),
  ].filter(Boolean);
  return `attached program id ${s.progId} to ${s.hook} on ${s.target} via ${s.mechanism}${extra.length ? ` (${extra.join(', ')})` : ''}\n`;
}

const KIND_HELP = 'xdp | tc/ingress | tc/egress | tcx/ingress | tcx/egress | a cgroup hook (connect4, connect6, sendmsg4/6, recvmsg4/6, getpeername4/6, getsockname4/6, bind4/6, cgroup_skb/ingress, cgroup_skb/egress, …)';

/** Registers `tsbpf attach` and `tsbpf detach`. */
export function registerAttach(program: Command): void {
  program
    .command('attach')
    .description('attach a pinned program to a cgroup, tc or XDP hook')
    .argument('<kind>', KIND_HELP)
    .requiredOption('--prog <path>', 'pinned program (bpffs path)')
    .option('--cgroup <path>', 'cgroup v2 directory (cgroup hooks)')
    .option('--dev <ifname>', 'network interface (tc and xdp)')
    .option('--netns <name>', 'network namespace of --dev (`ip netns` name or /proc/PID/ns/net)')
    .option('--mode <mode>', 'link (tcx for tc) | legacy (cgroup PROG_ATTACH) | netlink (tc/xdp) | auto', 'auto')
    .option('--xdp-mode <mode>', 'XDP: generic | driver | offload | auto', 'auto')
    .option('--pin <path>', 'pin the link here (required for link attachments)')
    .option('--priority <n>', 'tc netlink: filter priority (default 1)')
    .option('--handle <n>', 'tc netlink: filter handle (default 1)')
    .option('--name <name>', 'tc netlink: filter name shown by tc (default tsbpf)')
    .option('--replace', 'tc netlink: replace the filter at the same priority/handle')
    .option('--json', 'print JSON')
    .action((kind: string, opts: AttachOptions) => {
      const summary = runAttach(kind, opts);
      cliIo().stdout.write(opts.json ? `${JSON.stringify(summary)}\n` : formatSummary(summary));
    });

  program
    .command('detach')
    .description('detach a program: by pinned link, or by hook + target + program')
    .argument('[kind]', KIND_HELP)
    .option('--link <path>', 'pinned link to detach (its pin is removed)')
    .option('--prog <path>', 'pinned program to detach')
    .option('--prog-id <id>', 'id of the program to detach')
    .option('--cgroup <path>', 'cgroup v2 directory (cgroup hooks)')
    .option('--dev <ifname>', 'network interface (tc and xdp)')
    .option('--netns <name>', 'network namespace of --dev')
    .option('--json', 'print JSON')
    .action((kind: string | undefined, opts: DetachOptions) => {
      const r = runDetach(kind, opts);
      cliIo().stdout.write(opts.json ? `${JSON.stringify(r)}\n` : `detached ${r.what}${r.removed > 1 ? ` (${r.removed} attachments)` : ''}\n`);
    });
}
