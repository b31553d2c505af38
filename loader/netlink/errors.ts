/** Typed errors of the netlink layer. */
import { TsbpfError } from '../../dsl/errors.js';
import { errnoName } from '../sys/errno.js';

/**
 * The kernel answered a netlink request with an error (an `NLMSG_ERROR` with a
 * negative code), or a socket call failed. Carries the errno number and name, what
 * the request was meant to do, and the kernel's extended-ack text when it gave one.
 */
export class NetlinkError extends TsbpfError {
  /** Positive errno value, e.g. 17. */
  readonly errno: number;
  /** Errno name, e.g. `EEXIST`. */
  readonly errnoName: string;
  /** What was asked, e.g. `RTM_NEWTFILTER (add bpf filter on ifindex 4 ingress)`. */
  readonly request: string;
  /** The kernel's extended-ack message, if any (e.g. "Exclusivity flag on, cannot modify"). */
  readonly kernelMessage: string | undefined;

  constructor(request: string, errno: number, kernelMessage?: string) {
    const name = errnoName(errno);
    const hint = hintFor(name);
    super(
      `NETLINK_${name}`,
      `${request} failed: ${name}` +
        (kernelMessage ? ` — kernel says: ${kernelMessage}` : '') +
        (hint ? ` (${hint})` : ''),
    );
    this.errno = errno;
    this.errnoName = name;
    this.request = request;
    this.kernelMessage = kernelMessage;
  }
}

function hintFor(name: string): string | undefined {
  switch (name) {
    case 'EPERM':
    case 'EACCES':
      return 'needs root or CAP_NET_ADMIN in the network namespace';
    case 'ENODEV':
      return 'no such interface in this network namespace';
    case 'EEXIST':
      return 'something is already attached there; use replace or detach it first';
    case 'EBUSY':
      return 'the hook is held by another attachment (e.g. a BPF link); detach that first';
    default:
      return undefined;
  }
}

/** Misuse of the netlink API that is caught before talking to the kernel, or a malformed reply. */
export class NetlinkUsageError extends TsbpfError {
  constructor(message: string) {
    super('NETLINK_USAGE', message);
  }
}
