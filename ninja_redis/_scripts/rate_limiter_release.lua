-- Take back the hit of a RateLimiter::attempt() whose callback raised (Laravel counts a
-- hit only after the callback returns; ninja_redis counts first, atomically with the
-- check). KEYS[1] the counter, KEYS[2] the timer; ARGV[1] the amount to take back,
-- ARGV[2] "1" if that hit created the counter (and so opened the window).
-- DECRBY only while the counter exists (it keeps its TTL). If the hit had opened the
-- window and the counter is back at 0, counter and timer are deleted, as if the hit had
-- never happened. Returns the counter after the undo (0 when deleted or missing).
if redis.call('exists', KEYS[1]) < 1 then
    return 0
end
local left = redis.call('decrby', KEYS[1], ARGV[1])
if left == 0 and ARGV[2] == '1' then
    redis.call('del', KEYS[1], KEYS[2])
end
return left
