-- Laravel's RedisQueue migrateExpiredJobs script (Illuminate\Queue\LuaScripts).
-- KEYS[1] the zset to take due jobs from (queues:NAME:delayed or :reserved),
-- KEYS[2] the ready list (queues:NAME), KEYS[3] its :notify list;
-- ARGV[1] the current Unix time; ARGV[2] (9.x+) the batch size, -1 = all. 8.x sends only
-- ARGV[1] and has no LIMIT. Returns the migrated payloads (lowest scores first).
-- Get all of the jobs with an expired "score"...
local val
if ARGV[2] ~= nil then
    val = redis.call('zrangebyscore', KEYS[1], '-inf', ARGV[1], 'limit', 0, ARGV[2])
else
    val = redis.call('zrangebyscore', KEYS[1], '-inf', ARGV[1])
end

-- If we have values in the array, we will remove them from the first queue
-- and add them onto the destination queue in chunks of 100, which moves
-- all of the appropriate jobs onto the destination queue very safely.
if(next(val) ~= nil) then
    redis.call('zremrangebyrank', KEYS[1], 0, #val - 1)

    for i = 1, #val, 100 do
        redis.call('rpush', KEYS[2], unpack(val, i, math.min(i+99, #val)))
        -- Push a notification for every job that was migrated...
        for j = i, math.min(i+99, #val) do
            redis.call('rpush', KEYS[3], 1)
        end
    end
end

return val
