-- Laravel's RedisQueue release script (Illuminate\Queue\LuaScripts::release(), 8.x-13.x).
-- KEYS[1] the :delayed zset to release onto, KEYS[2] the :reserved zset the job is on;
-- ARGV[1] the exact reserved payload bytes (as the pop script returned them),
-- ARGV[2] the Unix time at which the job becomes available again. Returns 1 (true).
-- Remove the job from the current queue...
redis.call('zrem', KEYS[2], ARGV[1])

-- Add the job onto the "delayed" queue...
redis.call('zadd', KEYS[1], ARGV[2], ARGV[1])

return true
