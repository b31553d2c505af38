/**
 * What the attach functions accept as "the program": a raw fd, an owned `Fd`, or
 * any loaded-program object exposing one as `fd` — so links work with whatever
 * program class the loader hands out without depending on it.
 */
import { Fd } from '../sys/fd.js';
import { getFdById } from '../sys/bpf.js';
import { progInfo } from '../sys/info.js';
import { AttachError } from './errors.js';

/** A loaded program: its fd as a number or `Fd`, or an object holding one. */
export type ProgramRef = number | Fd | { readonly fd: number | Fd };

/** The raw fd number of a program reference (throws if it is closed or invalid). */
export function progFdOf(prog: ProgramRef): number {
  const v = typeof prog === 'object' && !(prog instanceof Fd) ? prog.fd : prog;
  const fd = v instanceof Fd ? v.value : v;
  if (!Number.isInteger(fd) || fd < 0) throw new AttachError('ATTACH_BAD_PROGRAM', `not a program file descriptor: ${String(fd)}`);
  return fd;
}

/** The kernel id of a program fd (stable while the program exists; fds are per-process). */
export function progIdOf(prog: ProgramRef): number {
  return progInfo(progFdOf(prog)).id;
}

/** A fresh owned fd for a program id, e.g. to detach a legacy attachment later. */
export function openProgById(id: number): Fd {
  return new Fd(getFdById('prog', id), `program id ${id}`);
}
