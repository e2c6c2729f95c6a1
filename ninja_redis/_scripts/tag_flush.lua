-- Tagged flush of Laravel 12.30+ (RedisTaggedCache::flush, one call per chunk of <= 1000
-- entries): KEYS = full item keys (⟨P⟩⟨C⟩sha1:key); ARGV[1] = ⟨P⟩⟨C⟩ as a Lua pattern
-- (each '-' escaped as '%-'), ARGV[2..] = full keys of the tag zsets being flushed.
-- For every KEY: DEL it, then ZREM (the key with every match of ARGV[1] removed) from
-- each tag zset. Empty zsets vanish by themselves. Returns nothing.
local prefix = table.remove(ARGV, 1)

for i, key in ipairs(KEYS) do
    redis.call('DEL', key)

    for j, arg in ipairs(ARGV) do
        local zkey = string.gsub(key, prefix, "")
        redis.call('ZREM', arg, zkey)
    end
end
