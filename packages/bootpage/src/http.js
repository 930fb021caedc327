"use strict";
var __awaiter = (this && this.__awaiter) || function (thisArg, _arguments, P, generator) {
    function adopt(value) { return value instanceof P ? value : new P(function (resolve) { resolve(value); }); }
    return new (P || (P = Promise))(function (resolve, reject) {
        function fulfilled(value) { try { step(generator.next(value)); } catch (e) { reject(e); } }
        function rejected(value) { try { step(generator["throw"](value)); } catch (e) { reject(e); } }
        function step(result) { result.done ? resolve(result.value) : adopt(result.value).then(fulfilled, rejected); }
        step((generator = generator.apply(thisArg, _arguments || [])).next());
    });
};
var __generator = (this && this.__generator) || function (thisArg, body) {
    var _ = { label: 0, sent: function() { if (t[0] & 1) throw t[1]; return t[1]; }, trys: [], ops: [] }, f, y, t, g = Object.create((typeof Iterator === "function" ? Iterator : Object).prototype);
    return g.next = verb(0), g["throw"] = verb(1), g["return"] = verb(2), typeof Symbol === "function" && (g[Symbol.iterator] = function() { return this; }), g;
    function verb(n) { return function (v) { return step([n, v]); }; }
    function step(op) {
        if (f) throw new TypeError("Generator is already executing.");
        while (g && (g = 0, op[0] && (_ = 0)), _) try {
            if (f = 1, y && (t = op[0] & 2 ? y["return"] : op[0] ? y["throw"] || ((t = y["return"]) && t.call(y), 0) : y.next) && !(t = t.call(y, op[1])).done) return t;
            if (y = 0, t) op = [op[0] & 2, t.value];
            switch (op[0]) {
                case 0: case 1: t = op; break;
                case 4: _.label++; return { value: op[1], done: false };
                case 5: _.label++; y = op[1]; op = [0]; continue;
                case 7: op = _.ops.pop(); _.trys.pop(); continue;
                default:
                    if (!(t = _.trys, t = t.length > 0 && t[t.length - 1]) && (op[0] === 6 || op[0] === 2)) { _ = 0; continue; }
                    if (op[0] === 3 && (!t || (op[1] > t[0] && op[1] < t[3]))) { _.label = op[1]; break; }
                    if (op[0] === 6 && _.label < t[1]) { _.label = t[1]; t = op; break; }
                    if (t && _.label < t[2]) { _.label = t[2]; _.ops.push(op); break; }
                    if (t[2]) _.ops.pop();
                    _.trys.pop(); continue;
            }
            op = body.call(thisArg, _);
        } catch (e) { op = [6, e]; y = 0; } finally { f = t = 0; }
        if (op[0] & 5) throw op[1]; return { value: op[0] ? op[1] : void 0, done: true };
    }
};
Object.defineProperty(exports, "__esModule", { value: true });
exports.parsePageUrl = parsePageUrl;
exports.fetchPageBytes = fetchPageBytes;
var interface_1 = require("@egtp/interface");
var REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** Parse a bootpage URL; only http: and https: are accepted. */
function parsePageUrl(url) {
    var u;
    try {
        u = new URL(url);
    }
    catch (err) {
        throw new TypeError("bootpage URL ".concat(JSON.stringify(String(url).slice(0, 80)), " is not a URL"), { cause: err });
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:')
        throw new TypeError("bootpage URL ".concat(u.href, " must be http: or https:"));
    return u;
}
/**
 * Fetch one page's bytes: redirects followed by hand (counted, http(s) only, never https → http), a non-2xx
 * status refused, the body counted while it streams and cut off past `maxBytes`, and the whole exchange bound
 * by `fetchTimeoutMs`. Aborting `signal` rejects with its reason, untouched.
 * @throws {EgtpError} ERR_BOOTPAGE_HTTP, ERR_BOOTPAGE_REDIRECT, ERR_BOOTPAGE_TOO_LARGE, ERR_TIMEOUT, ERR_UNREACHABLE
 */
function fetchPageBytes(url, options) {
    return __awaiter(this, void 0, void 0, function () {
        var timeout, signal, current, redirects, res, err_1;
        var _a, _b, _c;
        return __generator(this, function (_d) {
            switch (_d.label) {
                case 0:
                    options.signal.throwIfAborted();
                    timeout = AbortSignal.timeout(options.fetchTimeoutMs);
                    signal = AbortSignal.any([options.signal, timeout]);
                    current = url;
                    _d.label = 1;
                case 1:
                    _d.trys.push([1, 11, , 12]);
                    redirects = 0;
                    _d.label = 2;
                case 2: return [4 /*yield*/, options.fetch(current, { redirect: 'manual', signal: signal, headers: { accept: 'application/json' } })];
                case 3:
                    res = _d.sent();
                    if (!REDIRECT_STATUSES.has(res.status)) return [3 /*break*/, 5];
                    return [4 /*yield*/, ((_a = res.body) === null || _a === void 0 ? void 0 : _a.cancel().catch(function () { }))];
                case 4:
                    _d.sent();
                    current = nextLocation(current, res.headers.get('location'), redirects, options.maxRedirects);
                    (_b = options.onRedirect) === null || _b === void 0 ? void 0 : _b.call(options, url.href, current.href);
                    return [3 /*break*/, 9];
                case 5:
                    if (!(res.status < 200 || res.status > 299)) return [3 /*break*/, 7];
                    return [4 /*yield*/, ((_c = res.body) === null || _c === void 0 ? void 0 : _c.cancel().catch(function () { }))];
                case 6:
                    _d.sent();
                    throw new interface_1.EgtpError('ERR_BOOTPAGE_HTTP', "".concat(current.href, " answered HTTP ").concat(res.status));
                case 7: return [4 /*yield*/, readBounded(res, current, options.maxBytes, signal)];
                case 8: return [2 /*return*/, _d.sent()];
                case 9:
                    redirects++;
                    return [3 /*break*/, 2];
                case 10: return [3 /*break*/, 12];
                case 11:
                    err_1 = _d.sent();
                    if (options.signal.aborted)
                        throw options.signal.reason;
                    if (timeout.aborted)
                        throw new interface_1.EgtpError('ERR_TIMEOUT', "".concat(url.href, " did not deliver a page within ").concat(options.fetchTimeoutMs, " ms"), { cause: err_1 });
                    if ((0, interface_1.isEgtpError)(err_1))
                        throw err_1;
                    throw new interface_1.EgtpError('ERR_UNREACHABLE', "".concat(current.href, ": ").concat(err_1.message), { cause: err_1 });
                case 12: return [2 /*return*/];
            }
        });
    });
}
function nextLocation(from, location, redirects, maxRedirects) {
    if (redirects >= maxRedirects)
        throw new interface_1.EgtpError('ERR_BOOTPAGE_REDIRECT', "more than ".concat(maxRedirects, " redirects (last at ").concat(from.href, ")"));
    if (location === null)
        throw new interface_1.EgtpError('ERR_BOOTPAGE_REDIRECT', "".concat(from.href, " redirects without a Location"));
    var to;
    try {
        to = new URL(location, from);
    }
    catch (err) {
        throw new interface_1.EgtpError('ERR_BOOTPAGE_REDIRECT', "".concat(from.href, " redirects to an invalid URL"), { cause: err });
    }
    if (to.protocol !== 'http:' && to.protocol !== 'https:') {
        throw new interface_1.EgtpError('ERR_BOOTPAGE_REDIRECT', "".concat(from.href, " redirects to a ").concat(to.protocol, " URL (only http: and https: are followed)"));
    }
    if (from.protocol === 'https:' && to.protocol === 'http:') {
        throw new interface_1.EgtpError('ERR_BOOTPAGE_REDIRECT', "".concat(from.href, " redirects from https down to http (refused)"));
    }
    return to;
}
// Counts bytes as they arrive: at most maxBytes plus one chunk is ever held, whatever the server sends.
function readBounded(res, url, maxBytes, signal) {
    return __awaiter(this, void 0, void 0, function () {
        var declared, reader, onAbort, chunks, total, _a, done, value, out, at, _i, chunks_1, c;
        var _b;
        return __generator(this, function (_c) {
            switch (_c.label) {
                case 0:
                    declared = res.headers.get('content-length');
                    if (!(declared !== null && Number(declared) > maxBytes)) return [3 /*break*/, 2];
                    return [4 /*yield*/, ((_b = res.body) === null || _b === void 0 ? void 0 : _b.cancel().catch(function () { }))];
                case 1:
                    _c.sent();
                    throw new interface_1.EgtpError('ERR_BOOTPAGE_TOO_LARGE', "".concat(url.href, " declares ").concat(declared, " bytes, more than ").concat(maxBytes));
                case 2:
                    if (res.body === null)
                        return [2 /*return*/, new Uint8Array(0)];
                    reader = res.body.getReader();
                    onAbort = function () { void reader.cancel(signal.reason).catch(function () { }); };
                    signal.addEventListener('abort', onAbort, { once: true });
                    chunks = [];
                    total = 0;
                    _c.label = 3;
                case 3:
                    _c.trys.push([3, , 10, 11]);
                    _c.label = 4;
                case 4:
                    signal.throwIfAborted();
                    return [4 /*yield*/, reader.read()];
                case 5:
                    _a = _c.sent(), done = _a.done, value = _a.value;
                    if (done)
                        return [3 /*break*/, 9];
                    total += value.byteLength;
                    if (!(total > maxBytes)) return [3 /*break*/, 7];
                    return [4 /*yield*/, reader.cancel().catch(function () { })];
                case 6:
                    _c.sent();
                    throw new interface_1.EgtpError('ERR_BOOTPAGE_TOO_LARGE', "".concat(url.href, " sent more than ").concat(maxBytes, " bytes"));
                case 7:
                    chunks.push(value);
                    _c.label = 8;
                case 8: return [3 /*break*/, 4];
                case 9: return [3 /*break*/, 11];
                case 10:
                    signal.removeEventListener('abort', onAbort);
                    return [7 /*endfinally*/];
                case 11:
                    signal.throwIfAborted();
                    out = new Uint8Array(total);
                    at = 0;
                    for (_i = 0, chunks_1 = chunks; _i < chunks_1.length; _i++) {
                        c = chunks_1[_i];
                        out.set(c, at);
                        at += c.byteLength;
                    }
                    return [2 /*return*/, out];
            }
        });
    });
}
