"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.BOOTPAGE_CACHE_VERSION = exports.BOOTPAGE_CACHE_KEY = exports.MAX_BOOTPAGE_URLS = exports.DEFAULT_STAGGER_MS = exports.MAX_MIN_RELOAD_INTERVAL_MS = exports.DEFAULT_MIN_RELOAD_INTERVAL_MS = exports.MAX_REDIRECTS_LIMIT = exports.DEFAULT_MAX_REDIRECTS = exports.MAX_BOOTPAGE_BYTES_LIMIT = exports.DEFAULT_MAX_BOOTPAGE_BYTES = exports.MAX_FETCH_TIMEOUT_MS = exports.DEFAULT_FETCH_TIMEOUT_MS = exports.RELAY_SERVICE = exports.TRACKER_SERVICE = exports.BOOTPAGE_FORMAT = exports.BOOTPAGE_CONTEXT = void 0;
/** The context string a bootpage is signed under (see `signCanonical` in @egtp/identity). */
exports.BOOTPAGE_CONTEXT = 'egtp/bootpage/v1';
/** The `format` field of every bootpage JSON document. */
exports.BOOTPAGE_FORMAT = 'egtp-bootpage';
/** The service name of metatracker records and of relay records in a page. */
exports.TRACKER_SERVICE = 'metatracker';
exports.RELAY_SERVICE = 'relay';
/** Whole request per URL (headers, redirects and body): a slow or slowloris mirror is given up after this. */
exports.DEFAULT_FETCH_TIMEOUT_MS = 10000;
exports.MAX_FETCH_TIMEOUT_MS = 120000;
/** Largest page body read (counted while streaming, after any content decoding). A real page is a few KiB. */
exports.DEFAULT_MAX_BOOTPAGE_BYTES = 256 * 1024;
exports.MAX_BOOTPAGE_BYTES_LIMIT = 4 * 1024 * 1024;
/** Redirects followed per URL (http and https targets only; never from https down to http). */
exports.DEFAULT_MAX_REDIRECTS = 3;
exports.MAX_REDIRECTS_LIMIT = 10;
/** Least time between two network loads, so that a node cannot hammer a mirror (v1: 90 s, as in 2004). */
exports.DEFAULT_MIN_RELOAD_INTERVAL_MS = 90000;
exports.MAX_MIN_RELOAD_INTERVAL_MS = 24 * 3600000;
/** After this long without an answer from one URL, the next URL is tried in parallel with it. */
exports.DEFAULT_STAGGER_MS = 2000;
/** Most URLs one loader accepts. */
exports.MAX_BOOTPAGE_URLS = 16;
/** The key under which the last good page is cached in the loader's store. */
exports.BOOTPAGE_CACHE_KEY = 'bootpage';
/** The cache file's format version. */
exports.BOOTPAGE_CACHE_VERSION = 1;
