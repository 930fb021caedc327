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
exports.writeCache = writeCache;
exports.readCache = readCache;
var interface_1 = require("@egtp/interface");
var constants_ts_1 = require("./constants.ts");
var FORMAT = 'egtp-bootpage-cache';
var encoder = new TextEncoder();
var decoder = new TextDecoder('utf-8', { fatal: true });
function writeCache(store, url, savedAt, page) {
    return __awaiter(this, void 0, void 0, function () {
        var doc;
        return __generator(this, function (_a) {
            switch (_a.label) {
                case 0:
                    doc = { format: FORMAT, version: constants_ts_1.BOOTPAGE_CACHE_VERSION, savedAt: savedAt, url: url, page: decoder.decode(page) };
                    return [4 /*yield*/, store.put(constants_ts_1.BOOTPAGE_CACHE_KEY, encoder.encode(JSON.stringify(doc)))];
                case 1:
                    _a.sent();
                    return [2 /*return*/];
            }
        });
    });
}
/**
 * The cached page, or `undefined` when there is none.
 * @throws {EgtpError} ERR_BOOTPAGE_MALFORMED for a damaged or oversized cache entry
 */
function readCache(store, maxPageBytes) {
    return __awaiter(this, void 0, void 0, function () {
        var bytes, doc, d;
        return __generator(this, function (_a) {
            switch (_a.label) {
                case 0: return [4 /*yield*/, store.get(constants_ts_1.BOOTPAGE_CACHE_KEY)];
                case 1:
                    bytes = _a.sent();
                    if (bytes === undefined)
                        return [2 /*return*/, undefined];
                    try {
                        doc = JSON.parse(decoder.decode(bytes));
                    }
                    catch (err) {
                        throw new interface_1.EgtpError('ERR_BOOTPAGE_MALFORMED', 'the cached bootpage is not JSON', { cause: err });
                    }
                    d = doc;
                    if (doc === null || typeof doc !== 'object' || d.format !== FORMAT || d.version !== constants_ts_1.BOOTPAGE_CACHE_VERSION ||
                        typeof d.savedAt !== 'number' || !Number.isSafeInteger(d.savedAt) || typeof d.url !== 'string' || typeof d.page !== 'string') {
                        throw new interface_1.EgtpError('ERR_BOOTPAGE_MALFORMED', 'the cached bootpage entry is damaged');
                    }
                    if (encoder.encode(d.page).byteLength > maxPageBytes)
                        throw new interface_1.EgtpError('ERR_BOOTPAGE_TOO_LARGE', "the cached bootpage exceeds ".concat(maxPageBytes, " bytes"));
                    return [2 /*return*/, { savedAt: d.savedAt, url: d.url, page: d.page }];
            }
        });
    });
}
