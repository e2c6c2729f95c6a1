-- Laravel's LuaScripts::size().
-- KEYS[1] the ready list, KEYS[2] the delayed zset, KEYS[3] the reserved zset;
-- returns LLEN + ZCARD + ZCARD.
return redis.call('llen', KEYS[1]) + redis.call('zcard', KEYS[2]) + redis.call('zcard', KEYS[3])
