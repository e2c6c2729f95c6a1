-- Laravel's RedisQueue pop script (Illuminate\Queue\LuaScripts::pop(), 8.x-12.x).
-- KEYS[1] the ready list (queues:NAME), KEYS[2] its :reserved zset, KEYS[3] its :notify list;
-- ARGV[1] the reservation expiry (Unix seconds, now + retry_after).
-- Returns {job, reserved}: the original payload and the reserved copy (attempts + 1,
-- re-encoded by cjson) that was added to KEYS[2] with score ARGV[1]; {false, false} when
-- the list is empty.
-- One addition to Laravel's logic: a payload that cjson cannot decode, or whose "attempts"
-- is not a number, makes Laravel's script raise after its LPOP and the job is lost. Here it
-- is reserved as-is (member = the original bytes) and returned as {job, job}, so the worker
-- can fail it and keep it in the failed-job store.
local job = redis.call('lpop', KEYS[1])
local reserved = false

if(job ~= false) then
    local ok, decoded = pcall(cjson.decode, job)
    if ok and type(decoded) == 'table' and type(decoded['attempts']) == 'number' then
        -- Increment the attempt count and place job on the reserved queue...
        reserved = decoded
        reserved['attempts'] = reserved['attempts'] + 1
        reserved = cjson.encode(reserved)
    else
        reserved = job
    end
    redis.call('zadd', KEYS[2], ARGV[1], reserved)
    redis.call('lpop', KEYS[3])
end

return {job, reserved}
