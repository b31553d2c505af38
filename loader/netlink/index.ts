/** rtnetlink in TypeScript: sockets, message codec, interfaces, addresses, routes, neighbours, tc (clsact + cls_bpf) and XDP. */
export * from './errors.js';
export * from './attributes.js';
export * from './message.js';
export * from './headers.js';
export { NetlinkSocket, parseError, type NetlinkRequest, type NetlinkSocketOptions } from './socket.js';
export { withNetns, netnsPath } from './netns.js';
export * from './interfaces.js';
export * from './addresses.js';
export * from './routes.js';
export * from './neighbours.js';
export { ipBytes, ipText, macText } from './ip-bytes.js';
export * from './tc.js';
export * from './xdp.js';
