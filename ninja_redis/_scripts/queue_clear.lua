-- Laravel's LuaScripts::clear().
-- KEYS[1] the ready list, KEYS[2] the delayed zset, KEYS[3] the reserved zset,
-- KEYS[4] the notify list; deletes all four and returns how many jobs they held.
local size = redis.call('llen', KEYS[1]) + redis.call('zcard', KEYS[2]) + redis.call('zcard', KEYS[3])
redis.call('del', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
return size
