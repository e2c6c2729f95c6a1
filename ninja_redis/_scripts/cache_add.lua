-- Cache::add() of RedisStore (all versions): KEYS[1] item key, ARGV[1] encoded value,
-- ARGV[2] TTL seconds; sets the key with SETEX only if it does not exist.
-- Returns status OK when stored, false (nil) when the key already existed.
return redis.call('exists',KEYS[1])<1 and redis.call('setex',KEYS[1],ARGV[2],ARGV[1])
