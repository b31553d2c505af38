/** tsbpf loader: bpf() through FFI — maps, programs, verifier logs, pinning. */
export * from './errors.js';
export * from './maps/index.js';
export * from './programs/index.js';
export * from './object/index.js';
export { LoadedBtf, type BtfLoadOptions } from './sys/btf.js';
export * as sys from './sys/index.js';
export { Fd, FdScope, type Closeable } from './sys/fd.js';
export { MapType, ProgType, AttachType, MapFlag, ProgFlag, AttachFlag, UpdateFlag, type MapTypeName, type ProgTypeName, type AttachTypeName } from './sys/constants.js';
export { possibleCpus } from './sys/cpus.js';
export type { MapInfo, ProgInfo, BtfInfo } from './sys/info.js';
export * as links from './links/index.js';
export * as netlink from './netlink/index.js';
