/** What every attachment (BPF link, legacy cgroup attach, netlink tc/XDP) has in common. */
import type { ProgramRef } from './program-ref.js';

/** How the program is held at the hook. */
export type AttachMechanism = 'link' | 'legacy' | 'netlink';

/** A JSON-friendly summary of an attachment (what the CLI prints). */
export interface AttachmentSummary {
  readonly mechanism: AttachMechanism;
  readonly hook: string;
  readonly target: string;
  readonly progId: number;
  readonly linkId?: number;
  readonly pinnedPath?: string;
  readonly details?: Readonly<Record<string, string | number | boolean>>;
}

/** Options of `replace`. */
export interface ReplaceOptions {
  /**
   * Only replace if this program is the one attached now; the kernel checks it
   * atomically where it can (BPF_LINK_UPDATE / BPF_F_REPLACE / IFLA_XDP_EXPECTED_FD).
   */
  readonly expected?: ProgramRef;
}

/**
 * A program attached to a hook.
 * - `replace` swaps the program without a moment where none is attached.
 * - `detach` removes it from the hook (and removes a pin this object made).
 * - `close` only releases this process's file descriptors: an unpinned BPF link
 *   then goes away (the kernel ties it to its fds), while legacy and netlink
 *   attachments stay in the kernel until someone detaches them.
 * - `[Symbol.dispose]` (for `using`) leaves nothing behind unless the attachment
 *   is pinned: it detaches legacy/netlink attachments and closes links.
 */
export interface Attachment extends Disposable {
  readonly mechanism: AttachMechanism;
  /** The hook, e.g. `cgroup/connect4`, `tcx/ingress`, `tc/egress`, `xdp`. */
  readonly hook: string;
  /** Human-readable target, e.g. a cgroup path or `veth0 (ifindex 4)`. */
  readonly target: string;
  /** Id of the program attached now. */
  readonly progId: number;
  replace(prog: ProgramRef, options?: ReplaceOptions): void;
  detach(): void;
  close(): void;
  summary(): AttachmentSummary;
}
