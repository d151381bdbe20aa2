// comlink's Node adapter (worker_threads ports to comlink endpoints), imported once for both sides.
// No ext4 counterpart.
import * as adapter from 'comlink/dist/umd/node-adapter.js';
import type { Endpoint } from 'comlink';

type NodeEndpointFn = (nep: unknown) => Endpoint;
// The UMD build sets module.exports to the function; ESM sees it as the default export.
export const nodeEndpoint: NodeEndpointFn = ((adapter as unknown as { default?: NodeEndpointFn }).default ??
  (adapter as unknown as NodeEndpointFn));
