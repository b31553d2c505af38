/** The object loader: a whole BPF object (spec or ELF) into the kernel as one `LoadedObject`. */
export { loadObject, DEFAULT_PIN_ROOT, type LoadObjectOptions } from './load.js';
export { LoadedObject, type LoadedMapReport, type LoadedProgramReport, type MapOrigin } from './collection.js';
export { PinnedMapMismatchError, ObjectLoadError, describeDifference, type PinnedMapDifference } from './errors.js';
export { globalMapName, objectNameFromPath, pinFileName } from './names.js';
