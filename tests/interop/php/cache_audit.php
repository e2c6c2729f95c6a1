<?php
// Generic Laravel 8.83 cache peer for tests/_async/test_cache_audit.py: any Repository,
// TaggedCache or Lock method with typed arguments, its result as serialize() text.
// Same store as cache.php (_cache_store.php: RedisStore on `cache`, locks on `default`).
//
// Environment: as _cache_store.php (REDIS_HOST, REDIS_PORT, REDIS_PREFIX, CACHE_PREFIX,
//              REDIS_SERIALIZER).
//
// stdin: JSON list of commands; stdout: JSON list of {"ok": bool, "result": b64} where
// result is base64(serialize(return value)) (or error/message when ok is false).
//   ["define", php_code]                      eval() class/enum declarations
//   ["repo", method, [args...]]               $cache->method(...args)
//   ["tags", [names], method, [args...]]      $cache->tags(names)->method(...args)
//   ["lock", name, seconds, owner, method, [args...]]   $cache->lock(...)->method(...)
//   ["restore", name, owner, method, [args...]]         $store->restoreLock(...)->method(...)
//   ["block", name, seconds, sleep_ms, wait]  block(wait) with betweenBlockedAttemptsSleepFor;
//        result: serialize([acquired, started_at (float), elapsed (float)])
// Arguments: a JSON scalar as is, or {"v": b64 of serialize()}, {"f": "float repr"},
// {"dt": "U.u"} (DateTime at that Unix time), {"di": "PT5S"} (DateInterval),
// {"dtrel": seconds float} (DateTime now + seconds, taken when the call runs).

require_once __DIR__ . '/_cache_store.php';

use Illuminate\Cache\Repository;

$store->setLockConnection('default');
$cache = new Repository($store);

function arg($a)
{
    if (!is_array($a)) {
        return $a;
    }
    if (array_key_exists('v', $a)) {
        return unserialize(base64_decode($a['v']));
    }
    if (array_key_exists('f', $a)) {
        return (float) $a['f'];
    }
    if (array_key_exists('dt', $a)) {
        return DateTime::createFromFormat('U.u', $a['dt']);
    }
    if (array_key_exists('dtrel', $a)) {
        $t = microtime(true) + $a['dtrel'];
        return DateTime::createFromFormat('U.u', sprintf('%.6F', $t));
    }
    if (array_key_exists('di', $a)) {
        return new DateInterval($a['di']);
    }
    if (array_key_exists('list', $a)) {
        return array_map('arg', $a['list']);
    }
    if (array_key_exists('map', $a)) {
        $out = [];
        foreach ($a['map'] as [$k, $v]) {
            $out[$k] = arg($v);
        }
        return $out;
    }
    throw new InvalidArgumentException('bad argument ' . json_encode($a));
}

function run_cmd(array $c, Repository $cache, $store)
{
    switch ($c[0]) {
        case 'define':
            eval($c[1]);
            return true;
        case 'repo':
            return $cache->{$c[1]}(...array_map('arg', $c[2]));
        case 'tags':
            return $cache->tags($c[1])->{$c[2]}(...array_map('arg', $c[3]));
        case 'lock':
            return $cache->lock($c[1], $c[2], $c[3])->{$c[4]}(...array_map('arg', $c[5]));
        case 'restore':
            return $store->restoreLock($c[1], $c[2])->{$c[3]}(...array_map('arg', $c[4]));
        case 'block':
            [$_, $name, $seconds, $sleep, $wait] = $c;
            $lock = $cache->lock($name, $seconds);
            $lock->betweenBlockedAttemptsSleepFor($sleep);
            $start = microtime(true);
            try {
                $acquired = $lock->block($wait);
            } catch (Illuminate\Contracts\Cache\LockTimeoutException $e) {
                $acquired = false;
            }
            return [$acquired, $start, microtime(true) - $start];
    }
    throw new InvalidArgumentException('unknown command ' . $c[0]);
}

$cmds = json_decode(stream_get_contents(STDIN), true);
$results = [];
foreach ($cmds as $c) {
    try {
        $r = run_cmd($c, $cache, $store);
        $results[] = ['ok' => true, 'result' => base64_encode(serialize($r))];
    } catch (Throwable $e) {
        $results[] = ['ok' => false, 'error' => get_class($e), 'message' => $e->getMessage()];
    }
}
echo json_encode($results);
