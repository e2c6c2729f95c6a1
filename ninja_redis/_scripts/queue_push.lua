-- Laravel's LuaScripts::push() (every version), used by push/pushRaw.
-- KEYS[1] the ready list (queues:NAME), KEYS[2] its notify list (queues:NAME:notify);
-- ARGV[1] the job payload. RPUSH the payload, RPUSH one "1" to notify. Returns nothing.
-- Push the job onto the queue...
redis.call('rpush', KEYS[1], ARGV[1])
-- Push a notification onto the "notify" queue...
redis.call('rpush', KEYS[2], 1)
