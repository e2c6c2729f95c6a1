-- Laravel's LuaScripts::later() (12.45+; 8.x-12.44 sent the same ZADD directly).
-- KEYS[1] the delayed zset (queues:NAME:delayed); ARGV[1] the Unix time at which the
-- job becomes available, ARGV[2] the job payload. Returns the ZADD count.
-- Push the job onto the delayed queue...
return redis.call('zadd', KEYS[1], ARGV[1], ARGV[2])
