-- Laravel 8/9 tagged get in one round trip (standalone Redis, no phpredis serializer).
-- KEYS[i] = ⟨P⟩⟨C⟩tag:NAME:key of each tag; ARGV[1] = ⟨P⟩⟨C⟩, ARGV[2] = the item key.
-- The item lives at ⟨P⟩⟨C⟩ sha1(id1|id2|...) ':' key (TaggedCache::taggedItemKey), each id
-- decoded as RedisStore::get does: s:N:"id"; or a raw numeric string.
-- Returns {value or false, id1, id2, ...}; {} when a tag has no id yet (the caller creates
-- it, TagSet::resetTag), the id is PHP-falsy ("" or "0": TagSet::tagId replaces it) or an
-- id is in another form (the caller decodes it like Laravel or names the error): all on
-- the two-round-trip path.
local ids = {}
for i, key in ipairs(KEYS) do
    local stored = redis.call('get', key)
    if not stored then
        return {}
    end
    local len, id = string.match(stored, '^s:(%d+):"(.*)";$')
    if len and #id == tonumber(len) then
        ids[i] = id
    elseif string.match(stored, '^%d+$') or string.match(stored, '^%d+[eE]%d+$') then
        ids[i] = stored
    else
        return {}
    end
    if ids[i] == '' or ids[i] == '0' then
        return {}
    end
end
local full = ARGV[1] .. redis.sha1hex(table.concat(ids, '|')) .. ':' .. ARGV[2]
local out = {redis.call('get', full) or false}
for i = 1, #KEYS do
    out[i + 1] = ids[i]
end
return out
