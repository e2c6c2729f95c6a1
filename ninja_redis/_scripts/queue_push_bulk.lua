-- Bulk push (ninja_redis): Laravel's push script (and ZADD of its later) applied to
-- many payloads at once, with the same effect as one push per payload. Used on
-- cluster clients; on a standalone server queue.bulk sends MULTI / RPUSH / RPUSH /
-- EXEC instead (same data, several times less Redis time than copying the payloads
-- through Lua).
-- KEYS[1] the ready list, KEYS[2] its notify list, KEYS[3] the delayed zset;
-- ARGV[1] = n, the number of ready payloads; ARGV[2 .. n+1] the ready payloads, in
-- order; then pairs availableAt, payload for delayed jobs.
-- Ready payloads are RPUSHed in order, and one "1" per payload to notify; delayed
-- ones are ZADDed with their availableAt score. Returns n.
-- unpack() is kept to 1,000 values per call (Lua's C stack allows ~8,000).
local n = tonumber(ARGV[1])
for i = 2, n + 1, 1000 do
    redis.call('rpush', KEYS[1], unpack(ARGV, i, math.min(i + 999, n + 1)))
end
if n > 0 then
    local ones = {}
    for i = 1, math.min(n, 1000) do
        ones[i] = 1
    end
    local left = n
    while left > 0 do
        local k = math.min(left, 1000)
        redis.call('rpush', KEYS[2], unpack(ones, 1, k))
        left = left - k
    end
end
for i = n + 2, #ARGV, 2 do
    redis.call('zadd', KEYS[3], ARGV[i], ARGV[i + 1])
end
return n
