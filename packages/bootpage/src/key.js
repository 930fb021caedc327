"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.parseBootpageKey = parseBootpageKey;
exports.checkSigner = checkSigner;
var interface_1 = require("@egtp/interface");
var identity_1 = require("@egtp/identity");
var HEX_KEY = /^[0-9a-fA-F]{64}$/;
/**
 * Parse the configured signer: a node ID (32 base32 characters), an Ed25519 public key as 64 hex digits, or
 * the 32 key bytes.
 * @throws {EgtpError} ERR_BAD_NODE_ID for text that is neither form
 */
function parseBootpageKey(key) {
    if (key instanceof Uint8Array) {
        if (key.byteLength !== identity_1.PUBLIC_KEY_BYTES)
            throw new RangeError("bootpage key: a public key is ".concat(identity_1.PUBLIC_KEY_BYTES, " bytes, got ").concat(key.byteLength));
        var publicKey = key.slice();
        return { kind: 'public-key', nodeId: (0, identity_1.nodeIdFromPublicKey)(publicKey), publicKey: publicKey };
    }
    if (typeof key !== 'string')
        throw new TypeError('bootpage key: expected a node ID, a hex public key or 32 bytes');
    if (HEX_KEY.test(key)) {
        var publicKey = Uint8Array.from(Buffer.from(key, 'hex'));
        return { kind: 'public-key', nodeId: (0, identity_1.nodeIdFromPublicKey)(publicKey), publicKey: publicKey };
    }
    if (key.length !== identity_1.NODE_ID_TEXT_LENGTH) {
        throw new interface_1.EgtpError('ERR_BAD_NODE_ID', "a bootpage key is a node ID (".concat(identity_1.NODE_ID_TEXT_LENGTH, " base32 characters) or a public key (64 hex digits), got ").concat(key.length, " characters"));
    }
    return { kind: 'node-id', nodeId: (0, identity_1.parseNodeId)(key) };
}
/**
 * Check that `publicKey` (the one a page names) is the configured signer's.
 * @throws {EgtpError} ERR_KEY_MISMATCH
 */
function checkSigner(signer, publicKey) {
    if (signer.kind === 'node-id') {
        (0, identity_1.checkPeerKey)(signer.nodeId, publicKey);
        return;
    }
    // Public keys are not secret: a plain comparison is fine.
    if (!Buffer.from(signer.publicKey).equals(Buffer.from(publicKey))) {
        throw new interface_1.EgtpError('ERR_KEY_MISMATCH', "the page is signed by ".concat((0, identity_1.nodeIdFromPublicKey)(publicKey), ", not by the configured key ").concat(signer.nodeId));
    }
}
