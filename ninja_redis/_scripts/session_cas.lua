-- KEYS[1] session key (string layout); ARGV[1] "1" if the key must hold exactly ARGV[2],
-- "0" if it must not exist; ARGV[3] new value; ARGV[4] TTL seconds.
-- Returns 1 if the new value was written (SETEX), 0 if the stored value changed meanwhile.
local current = redis.call('GET', KEYS[1])
if ARGV[1] == '1' then
  if current ~= ARGV[2] then
    return 0
  end
elseif current then
  return 0
end
redis.call('SETEX', KEYS[1], ARGV[4], ARGV[3])
return 1
