/** The one symbol namespace of an object: programs, subprograms, maps, globals and kfuncs share it. */
import { ObjectError } from '../object/errors.js';

/** Records names and throws `OBJECT_INVALID` on an invalid or repeated one. */
export class SymbolNames {
  readonly #owners = new Map<string, string>();

  /** Claims `name` for `what` (e.g. `'map'`). */
  claim(name: string, what: string): void {
    if (typeof name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_.]*$/.test(name))
      throw new ObjectError('OBJECT_INVALID', `${what} name ${JSON.stringify(name)} is not a valid symbol name`);
    const prev = this.#owners.get(name);
    if (prev) throw new ObjectError('OBJECT_INVALID', `${what} '${name}' has the same name as ${prev}`);
    this.#owners.set(name, `${what} '${name}'`);
  }
}
