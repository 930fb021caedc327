// Preloaded with `node --import` into a soak node to run its wall clock ahead or behind: Date.now() moves by
// EGTP_CLOCK_OFFSET_MS; the monotonic clock is untouched (same idea as the demo's, kept here: tests never
// import from apps).
const offset = Number(process.env.EGTP_CLOCK_OFFSET_MS ?? '0')
if (!Number.isFinite(offset)) throw new RangeError('EGTP_CLOCK_OFFSET_MS must be a number of milliseconds')
const realNow = Date.now.bind(Date)
Date.now = () => realNow() + offset
