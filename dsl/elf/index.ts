/**
 * libbpf-compatible BPF ELF objects: `writeObject(spec)` and `readObject(bytes)`
 * over the in-memory `ObjectSpec` (dsl/object), built on the generic ELF64
 * container in `./file`.
 */
export { writeObject, buildObjectElf, layoutObject, dataSectionKind, type ObjectLayout, type PlacedFunction } from './object-writer.js';
export { readObject, readObjectWithElf, type ReadObjectOptions } from './object-reader.js';
export { encodeMapStruct, decodeMapStruct, type MapStruct, type DecodedMapStruct, type TypeResolver } from './maps-btf.js';
export { importBtfType } from './object-btf.js';
export { objectFromInstructions, type CodeObjectOptions } from './code-object.js';
