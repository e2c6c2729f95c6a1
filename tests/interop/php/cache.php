<?php
// Live Laravel 8.83 cache peer (Debian php-illuminate-*): Illuminate\Cache\Repository on a
// RedisStore over Illuminate\Redis\RedisManager (phpredis), connections `default` (db
// REDIS_DB, locks) and `cache` (db REDIS_CACHE_DB), lock_connection `default`. Used by
// tests/interop/test_cache_live.py and benchmarks/cache.py.
//
// Environment: REDIS_HOST (127.0.0.1), REDIS_PORT (6379), REDIS_DB (0), REDIS_CACHE_DB (1),
//              REDIS_PREFIX (""), CACHE_PREFIX ("laravel_cache").
//
// stdin: JSON list of [cmd, args...]; stdout: JSON list of results (same order).
// Values travel as base64 of PHP serialize() ("v64") so every PHP type survives.
//   ["put", key, v64, ttl] ["forever", key, v64] ["add", key, v64, ttl] ["get", key]
//   ["many", [keys]] ["put_many", {key: v64}, ttl] ["increment", key, by]
//   ["tags_put", [tags], key, v64, ttl] ["tags_forever", [tags], key, v64]
//   ["tags_get", [tags], key] ["tags_flush", [tags]] ["tags_increment", [tags], key, by]
//   ["lock_get", name, seconds, owner] ["lock_release", name, owner]
//   ["lock_owner", name]
//   ["contend", name, n, seconds, counter_key]   n acquisitions with block(10); inside the
//        critical section INCR counter_key (db of the lock connection) and check it is 1,
//        then DECR; returns {"acquired": n, "violations": k}
//   ["bench", op, n]  op in tags_put, tags_get, lock, put, get; returns {"seconds"}

require_once __DIR__ . '/_cache_store.php';

use Illuminate\Cache\RedisStore;
use Illuminate\Cache\Repository;
use Illuminate\Redis\RedisManager;

$store->setLockConnection('default');
$cache = new Repository($store);

function v($b64) { return unserialize(base64_decode($b64)); }
function out($value) { return base64_encode(serialize($value)); }

function run_cmd(array $c, Repository $cache, RedisStore $store, RedisManager $redis)
{
    switch ($c[0]) {
        case 'put': return $cache->put($c[1], v($c[2]), $c[3]);
        case 'forever': return $cache->forever($c[1], v($c[2]));
        case 'add': return $cache->add($c[1], v($c[2]), $c[3]);
        case 'get': return out($cache->get($c[1]));
        case 'many': return array_map('out', $cache->many($c[1]));
        case 'put_many': return $cache->putMany(array_map('v', $c[1]), $c[2]);
        case 'increment': return $cache->increment($c[1], $c[2]);
        case 'tags_put': return $cache->tags($c[1])->put($c[2], v($c[3]), $c[4]);
        case 'tags_forever': return $cache->tags($c[1])->forever($c[2], v($c[3]));
        case 'tags_get': return out($cache->tags($c[1])->get($c[2]));
        case 'tags_flush': return $cache->tags($c[1])->flush();
        case 'tags_increment': return $cache->tags($c[1])->increment($c[2], $c[3]);
        case 'lock_get': return $cache->lock($c[1], $c[2], $c[3])->get();
        case 'lock_release': return $store->restoreLock($c[1], $c[2])->release();
        case 'lock_owner': return $redis->connection('default')->get($store->getPrefix() . $c[1]);
        case 'contend':
            [$_, $name, $n, $seconds, $counter] = $c;
            $r = $redis->connection('default');
            $violations = 0;
            for ($i = 0; $i < $n; $i++) {
                $lock = $cache->lock($name, $seconds);
                $lock->betweenBlockedAttemptsSleepFor(5);
                $lock->block(10);
                if ($r->incr($counter) !== 1) { $violations++; }
                usleep(100);
                $r->decr($counter);
                $lock->release();
            }
            return ['acquired' => $n, 'violations' => $violations];
        case 'bench':
            [$_, $op, $n] = $c;
            $value = array_fill(0, 10, 'x');
            $t = microtime(true);
            for ($i = 0; $i < $n; $i++) {
                switch ($op) {
                    case 'tags_put': $cache->tags(['a', 'b'])->put("k$i", $value, 600); break;
                    case 'tags_get': $cache->tags(['a', 'b'])->get('k' . ($i % 100)); break;
                    case 'lock': $l = $cache->lock('bench', 10); $l->get(); $l->release(); break;
                    case 'put_many':
                        $m = [];
                        for ($j = 0; $j < 100; $j++) { $m["m$j"] = $value; }
                        $cache->putMany($m, 600);
                        break;
                }
            }
            return ['seconds' => microtime(true) - $t];
    }
    throw new InvalidArgumentException('unknown command ' . $c[0]);
}

$cmds = json_decode(stream_get_contents(STDIN), true);
$results = [];
foreach ($cmds as $c) {
    try {
        $results[] = ['ok' => true, 'result' => run_cmd($c, $cache, $store, $redis)];
    } catch (Throwable $e) {
        $results[] = ['ok' => false, 'error' => get_class($e), 'message' => $e->getMessage()];
    }
}
echo json_encode($results);
