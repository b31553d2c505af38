/** The syscall layer: raw bpf() commands, enums, attr layouts, fds, info. */
export * from './bpf.js';
export * from './constants.js';
export * from './cpus.js';
export * from './errno.js';
export * from './fd.js';
export * from './info.js';
export { addressOf, bpfSyscall, bpfSyscallNumber, closeFd } from './ffi.js';
export * as attr from './attr.js';

export * from './btf.js';
export * from './fdinfo.js';
