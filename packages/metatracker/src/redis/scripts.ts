// Lua scripts of the Redis store. Each runs atomically on the server: the sequence-number compare and the
// write are one step, whichever tracker process sends them. Keys: `r:<id>` the record bytes, `m:<id>`
// "seq|svc1,svc2" (both expire at the record's hold time, by Redis itself), `all` and `s:<service>` sorted
// sets of node IDs scored by expiry (for counting and random sampling; cleaned of expired IDs as they go).

/** KEYS: r, m, all. ARGV: seq, bytes, expiresAt, now, maxRecords, services (comma-separated), nodeId, prefix. */
export const PUT_SCRIPT = `
local rk, mk, all = KEYS[1], KEYS[2], KEYS[3]
local seq, bytes, exp, now, max = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local svcs, id, prefix = ARGV[6], ARGV[7], ARGV[8]
local meta = redis.call('GET', mk)
if meta then
  local sep = string.find(meta, '|', 1, true)
  local held = tonumber(string.sub(meta, 1, sep - 1))
  if held > seq then return 'stale' end
  local old = string.sub(meta, sep + 1)
  if held == seq then
    if redis.call('GET', rk) ~= bytes then return 'stale' end
    local ttl = redis.call('PTTL', rk)
    if ttl > 0 and now + ttl >= exp then return 'refreshed' end
  end
  for s in string.gmatch(old, '[^,]+') do redis.call('ZREM', prefix .. 's:' .. s, id) end
  if held == seq then
    redis.call('PEXPIREAT', rk, exp)
    redis.call('PEXPIREAT', mk, exp)
    redis.call('ZADD', all, exp, id)
    for s in string.gmatch(svcs, '[^,]+') do redis.call('ZADD', prefix .. 's:' .. s, exp, id) end
    return 'refreshed'
  end
else
  redis.call('ZREMRANGEBYSCORE', all, '-inf', now)
  if redis.call('ZSCORE', all, id) == false and redis.call('ZCARD', all) >= max then return 'full' end
end
redis.call('SET', rk, bytes, 'PXAT', exp)
redis.call('SET', mk, seq .. '|' .. svcs, 'PXAT', exp)
redis.call('ZADD', all, exp, id)
for s in string.gmatch(svcs, '[^,]+') do redis.call('ZADD', prefix .. 's:' .. s, exp, id) end
return 'stored'
`

/** KEYS: r, m, all. ARGV: seq, nodeId, prefix. Returns 1 when a record was removed. */
export const WITHDRAW_SCRIPT = `
local rk, mk, all = KEYS[1], KEYS[2], KEYS[3]
local seq, id, prefix = tonumber(ARGV[1]), ARGV[2], ARGV[3]
local meta = redis.call('GET', mk)
if not meta then return 0 end
local sep = string.find(meta, '|', 1, true)
if tonumber(string.sub(meta, 1, sep - 1)) > seq then return 0 end
for s in string.gmatch(string.sub(meta, sep + 1), '[^,]+') do redis.call('ZREM', prefix .. 's:' .. s, id) end
redis.call('DEL', rk, mk)
redis.call('ZREM', all, id)
return 1
`

/** KEYS: s:<service>. ARGV: n, now, prefix. Up to n live records, distinct, chosen at random. */
export const SAMPLE_SCRIPT = `
local key = KEYS[1]
local n, now, prefix = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
local ids = redis.call('ZRANDMEMBER', key, n)
local out = {}
for _, id in ipairs(ids) do
  local b = redis.call('GET', prefix .. 'r:' .. id)
  if b then out[#out + 1] = b end
end
return out
`
