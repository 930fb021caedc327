"use strict";
var __extends = (this && this.__extends) || (function () {
    var extendStatics = function (d, b) {
        extendStatics = Object.setPrototypeOf ||
            ({ __proto__: [] } instanceof Array && function (d, b) { d.__proto__ = b; }) ||
            function (d, b) { for (var p in b) if (Object.prototype.hasOwnProperty.call(b, p)) d[p] = b[p]; };
        return extendStatics(d, b);
    };
    return function (d, b) {
        if (typeof b !== "function" && b !== null)
            throw new TypeError("Class extends value " + String(b) + " is not a constructor or null");
        extendStatics(d, b);
        function __() { this.constructor = d; }
        d.prototype = b === null ? Object.create(b) : (__.prototype = b.prototype, new __());
    };
})();
var __assign = (this && this.__assign) || function () {
    __assign = Object.assign || function(t) {
        for (var s, i = 1, n = arguments.length; i < n; i++) {
            s = arguments[i];
            for (var p in s) if (Object.prototype.hasOwnProperty.call(s, p))
                t[p] = s[p];
        }
        return t;
    };
    return __assign.apply(this, arguments);
};
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
var __classPrivateFieldSet = (this && this.__classPrivateFieldSet) || function (receiver, state, value, kind, f) {
    if (kind === "m") throw new TypeError("Private method is not writable");
    if (kind === "a" && !f) throw new TypeError("Private accessor was defined without a setter");
    if (typeof state === "function" ? receiver !== state || !f : !state.has(receiver)) throw new TypeError("Cannot write private member to an object whose class did not declare it");
    return (kind === "a" ? f.call(receiver, value) : f ? f.value = value : state.set(receiver, value)), value;
};
var __classPrivateFieldGet = (this && this.__classPrivateFieldGet) || function (receiver, state, kind, f) {
    if (kind === "a" && !f) throw new TypeError("Private accessor was defined without a getter");
    if (typeof state === "function" ? receiver !== state || !f : !state.has(receiver)) throw new TypeError("Cannot read private member from an object whose class did not declare it");
    return kind === "m" ? f : kind === "a" ? f.call(receiver) : f ? f.value : state.get(receiver);
};
var _BootpageLoader_instances, _BootpageLoader_store, _BootpageLoader_fetch, _BootpageLoader_clock, _BootpageLoader_log, _BootpageLoader_shutdown, _BootpageLoader_inFlight, _BootpageLoader_lastAttemptAt, _BootpageLoader_last, _BootpageLoader_withSignal, _BootpageLoader_load, _BootpageLoader_done, _BootpageLoader_fetchAny, _BootpageLoader_tryUrl;
Object.defineProperty(exports, "__esModule", { value: true });
exports.BootpageLoader = void 0;
exports.createBootpageLoader = createBootpageLoader;
var interface_1 = require("@egtp/interface");
var identity_1 = require("@egtp/identity");
var cache_ts_1 = require("./cache.ts");
var constants_ts_1 = require("./constants.ts");
var format_ts_1 = require("./format.ts");
var http_ts_1 = require("./http.ts");
var key_ts_1 = require("./key.ts");
function bounded(name, value, fallback, min, max) {
    var v = value !== null && value !== void 0 ? value : fallback;
    if (!Number.isSafeInteger(v) || v < min || v > max)
        throw new RangeError("createBootpageLoader: ".concat(name, " must be an integer ").concat(min, "..").concat(max));
    return v;
}
/**
 * Loads the signed bootpage. `load()` tries the URLs (in order, each next one in parallel after `staggerMs` or
 * as soon as the previous fails), verifies the first page that arrives, and falls back to the cached page when
 * none does. At most one network load per `minReloadIntervalMs`; concurrent calls share one load.
 */
var BootpageLoader = /** @class */ (function (_super) {
    __extends(BootpageLoader, _super);
    function BootpageLoader(init) {
        var _a, _b, _c;
        var _this = _super.call(this) || this;
        _BootpageLoader_instances.add(_this);
        _BootpageLoader_store.set(_this, void 0);
        _BootpageLoader_fetch.set(_this, void 0);
        _BootpageLoader_clock.set(_this, void 0);
        _BootpageLoader_log.set(_this, void 0);
        _BootpageLoader_shutdown.set(_this, new AbortController());
        _BootpageLoader_inFlight.set(_this, void 0);
        _BootpageLoader_lastAttemptAt.set(_this, void 0);
        _BootpageLoader_last.set(_this, void 0);
        if (!Array.isArray(init.urls) || init.urls.length === 0 || init.urls.length > constants_ts_1.MAX_BOOTPAGE_URLS) {
            throw new RangeError("createBootpageLoader: urls must list 1..".concat(constants_ts_1.MAX_BOOTPAGE_URLS, " URLs"));
        }
        _this.urls = init.urls.map(http_ts_1.parsePageUrl);
        _this.signer = (0, key_ts_1.parseBootpageKey)(init.key);
        _this.fetchTimeoutMs = bounded('fetchTimeoutMs', init.fetchTimeoutMs, constants_ts_1.DEFAULT_FETCH_TIMEOUT_MS, 1, constants_ts_1.MAX_FETCH_TIMEOUT_MS);
        _this.maxBytes = bounded('maxBytes', init.maxBytes, constants_ts_1.DEFAULT_MAX_BOOTPAGE_BYTES, 1, constants_ts_1.MAX_BOOTPAGE_BYTES_LIMIT);
        _this.maxRedirects = bounded('maxRedirects', init.maxRedirects, constants_ts_1.DEFAULT_MAX_REDIRECTS, 0, constants_ts_1.MAX_REDIRECTS_LIMIT);
        _this.minReloadIntervalMs = bounded('minReloadIntervalMs', init.minReloadIntervalMs, constants_ts_1.DEFAULT_MIN_RELOAD_INTERVAL_MS, 0, constants_ts_1.MAX_MIN_RELOAD_INTERVAL_MS);
        _this.staggerMs = bounded('staggerMs', init.staggerMs, constants_ts_1.DEFAULT_STAGGER_MS, 0, constants_ts_1.MAX_FETCH_TIMEOUT_MS);
        // The cache holds a page plus a small header; the store refuses anything larger.
        __classPrivateFieldSet(_this, _BootpageLoader_store, init.stateDir !== undefined ? new identity_1.FileStore(init.stateDir, { maxValueBytes: _this.maxBytes * 2 + 4096 }) : init.store, "f");
        __classPrivateFieldSet(_this, _BootpageLoader_fetch, (_a = init.fetch) !== null && _a !== void 0 ? _a : (function (input, fetchInit) { return fetch(input, fetchInit); }), "f");
        __classPrivateFieldSet(_this, _BootpageLoader_clock, (_b = init.clock) !== null && _b !== void 0 ? _b : interface_1.systemClock, "f");
        __classPrivateFieldSet(_this, _BootpageLoader_log, ((_c = init.logger) !== null && _c !== void 0 ? _c : interface_1.disabledComponentLogger).forComponent('bootpage'), "f");
        if (init.signal !== undefined) {
            if (init.signal.aborted)
                _this.close();
            else
                init.signal.addEventListener('abort', function () { _this.close(); }, { once: true });
        }
        return _this;
    }
    Object.defineProperty(BootpageLoader.prototype, "last", {
        /** The last page `load()` returned, if any. */
        get: function () {
            return __classPrivateFieldGet(this, _BootpageLoader_last, "f");
        },
        enumerable: false,
        configurable: true
    });
    /** Milliseconds until `load()` may go to the network again (0: now). */
    BootpageLoader.prototype.msUntilReload = function () {
        if (__classPrivateFieldGet(this, _BootpageLoader_lastAttemptAt, "f") === undefined)
            return 0;
        return Math.max(0, __classPrivateFieldGet(this, _BootpageLoader_lastAttemptAt, "f") + this.minReloadIntervalMs - __classPrivateFieldGet(this, _BootpageLoader_clock, "f").monotonic());
    };
    /**
     * Fetch and verify the page (or use the cache when no URL gives a valid one).
     * @throws {EgtpError} ERR_RATE_LIMITED within `minReloadIntervalMs` of the previous load (see
     *   {@link msUntilReload}; {@link last} still holds the previous page); ERR_BOOTPAGE when no URL and no
     *   cache gave a valid page (`cause` is an `AggregateError` of each source's error); ERR_CLOSED
     */
    BootpageLoader.prototype.load = function () {
        return __awaiter(this, arguments, void 0, function (options) {
            var wait, run;
            var _this = this;
            var _a;
            if (options === void 0) { options = {}; }
            return __generator(this, function (_b) {
                switch (_b.label) {
                    case 0:
                        (_a = options.signal) === null || _a === void 0 ? void 0 : _a.throwIfAborted();
                        if (__classPrivateFieldGet(this, _BootpageLoader_shutdown, "f").signal.aborted)
                            throw new interface_1.EgtpError('ERR_CLOSED', 'the bootpage loader is closed');
                        if (!(__classPrivateFieldGet(this, _BootpageLoader_inFlight, "f") !== undefined)) return [3 /*break*/, 2];
                        return [4 /*yield*/, __classPrivateFieldGet(this, _BootpageLoader_instances, "m", _BootpageLoader_withSignal).call(this, __classPrivateFieldGet(this, _BootpageLoader_inFlight, "f"), options.signal)];
                    case 1: return [2 /*return*/, _b.sent()];
                    case 2:
                        wait = this.msUntilReload();
                        if (wait > 0)
                            throw new interface_1.EgtpError('ERR_RATE_LIMITED', "the bootpage was loaded less than ".concat(this.minReloadIntervalMs, " ms ago; next load in ").concat(Math.ceil(wait), " ms"));
                        __classPrivateFieldSet(this, _BootpageLoader_lastAttemptAt, __classPrivateFieldGet(this, _BootpageLoader_clock, "f").monotonic(), "f");
                        run = __classPrivateFieldGet(this, _BootpageLoader_instances, "m", _BootpageLoader_load).call(this).finally(function () { __classPrivateFieldSet(_this, _BootpageLoader_inFlight, undefined, "f"); });
                        __classPrivateFieldSet(this, _BootpageLoader_inFlight, run, "f");
                        return [4 /*yield*/, __classPrivateFieldGet(this, _BootpageLoader_instances, "m", _BootpageLoader_withSignal).call(this, run, options.signal)];
                    case 3: return [2 /*return*/, _b.sent()];
                }
            });
        });
    };
    /** Stop any load in flight; later `load()` calls reject with ERR_CLOSED. Idempotent. */
    BootpageLoader.prototype.close = function () {
        __classPrivateFieldGet(this, _BootpageLoader_shutdown, "f").abort(new interface_1.EgtpError('ERR_CLOSED', 'the bootpage loader was closed'));
    };
    return BootpageLoader;
}(interface_1.TypedEventTarget));
exports.BootpageLoader = BootpageLoader;
_BootpageLoader_store = new WeakMap(), _BootpageLoader_fetch = new WeakMap(), _BootpageLoader_clock = new WeakMap(), _BootpageLoader_log = new WeakMap(), _BootpageLoader_shutdown = new WeakMap(), _BootpageLoader_inFlight = new WeakMap(), _BootpageLoader_lastAttemptAt = new WeakMap(), _BootpageLoader_last = new WeakMap(), _BootpageLoader_instances = new WeakSet(), _BootpageLoader_withSignal = function _BootpageLoader_withSignal(promise, signal) {
    return __awaiter(this, void 0, void 0, function () {
        var onAbort, aborted;
        return __generator(this, function (_a) {
            switch (_a.label) {
                case 0:
                    if (!(signal === undefined)) return [3 /*break*/, 2];
                    return [4 /*yield*/, promise];
                case 1: return [2 /*return*/, _a.sent()];
                case 2:
                    aborted = new Promise(function (_resolve, reject) {
                        onAbort = function () { reject(signal.reason); };
                        signal.addEventListener('abort', onAbort, { once: true });
                    });
                    _a.label = 3;
                case 3:
                    _a.trys.push([3, , 5, 6]);
                    return [4 /*yield*/, Promise.race([promise, aborted])];
                case 4: return [2 /*return*/, _a.sent()];
                case 5:
                    signal.removeEventListener('abort', onAbort);
                    return [7 /*endfinally*/];
                case 6: return [2 /*return*/];
            }
        });
    });
}, _BootpageLoader_load = function _BootpageLoader_load() {
    return __awaiter(this, void 0, void 0, function () {
        var errors, result, err_1, cached, now, page, err_2;
        var _this = this;
        return __generator(this, function (_a) {
            switch (_a.label) {
                case 0:
                    errors = [];
                    _a.label = 1;
                case 1:
                    _a.trys.push([1, 3, , 4]);
                    return [4 /*yield*/, __classPrivateFieldGet(this, _BootpageLoader_instances, "m", _BootpageLoader_fetchAny).call(this, errors)];
                case 2:
                    result = _a.sent();
                    return [3 /*break*/, 4];
                case 3:
                    err_1 = _a.sent();
                    if (__classPrivateFieldGet(this, _BootpageLoader_shutdown, "f").signal.aborted)
                        throw __classPrivateFieldGet(this, _BootpageLoader_shutdown, "f").signal.reason;
                    throw err_1;
                case 4:
                    if (!(result !== undefined)) return [3 /*break*/, 7];
                    if (!(__classPrivateFieldGet(this, _BootpageLoader_store, "f") !== undefined)) return [3 /*break*/, 6];
                    return [4 /*yield*/, (0, cache_ts_1.writeCache)(__classPrivateFieldGet(this, _BootpageLoader_store, "f"), result.url, result.fetchedAt, result.raw).catch(function (err) {
                            __classPrivateFieldGet(_this, _BootpageLoader_log, "f").error('could not cache the bootpage: %e', err);
                        })];
                case 5:
                    _a.sent();
                    _a.label = 6;
                case 6: return [2 /*return*/, __classPrivateFieldGet(this, _BootpageLoader_instances, "m", _BootpageLoader_done).call(this, result.page)];
                case 7:
                    if (!(__classPrivateFieldGet(this, _BootpageLoader_store, "f") !== undefined)) return [3 /*break*/, 11];
                    _a.label = 8;
                case 8:
                    _a.trys.push([8, 10, , 11]);
                    return [4 /*yield*/, (0, cache_ts_1.readCache)(__classPrivateFieldGet(this, _BootpageLoader_store, "f"), this.maxBytes)];
                case 9:
                    cached = _a.sent();
                    if (cached !== undefined) {
                        now = __classPrivateFieldGet(this, _BootpageLoader_clock, "f").now();
                        page = (0, format_ts_1.verifyBootpage)(cached.page, { key: this.signer, now: now });
                        __classPrivateFieldGet(this, _BootpageLoader_log, "f").call(this, 'no URL answered; using the cached page from %s', cached.url);
                        return [2 /*return*/, __classPrivateFieldGet(this, _BootpageLoader_instances, "m", _BootpageLoader_done).call(this, __assign(__assign({}, page), { source: 'cache', url: cached.url, fetchedAt: cached.savedAt, ageMs: Math.max(0, now - cached.savedAt) }))];
                    }
                    return [3 /*break*/, 11];
                case 10:
                    err_2 = _a.sent();
                    if (!(0, interface_1.isEgtpError)(err_2))
                        throw err_2;
                    this.safeDispatch('bootpage:refused', { url: 'cache', error: err_2 });
                    errors.push(err_2);
                    return [3 /*break*/, 11];
                case 11: throw new interface_1.EgtpError('ERR_BOOTPAGE', "no bootpage URL".concat(__classPrivateFieldGet(this, _BootpageLoader_store, "f") !== undefined ? ' nor the cache' : '', " gave a valid page: ").concat(errors.map(function (e) { return e.message; }).join('; ')), {
                    cause: new AggregateError(errors, 'bootpage sources')
                });
            }
        });
    });
}, _BootpageLoader_done = function _BootpageLoader_done(result) {
    __classPrivateFieldSet(this, _BootpageLoader_last, result, "f");
    __classPrivateFieldGet(this, _BootpageLoader_log, "f").call(this, 'bootpage of %s from %s: %d trackers, %d relays, %d records refused', result.signer, result.source, result.trackers.length, result.relays.length, result.refused.length);
    this.safeDispatch('bootpage:loaded', { result: result });
    return result;
}, _BootpageLoader_fetchAny = function _BootpageLoader_fetchAny(errors) {
    return __awaiter(this, void 0, void 0, function () {
        var race, signal;
        var _this = this;
        return __generator(this, function (_a) {
            switch (_a.label) {
                case 0:
                    race = new AbortController();
                    signal = AbortSignal.any([__classPrivateFieldGet(this, _BootpageLoader_shutdown, "f").signal, race.signal]);
                    _a.label = 1;
                case 1:
                    _a.trys.push([1, , 3, 4]);
                    return [4 /*yield*/, new Promise(function (resolve, reject) {
                            var next = 0;
                            var running = 0;
                            var settled = false;
                            var timer;
                            var finish = function (fn) {
                                if (settled)
                                    return;
                                settled = true;
                                clearTimeout(timer);
                                fn();
                            };
                            var startNext = function () {
                                clearTimeout(timer);
                                if (settled)
                                    return;
                                if (next >= _this.urls.length) {
                                    if (running === 0)
                                        finish(function () { resolve(undefined); });
                                    return;
                                }
                                var url = _this.urls[next++];
                                running++;
                                __classPrivateFieldGet(_this, _BootpageLoader_instances, "m", _BootpageLoader_tryUrl).call(_this, url, signal).then(function (ok) { finish(function () { resolve(ok); }); }, function (err) {
                                    running--;
                                    if (__classPrivateFieldGet(_this, _BootpageLoader_shutdown, "f").signal.aborted) {
                                        finish(function () { reject(__classPrivateFieldGet(_this, _BootpageLoader_shutdown, "f").signal.reason); });
                                        return;
                                    }
                                    if (settled)
                                        return;
                                    if (!(0, interface_1.isEgtpError)(err)) {
                                        finish(function () { reject(err); });
                                        return;
                                    }
                                    errors.push(err);
                                    __classPrivateFieldGet(_this, _BootpageLoader_log, "f").call(_this, 'bootpage from %s refused: %s', url.href, err.message);
                                    _this.safeDispatch('bootpage:refused', { url: url.href, error: err });
                                    startNext();
                                });
                                if (next < _this.urls.length)
                                    timer = setTimeout(startNext, _this.staggerMs);
                            };
                            startNext();
                        })];
                case 2: return [2 /*return*/, _a.sent()];
                case 3:
                    race.abort();
                    return [7 /*endfinally*/];
                case 4: return [2 /*return*/];
            }
        });
    });
}, _BootpageLoader_tryUrl = function _BootpageLoader_tryUrl(url, signal) {
    return __awaiter(this, void 0, void 0, function () {
        var raw, now, verified, _i, _a, record;
        var _this = this;
        return __generator(this, function (_b) {
            switch (_b.label) {
                case 0:
                    this.safeDispatch('bootpage:attempt', { url: url.href });
                    return [4 /*yield*/, (0, http_ts_1.fetchPageBytes)(url, {
                            signal: signal,
                            fetchTimeoutMs: this.fetchTimeoutMs,
                            maxBytes: this.maxBytes,
                            maxRedirects: this.maxRedirects,
                            fetch: __classPrivateFieldGet(this, _BootpageLoader_fetch, "f"),
                            onRedirect: function (from, to) { _this.safeDispatch('bootpage:redirect', { url: from, to: to }); }
                        })];
                case 1:
                    raw = _b.sent();
                    now = __classPrivateFieldGet(this, _BootpageLoader_clock, "f").now();
                    verified = (0, format_ts_1.verifyBootpage)(raw, { key: this.signer, now: now });
                    for (_i = 0, _a = verified.refused; _i < _a.length; _i++) {
                        record = _a[_i];
                        this.safeDispatch('bootpage:record-refused', { url: url.href, record: record });
                    }
                    return [2 /*return*/, { page: __assign(__assign({}, verified), { source: url.href, url: url.href, fetchedAt: now, ageMs: 0 }), url: url.href, fetchedAt: now, raw: raw }];
            }
        });
    });
};
/**
 * Create a bootpage loader.
 * @example
 * ```ts
 * const loader = createBootpageLoader({ urls: ['https://example.org/egtp/bootpage.json'], key: 'sqr…' })
 * const { trackers, relays } = await loader.load()
 * ```
 */
function createBootpageLoader(init) {
    return new BootpageLoader(init);
}
