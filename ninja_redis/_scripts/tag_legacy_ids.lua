-- Tag ids of the Laravel 8/9 tagged cache in one round trip: KEYS[i] = ⟨P⟩⟨C⟩tag:NAME:key,
-- ARGV[i] = a fresh encoded id (E(uniqid)) stored forever (SET) when KEYS[i] is missing
-- (TagSet::tagId: get ?: resetTag).
-- Returns the encoded id stored under every KEY, in order.
local out = {}
for i, key in ipairs(KEYS) do
    local id = redis.call('get', key)
    if not id then
        redis.call('set', key, ARGV[i])
        id = ARGV[i]
    end
    out[i] = id
end
return out
