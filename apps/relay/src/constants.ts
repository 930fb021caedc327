/** How long the relay's record published to the trackers is valid (ms); it is re-signed at half this. */
export const DEFAULT_RELAY_RECORD_TTL_MS = 3_600_000
