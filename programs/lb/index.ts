/** The socket load balancer's userspace half: service tables, the service manager and the Kubernetes import. */
export * from './schemas.js';
export * from './maps.js';
export * from './errors.js';
export * from './spec.js';
export * from './tables.js';
export * from './manager.js';
export * from './kubernetes.js';
