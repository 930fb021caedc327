"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.createBootpage = createBootpage;
exports.parseBootpage = parseBootpage;
exports.bootpageSignatureHolds = bootpageSignatureHolds;
exports.verifyBootpage = verifyBootpage;
var codec_1 = require("@egtp/codec");
var interface_1 = require("@egtp/interface");
var identity_1 = require("@egtp/identity");
var constants_ts_1 = require("./constants.ts");
var key_ts_1 = require("./key.ts");
var malformed = function (message, cause) {
    return new interface_1.EgtpError('ERR_BOOTPAGE_MALFORMED', message, cause === undefined ? undefined : { cause: cause });
};
function isObject(v) {
    return v !== null && typeof v === 'object' && !Array.isArray(v);
}
function exactKeys(o, keys, path) {
    for (var _i = 0, _a = Object.keys(o); _i < _a.length; _i++) {
        var k = _a[_i];
        if (!keys.includes(k))
            throw malformed("".concat(path, ": unexpected field ").concat(JSON.stringify(k.slice(0, 32))));
    }
    for (var _b = 0, keys_1 = keys; _b < keys_1.length; _b++) {
        var k = keys_1[_b];
        if (!(k in o))
            throw malformed("".concat(path, ": missing field ").concat(k));
    }
}
function hexBytes(v, length, path) {
    if (typeof v !== 'string' || v.length !== length * 2 || !/^[0-9a-f]*$/.test(v))
        throw malformed("".concat(path, ": expected ").concat(length * 2, " lowercase hex digits"));
    return Uint8Array.from(Buffer.from(v, 'hex'));
}
var toHex = function (b) { return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex'); };
// One spelling per instant (what toISOString writes), so a person reads exactly what is signed.
function isoTime(v, path) {
    var ms = typeof v === 'string' ? Date.parse(v) : Number.NaN;
    if (!Number.isSafeInteger(ms) || ms < 0 || new Date(ms).toISOString() !== v) {
        throw malformed("".concat(path, ": expected a UTC time as toISOString() writes it, e.g. \"2026-12-04T22:30:00.000Z\""));
    }
    return ms;
}
var iso = function (ms) { return new Date(ms).toISOString(); };
function recordFromJson(v, path) {
    if (!isObject(v))
        throw malformed("".concat(path, ": expected an object"));
    exactKeys(v, ['nodeId', 'services', 'endpoints', 'seq', 'expiresAt', 'publicKey', 'signature'], path);
    var record = {
        nodeId: v.nodeId,
        publicKey: hexBytes(v.publicKey, identity_1.PUBLIC_KEY_BYTES, "".concat(path, ".publicKey")),
        seq: v.seq,
        expiresAt: isoTime(v.expiresAt, "".concat(path, ".expiresAt")),
        endpoints: v.endpoints,
        services: v.services,
        signature: hexBytes(v.signature, identity_1.SIGNATURE_BYTES, "".concat(path, ".signature"))
    };
    try {
        (0, identity_1.contactRecordToWire)(record); // the codec's bounds: node ID form, endpoints, services, seq
    }
    catch (err) {
        if ((0, interface_1.isEgtpError)(err))
            throw malformed("".concat(path, ": ").concat(err.message), err);
        throw err;
    }
    return record;
}
function recordToJson(r) {
    return {
        nodeId: r.nodeId,
        services: r.services,
        endpoints: r.endpoints,
        seq: r.seq,
        expiresAt: iso(r.expiresAt),
        publicKey: toHex(r.publicKey),
        signature: toHex(r.signature)
    };
}
/** The value the page signature covers; its canonical msgpack bytes are what is signed. */
function signedValue(page) {
    return codec_1.bootpageSignedValue.check({
        v: page.version,
        k: page.publicKey,
        i: page.issuedAt,
        x: page.expiresAt,
        r: page.records.map(identity_1.contactRecordToWire)
    }, 'bootpage');
}
/**
 * Sign a page listing `records` and return its JSON text (what a static HTTP server serves).
 * @throws {EgtpError} ERR_SIGNATURE, ERR_STALE_RECORD, … when a record does not verify
 * @throws {RangeError} for more than {@link MAX_BOOTPAGE_RECORDS} records or bad times
 */
function createBootpage(identity, init) {
    var _a;
    var issuedAt = (_a = init.issuedAt) !== null && _a !== void 0 ? _a : Date.now();
    if (!Number.isSafeInteger(issuedAt) || issuedAt < 0)
        throw new RangeError('createBootpage: issuedAt must be Unix milliseconds');
    if (!Number.isSafeInteger(init.expiresAt) || init.expiresAt <= issuedAt)
        throw new RangeError('createBootpage: expiresAt must be Unix milliseconds after issuedAt');
    if (!Array.isArray(init.records) || init.records.length > codec_1.MAX_BOOTPAGE_RECORDS) {
        throw new RangeError("createBootpage: records must be an array of at most ".concat(codec_1.MAX_BOOTPAGE_RECORDS));
    }
    var records = init.records.map(function (r) { return (0, identity_1.verifyContactRecord)(r, { now: issuedAt }); });
    var page = { version: codec_1.BOOTPAGE_FORMAT_VERSION, publicKey: identity.publicKey, issuedAt: issuedAt, expiresAt: init.expiresAt, records: records };
    var signature = (0, identity_1.signCanonical)(identity, constants_ts_1.BOOTPAGE_CONTEXT, signedValue(page));
    var doc = {
        format: constants_ts_1.BOOTPAGE_FORMAT,
        version: page.version,
        signer: identity.nodeId,
        publicKey: toHex(page.publicKey),
        issuedAt: iso(issuedAt),
        expiresAt: iso(init.expiresAt),
        records: records.map(recordToJson),
        signature: toHex(signature)
    };
    return "".concat(JSON.stringify(doc, null, 2), "\n");
}
var decoder = new TextDecoder('utf-8', { fatal: true });
/**
 * Read a page's JSON (bytes or text) and check every field's form and bounds. Verifies nothing.
 * @throws {EgtpError} ERR_BOOTPAGE_MALFORMED (not JSON, truncated, a field out of form, an unknown field),
 *   ERR_VERSION (a format version this code does not know), ERR_KEY_MISMATCH (signer is not publicKey's ID)
 */
function parseBootpage(input) {
    var doc;
    try {
        doc = JSON.parse(typeof input === 'string' ? input : decoder.decode(input));
    }
    catch (err) {
        throw malformed('the page is not UTF-8 JSON (truncated?)', err);
    }
    if (!isObject(doc) || doc.format !== constants_ts_1.BOOTPAGE_FORMAT)
        throw malformed("the page is not an object with \"format\": \"".concat(constants_ts_1.BOOTPAGE_FORMAT, "\""));
    if (doc.version !== codec_1.BOOTPAGE_FORMAT_VERSION) {
        throw new interface_1.EgtpError('ERR_VERSION', "bootpage format version ".concat(JSON.stringify(doc.version), " is not supported (this code reads ").concat(codec_1.BOOTPAGE_FORMAT_VERSION, ")"));
    }
    exactKeys(doc, ['format', 'version', 'signer', 'publicKey', 'issuedAt', 'expiresAt', 'records', 'signature'], 'page');
    var publicKey = hexBytes(doc.publicKey, identity_1.PUBLIC_KEY_BYTES, 'page.publicKey');
    var signer = (0, identity_1.nodeIdFromPublicKey)(publicKey);
    if (doc.signer !== signer)
        throw new interface_1.EgtpError('ERR_KEY_MISMATCH', "page.signer is not the node ID of page.publicKey (".concat(signer, ")"));
    if (!Array.isArray(doc.records) || doc.records.length > codec_1.MAX_BOOTPAGE_RECORDS)
        throw malformed("page.records: expected an array of at most ".concat(codec_1.MAX_BOOTPAGE_RECORDS, " records"));
    var issuedAt = isoTime(doc.issuedAt, 'page.issuedAt');
    var expiresAt = isoTime(doc.expiresAt, 'page.expiresAt');
    if (expiresAt <= issuedAt)
        throw malformed('page.expiresAt is not after page.issuedAt');
    return {
        version: codec_1.BOOTPAGE_FORMAT_VERSION,
        signer: signer,
        publicKey: publicKey,
        issuedAt: issuedAt,
        expiresAt: expiresAt,
        records: doc.records.map(function (r, i) { return recordFromJson(r, "page.records[".concat(i, "]")); }),
        signature: hexBytes(doc.signature, identity_1.SIGNATURE_BYTES, 'page.signature')
    };
}
/** True when the page's signature holds for the key the page itself names (says nothing about who that is). */
function bootpageSignatureHolds(page) {
    return (0, identity_1.verifyCanonical)(page.publicKey, constants_ts_1.BOOTPAGE_CONTEXT, signedValue(page), page.signature);
}
/**
 * Verify a page: signed by the configured key, signature intact, not expired; then every record on its own
 * (a record that fails is left out and listed in `refused`).
 * @throws {EgtpError} those of {@link parseBootpage}; ERR_KEY_MISMATCH (another signer), ERR_SIGNATURE
 *   (tampered), ERR_BOOTPAGE_EXPIRED, ERR_BOOTPAGE_EMPTY (no valid metatracker record)
 */
function verifyBootpage(input, options) {
    var _a;
    var page = typeof input === 'string' || input instanceof Uint8Array ? parseBootpage(input) : input;
    var key = options.key;
    var signer = typeof key === 'string' || key instanceof Uint8Array ? (0, key_ts_1.parseBootpageKey)(key) : key;
    (0, key_ts_1.checkSigner)(signer, page.publicKey);
    if (!bootpageSignatureHolds(page))
        throw new interface_1.EgtpError('ERR_SIGNATURE', "the bootpage signature of ".concat(page.signer, " does not hold (tampered?)"));
    var now = (_a = options.now) !== null && _a !== void 0 ? _a : Date.now();
    if (now >= page.expiresAt)
        throw new interface_1.EgtpError('ERR_BOOTPAGE_EXPIRED', "the bootpage expired at ".concat(iso(page.expiresAt)));
    var records = [];
    var refused = [];
    page.records.forEach(function (r, index) {
        try {
            records.push((0, identity_1.verifyContactRecord)(r, { now: now }));
        }
        catch (err) {
            if (!(0, interface_1.isEgtpError)(err))
                throw err;
            refused.push({ index: index, nodeId: r.nodeId, error: err });
        }
    });
    var trackers = records.filter(function (r) { return r.services.includes(constants_ts_1.TRACKER_SERVICE); });
    if (trackers.length === 0) {
        throw new interface_1.EgtpError('ERR_BOOTPAGE_EMPTY', "the bootpage lists no valid ".concat(constants_ts_1.TRACKER_SERVICE, " record (").concat(refused.length, " refused)"));
    }
    return {
        version: page.version,
        signer: page.signer,
        publicKey: page.publicKey,
        issuedAt: page.issuedAt,
        expiresAt: page.expiresAt,
        records: records,
        trackers: trackers,
        relays: records.filter(function (r) { return r.services.includes(constants_ts_1.RELAY_SERVICE); }),
        refused: refused
    };
}
