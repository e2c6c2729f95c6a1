-- RateLimiter::increment()/hit() (all versions) in one atomic step, optionally preceded
-- by tooManyAttempts() (RateLimiter::attempt()). KEYS[1] the counter tooManyAttempts()
-- reads and resets (8.68-9.13: the key cleaned twice), KEYS[2] the timer (KEY:timer),
-- KEYS[3] the counter increment() writes. ARGV[1] max attempts, or "" for no check;
-- ARGV[2] the stored form of a cached null (Cache::has() is false for it); ARGV[3] the
-- encoded available-at time; ARGV[4] the TTL (getSeconds($decaySeconds)); ARGV[5] the
-- encoded 0 of add(KEY, 0); ARGV[6] the amount for INCRBY; ARGV[7] the hit count that
-- means "the counter vanished between add and INCRBY" (1, or the amount from 12.57);
-- ARGV[8] the encoded value put() then writes. Laravel's sequence, step for step:
-- add(KEY:timer), add(KEY, 0), INCRBY KEY amount, and put(KEY) (a DEL when the TTL is
-- <= 0) if the counter was not added yet INCRBY returned ARGV[7].
-- Returns {-1, 0} when there are too many attempts, {-2, 0} when the counter to check is
-- not a plain integer (the caller decodes it), else {hits, 1 if add(KEY, 0) stored}.
if ARGV[1] ~= '' then
    local raw = redis.call('get', KEYS[1])
    local attempts = 0
    if raw then
        attempts = tonumber(raw)
        if not attempts then
            return {-2, 0}
        end
    end
    if attempts >= tonumber(ARGV[1]) then
        local timer = redis.call('get', KEYS[2])
        if timer and timer ~= ARGV[2] then
            return {-1, 0}
        end
        redis.call('del', KEYS[1])
    end
end
local ttl = tonumber(ARGV[4])
local added = 0
if ttl > 0 then
    if redis.call('exists', KEYS[2]) < 1 then
        redis.call('setex', KEYS[2], ttl, ARGV[3])
    end
    if redis.call('exists', KEYS[3]) < 1 then
        redis.call('setex', KEYS[3], ttl, ARGV[5])
        added = 1
    end
end
local hits = redis.call('incrby', KEYS[3], ARGV[6])
if added == 0 and hits == tonumber(ARGV[7]) then
    if ttl > 0 then
        redis.call('setex', KEYS[3], ttl, ARGV[8])
    else
        redis.call('del', KEYS[3])
    end
end
return {hits, added}
