-- Lock::release() (RedisLock/PhpRedisLock, all versions): KEYS[1] lock key, ARGV[1] owner
-- (packed like phpredis stores it); deletes the key only if it holds this owner.
-- Returns 1 if released, 0 otherwise.
if redis.call("get",KEYS[1]) == ARGV[1] then
    return redis.call("del",KEYS[1])
else
    return 0
end
