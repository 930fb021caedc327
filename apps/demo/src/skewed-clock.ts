// Preloaded with `node --import` into a child process to run its wall clock ahead or behind (the demo's clock
// skew scenarios): Date.now() and `new Date()` move by EGTP_CLOCK_OFFSET_MS; the monotonic clock is untouched.
const offset = Number(process.env.EGTP_CLOCK_OFFSET_MS ?? '0')
if (!Number.isFinite(offset)) throw new RangeError('EGTP_CLOCK_OFFSET_MS must be a number of milliseconds')
const realNow = Date.now.bind(Date)
Date.now = () => realNow() + offset
