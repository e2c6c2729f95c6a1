<?php
// Live Laravel 8.83 RateLimiter peer (Debian php-illuminate-*): Illuminate\Cache\RateLimiter
// on a Repository over a RedisStore (phpredis), booted as tests/interop/php/cache.php does:
// connections `default` (db REDIS_DB) and `cache` (db REDIS_CACHE_DB), the store on `cache`.
// Used by tests/interop/test_rate_limiter_live.py.
//
// Environment: REDIS_HOST (127.0.0.1), REDIS_PORT (6379), REDIS_DB (0), REDIS_CACHE_DB (1),
//              REDIS_PREFIX (""), CACHE_PREFIX ("laravel_cache"),
//              REDIS_SERIALIZER (phpredis OPT_SERIALIZER number; unset = none).
//
// stdin: JSON list of [cmd, args...]; stdout: JSON list of {"ok", "result"} (same order).
// Keys travel as base64 ("k64") so any bytes survive; values as base64 of serialize().
//   ["hit", k64, decay] ["attempts", k64] ["too_many", k64, max] ["available_in", k64]
//   ["remaining", k64, max] ["reset", k64] ["clear", k64] ["clean", k64] -> base64
//   ["htmlentities", [b64...]] -> [b64...]   (PHP's own htmlentities(), default flags)
//   ["attempt", k64, max, decay, v64]        callback returns unserialize(v64);
//        returns base64 of serialize(result)
//   ["attempt_for", k64, max, decay, seconds, sleep_us]  attempt() in a loop for `seconds`
//        (the callback sleeps sleep_us); writes "ready\n" to stderr first; returns
//        {"admitted", "refused"}

require_once __DIR__ . '/_cache_store.php';

use Illuminate\Cache\RateLimiter;
use Illuminate\Cache\Repository;

$limiter = new RateLimiter(new Repository($store));

function k($b64) { return base64_decode($b64); }

function run_cmd(array $c, RateLimiter $limiter)
{
    switch ($c[0]) {
        case 'hit': return $limiter->hit(k($c[1]), $c[2]);
        case 'attempts': return $limiter->attempts(k($c[1]));
        case 'too_many': return $limiter->tooManyAttempts(k($c[1]), $c[2]);
        case 'available_in': return $limiter->availableIn(k($c[1]));
        case 'remaining': return $limiter->remaining(k($c[1]), $c[2]);
        case 'reset': return $limiter->resetAttempts(k($c[1]));
        case 'clear': return $limiter->clear(k($c[1]));
        case 'clean': return base64_encode($limiter->cleanRateLimiterKey(k($c[1])));
        case 'htmlentities':
            return array_map(function ($s) { return base64_encode(htmlentities(base64_decode($s))); }, $c[1]);
        case 'attempt':
            $value = unserialize(base64_decode($c[4]));
            $result = $limiter->attempt(k($c[1]), $c[2], function () use ($value) { return $value; }, $c[3]);
            return base64_encode(serialize($result));
        case 'attempt_for':
            [$_, $key, $max, $decay, $seconds, $sleep] = $c;
            $key = k($key);
            fwrite(STDERR, "ready\n");
            fflush(STDERR);
            $admitted = 0;
            $refused = 0;
            $until = microtime(true) + $seconds;
            while (microtime(true) < $until) {
                $ok = $limiter->attempt($key, $max, function () use ($sleep) {
                    usleep($sleep);
                    return 'ran';
                }, $decay);
                if ($ok === false) { $refused++; usleep($sleep); } else { $admitted++; }
            }
            return ['admitted' => $admitted, 'refused' => $refused];
    }
    throw new InvalidArgumentException('unknown command ' . $c[0]);
}

$cmds = json_decode(stream_get_contents(STDIN), true);
$results = [];
foreach ($cmds as $c) {
    try {
        $results[] = ['ok' => true, 'result' => run_cmd($c, $limiter)];
    } catch (Throwable $e) {
        $results[] = ['ok' => false, 'error' => get_class($e), 'message' => $e->getMessage()];
    }
}
echo json_encode($results);
