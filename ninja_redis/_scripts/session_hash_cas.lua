-- KEYS[1] session hash (hash layout); ARGV[1] "1" if its `data` field must hold exactly
-- ARGV[2], "0" if the hash must not exist; ARGV[3] TTL seconds; ARGV[4..] field/value pairs.
-- Returns 1 if the hash was replaced by the new fields (DEL + HSET + EXPIRE), 0 if the
-- stored data changed meanwhile.
local current = redis.call('HGET', KEYS[1], 'data')
if ARGV[1] == '1' then
  if current ~= ARGV[2] then
    return 0
  end
elseif redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
