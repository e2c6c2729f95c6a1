-- One worker iteration for one queue in a single round trip: the effects of running, in
-- this order, Laravel's commands ZREM (delete of the jobs that just finished), EVAL
-- migrateExpiredJobs (:delayed), EVAL migrateExpiredJobs (:reserved), EVAL pop
-- (Illuminate\Queue\LuaScripts, RedisQueue::pop() / RedisJob::delete(), 8.x-13.x). The
-- bodies below are Laravel's (queue_migrate.lua, queue_pop.lua), unchanged; running them in
-- one script is one of the interleavings Laravel's separate round trips allow.
-- KEYS[1] the ready list (queues:NAME), KEYS[2] its :reserved zset, KEYS[3] its :notify
-- list, KEYS[4] its :delayed zset;
-- ARGV[1] now (Unix seconds), ARGV[2] the reservation expiry (now + retry_after),
-- ARGV[3] "1" to migrate expired :reserved jobs ("0" when retry_after is null),
-- ARGV[4] the migration batch size sent by 9.x+ (-1 = all), "" for 8.x (no LIMIT),
-- ARGV[5] how many pops to run (1 = Laravel; more only with the worker's opt-in prefetch),
-- ARGV[6..] exact :reserved members to ZREM first (jobs that finished successfully).
-- Returns {job1, reserved1, job2, reserved2, ...}: each pop's original payload and its
-- reserved copy (see queue_pop.lua); empty when the ready list is empty.
if #ARGV > 5 then
    redis.call('zrem', KEYS[2], unpack(ARGV, 6, #ARGV))
end

local function migrate(from)
    -- Get all of the jobs with an expired "score"...
    local val
    if ARGV[4] ~= '' then
        val = redis.call('zrangebyscore', from, '-inf', ARGV[1], 'limit', 0, ARGV[4])
    else
        val = redis.call('zrangebyscore', from, '-inf', ARGV[1])
    end

    -- If we have values in the array, we will remove them from the first queue
    -- and add them onto the destination queue in chunks of 100, which moves
    -- all of the appropriate jobs onto the destination queue very safely.
    if(next(val) ~= nil) then
        redis.call('zremrangebyrank', from, 0, #val - 1)

        for i = 1, #val, 100 do
            redis.call('rpush', KEYS[1], unpack(val, i, math.min(i+99, #val)))
            -- Push a notification for every job that was migrated...
            for j = i, math.min(i+99, #val) do
                redis.call('rpush', KEYS[3], 1)
            end
        end
    end
end

migrate(KEYS[4])
if ARGV[3] == '1' then
    migrate(KEYS[2])
end

local out = {}
for n = 1, tonumber(ARGV[5]) do
    local job = redis.call('lpop', KEYS[1])
    if job == false then
        break
    end
    local reserved
    local ok, decoded = pcall(cjson.decode, job)
    if ok and type(decoded) == 'table' and type(decoded['attempts']) == 'number' then
        -- Increment the attempt count and place job on the reserved queue...
        reserved = decoded
        reserved['attempts'] = reserved['attempts'] + 1
        reserved = cjson.encode(reserved)
    else
        -- Not Laravel's: its script raises here after the LPOP and the job is lost
        -- (see queue_pop.lua); the job is reserved as-is so the worker can fail it.
        reserved = job
    end
    redis.call('zadd', KEYS[2], ARGV[2], reserved)
    redis.call('lpop', KEYS[3])
    out[#out + 1] = job
    out[#out + 1] = reserved
end

return out
