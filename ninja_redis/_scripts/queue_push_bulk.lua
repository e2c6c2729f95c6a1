-- Bulk push (ninja_redis): Laravel's push script applied to many payloads at once,
-- with the same effect as one push per payload, in one round trip.
-- KEYS[1] the ready list, KEYS[2] its notify list, KEYS[3] the delayed zset;
-- ARGV = groups of two: availableAt (or "" for a ready job), payload.
-- Ready payloads are RPUSHed in order (and one "1" each to notify); delayed ones are
-- ZADDed to the delayed zset with their availableAt score. Returns the ready count.
local ready = {}
for i = 1, #ARGV, 2 do
    if ARGV[i] == '' then
        ready[#ready + 1] = ARGV[i + 1]
    else
        redis.call('zadd', KEYS[3], ARGV[i], ARGV[i + 1])
    end
end
local ones = {}
for i = 1, math.min(100, #ready) do
    ones[i] = 1
end
for i = 1, #ready, 100 do
    local last = math.min(i + 99, #ready)
    redis.call('rpush', KEYS[1], unpack(ready, i, last))
    redis.call('rpush', KEYS[2], unpack(ones, 1, last - i + 1))
end
return #ready
