/** Attaching programs to hooks: cgroups, tc (tcx or netlink), XDP (link or netlink); links and pins. */
export * from './errors.js';
export type { Attachment, AttachMechanism, AttachmentSummary, ReplaceOptions } from './attachment.js';
export { progFdOf, progIdOf, openProgById, type ProgramRef } from './program-ref.js';
export { CGROUP_HOOKS, cgroupHook, attachTypeOf, progTypeOf, type CgroupHookName, type HookSpec, type HookTarget } from './hooks.js';
export { BpfLink, linkInfo, detachLinksOf, type LinkInfo } from './link.js';
export {
  attachCgroup,
  CgroupLegacyAttachment,
  queryCgroup,
  detachCgroupProgram,
  openCgroup,
  type CgroupAttachMode,
  type CgroupAttachOptions,
} from './cgroup.js';
export { resolveInterface, type InterfaceTarget } from './iface.js';
export {
  attachTc,
  attachTcx,
  attachTcNetlink,
  TcNetlinkAttachment,
  queryTcx,
  listTcFilters,
  detachTcProgram,
  type TcAttachMode,
  type TcAttachOptions,
  type TcNetlinkState,
} from './tc.js';
export {
  attachXdp,
  attachXdpLink,
  attachXdpNetlink,
  XdpNetlinkAttachment,
  queryXdp,
  detachXdpProgram,
  type XdpAttachMode,
  type XdpAttachOptions,
} from './xdp.js';
