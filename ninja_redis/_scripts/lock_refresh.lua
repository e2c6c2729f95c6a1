-- Lock::refresh() (Laravel 12.63+): KEYS[1] lock key, ARGV[1] owner (packed like phpredis
-- stores it), ARGV[2] seconds; if the key holds this owner: EXPIRE it (seconds > 0) or
-- PERSIST it (seconds <= 0). Returns 1 if the lock is owned (and refreshed), 0 otherwise.
if redis.call("get",KEYS[1]) == ARGV[1] then
    if tonumber(ARGV[2]) > 0 then
        redis.call("expire",KEYS[1],ARGV[2])
    else
        redis.call("persist",KEYS[1])
    end
    return 1
else
    return 0
end
