-- Tagged Cache::add() of Laravel 10+ in one round trip: KEYS[1] item key, KEYS[2..n] the
-- tag zsets (tag:NAME:entries); ARGV[1] encoded value, ARGV[2] TTL seconds, ARGV[3] zset
-- score (expiry timestamp), ARGV[4] zset member (sha1:key, packed like phpredis would).
-- Like RedisTaggedCache::add, the index entries are written first, whether or not the
-- add succeeds. Returns status OK when stored, false (nil) when the key already existed.
for i = 2, #KEYS do
    redis.call('zadd', KEYS[i], ARGV[3], ARGV[4])
end
return redis.call('exists',KEYS[1])<1 and redis.call('setex',KEYS[1],ARGV[2],ARGV[1])
