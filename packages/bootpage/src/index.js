"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.BootpageLoader = exports.createBootpageLoader = exports.parseBootpageKey = exports.bootpageSignatureHolds = exports.verifyBootpage = exports.parseBootpage = exports.createBootpage = exports.MAX_BOOTPAGE_RECORDS = exports.BOOTPAGE_FORMAT_VERSION = exports.BOOTPAGE_CACHE_VERSION = exports.BOOTPAGE_CACHE_KEY = exports.MAX_BOOTPAGE_URLS = exports.DEFAULT_STAGGER_MS = exports.MAX_MIN_RELOAD_INTERVAL_MS = exports.DEFAULT_MIN_RELOAD_INTERVAL_MS = exports.MAX_REDIRECTS_LIMIT = exports.DEFAULT_MAX_REDIRECTS = exports.MAX_BOOTPAGE_BYTES_LIMIT = exports.DEFAULT_MAX_BOOTPAGE_BYTES = exports.MAX_FETCH_TIMEOUT_MS = exports.DEFAULT_FETCH_TIMEOUT_MS = exports.RELAY_SERVICE = exports.TRACKER_SERVICE = exports.BOOTPAGE_FORMAT = exports.BOOTPAGE_CONTEXT = void 0;
/**
 * @packageDocumentation
 * The EGTP bootpage: a JSON page, signed by a known key, listing metatracker (and relay) contact records. A new
 * node fetches it over HTTP(S) with the platform's `fetch`, verifies it and every record in it, and hands the
 * trackers to its metatracker client. Also signs pages (`createBootpage`) for the `egtp-bootpage` tool.
 */
var constants_ts_1 = require("./constants.ts");
Object.defineProperty(exports, "BOOTPAGE_CONTEXT", { enumerable: true, get: function () { return constants_ts_1.BOOTPAGE_CONTEXT; } });
Object.defineProperty(exports, "BOOTPAGE_FORMAT", { enumerable: true, get: function () { return constants_ts_1.BOOTPAGE_FORMAT; } });
Object.defineProperty(exports, "TRACKER_SERVICE", { enumerable: true, get: function () { return constants_ts_1.TRACKER_SERVICE; } });
Object.defineProperty(exports, "RELAY_SERVICE", { enumerable: true, get: function () { return constants_ts_1.RELAY_SERVICE; } });
Object.defineProperty(exports, "DEFAULT_FETCH_TIMEOUT_MS", { enumerable: true, get: function () { return constants_ts_1.DEFAULT_FETCH_TIMEOUT_MS; } });
Object.defineProperty(exports, "MAX_FETCH_TIMEOUT_MS", { enumerable: true, get: function () { return constants_ts_1.MAX_FETCH_TIMEOUT_MS; } });
Object.defineProperty(exports, "DEFAULT_MAX_BOOTPAGE_BYTES", { enumerable: true, get: function () { return constants_ts_1.DEFAULT_MAX_BOOTPAGE_BYTES; } });
Object.defineProperty(exports, "MAX_BOOTPAGE_BYTES_LIMIT", { enumerable: true, get: function () { return constants_ts_1.MAX_BOOTPAGE_BYTES_LIMIT; } });
Object.defineProperty(exports, "DEFAULT_MAX_REDIRECTS", { enumerable: true, get: function () { return constants_ts_1.DEFAULT_MAX_REDIRECTS; } });
Object.defineProperty(exports, "MAX_REDIRECTS_LIMIT", { enumerable: true, get: function () { return constants_ts_1.MAX_REDIRECTS_LIMIT; } });
Object.defineProperty(exports, "DEFAULT_MIN_RELOAD_INTERVAL_MS", { enumerable: true, get: function () { return constants_ts_1.DEFAULT_MIN_RELOAD_INTERVAL_MS; } });
Object.defineProperty(exports, "MAX_MIN_RELOAD_INTERVAL_MS", { enumerable: true, get: function () { return constants_ts_1.MAX_MIN_RELOAD_INTERVAL_MS; } });
Object.defineProperty(exports, "DEFAULT_STAGGER_MS", { enumerable: true, get: function () { return constants_ts_1.DEFAULT_STAGGER_MS; } });
Object.defineProperty(exports, "MAX_BOOTPAGE_URLS", { enumerable: true, get: function () { return constants_ts_1.MAX_BOOTPAGE_URLS; } });
Object.defineProperty(exports, "BOOTPAGE_CACHE_KEY", { enumerable: true, get: function () { return constants_ts_1.BOOTPAGE_CACHE_KEY; } });
Object.defineProperty(exports, "BOOTPAGE_CACHE_VERSION", { enumerable: true, get: function () { return constants_ts_1.BOOTPAGE_CACHE_VERSION; } });
var codec_1 = require("@egtp/codec");
Object.defineProperty(exports, "BOOTPAGE_FORMAT_VERSION", { enumerable: true, get: function () { return codec_1.BOOTPAGE_FORMAT_VERSION; } });
Object.defineProperty(exports, "MAX_BOOTPAGE_RECORDS", { enumerable: true, get: function () { return codec_1.MAX_BOOTPAGE_RECORDS; } });
var format_ts_1 = require("./format.ts");
Object.defineProperty(exports, "createBootpage", { enumerable: true, get: function () { return format_ts_1.createBootpage; } });
Object.defineProperty(exports, "parseBootpage", { enumerable: true, get: function () { return format_ts_1.parseBootpage; } });
Object.defineProperty(exports, "verifyBootpage", { enumerable: true, get: function () { return format_ts_1.verifyBootpage; } });
Object.defineProperty(exports, "bootpageSignatureHolds", { enumerable: true, get: function () { return format_ts_1.bootpageSignatureHolds; } });
var key_ts_1 = require("./key.ts");
Object.defineProperty(exports, "parseBootpageKey", { enumerable: true, get: function () { return key_ts_1.parseBootpageKey; } });
var loader_ts_1 = require("./loader.ts");
Object.defineProperty(exports, "createBootpageLoader", { enumerable: true, get: function () { return loader_ts_1.createBootpageLoader; } });
Object.defineProperty(exports, "BootpageLoader", { enumerable: true, get: function () { return loader_ts_1.BootpageLoader; } });
