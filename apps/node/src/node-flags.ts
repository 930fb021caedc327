/**
 * Node flags the egtp-node process starts with (in the shebangs of `bin/egtp-node.js` and `dist/main.js`, and
 * in `pnpm start`). V8 counts the external memory allocated since its last full collection (buffers outside the
 * JS heap: every payload delivered to a handler, every sealed frame) against the old generation's limit, and a
 * node's heap is small (~10 MB): under bulk traffic a receiver ran a full collection every ~40–100 ms, and the
 * limit stayed low after each (V8's memory reducer grows it slowly after a full collection). A 128 MB initial
 * heap makes them rare: a receiver of 64 KiB messages spent 0.87–1.08 instead of 1.32–1.48 ms of CPU per MB
 * (issue 16, 3 interleaved pairs). It reserves no memory. The relay's are the same (`RELAY_NODE_FLAGS`).
 */
export const EGTP_NODE_FLAGS: readonly string[] = Object.freeze(['--initial-heap-size=128'])
