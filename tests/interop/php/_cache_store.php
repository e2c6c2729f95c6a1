<?php
// Shared by cache.php and rate_limiter.php: a Laravel 8.83 RedisStore (phpredis) booted
// by hand from Debian's php-illuminate-* packages. Defines envv(), $app, $redis (connections
// `default` on REDIS_DB and `cache` on REDIS_CACHE_DB) and $store (on `cache`).
//
// Environment: REDIS_HOST (127.0.0.1), REDIS_PORT (6379), REDIS_DB (0), REDIS_CACHE_DB (1),
//              REDIS_PREFIX (""), CACHE_PREFIX ("laravel_cache"),
//              REDIS_SERIALIZER (phpredis OPT_SERIALIZER number; unset = none).

require_once 'Illuminate/Container/autoload.php';
require_once 'Illuminate/Cache/autoload.php';
require_once 'Illuminate/Redis/autoload.php';

use Illuminate\Cache\RedisStore;
use Illuminate\Container\Container;
use Illuminate\Redis\RedisManager;

function envv($k, $d) { $v = getenv($k); return $v === false ? $d : $v; }

$app = new Container();
Container::setInstance($app);
$conn = [
    'host' => envv('REDIS_HOST', '127.0.0.1'),
    'port' => (int) envv('REDIS_PORT', 6379),
];
$options = ['prefix' => envv('REDIS_PREFIX', '')];
if (getenv('REDIS_SERIALIZER') !== false) {
    $options['serializer'] = (int) getenv('REDIS_SERIALIZER');
}
$redis = new RedisManager($app, 'phpredis', [
    'options' => $options,
    'default' => $conn + ['database' => (int) envv('REDIS_DB', 0)],
    'cache' => $conn + ['database' => (int) envv('REDIS_CACHE_DB', 1)],
]);
$store = new RedisStore($redis, envv('CACHE_PREFIX', 'laravel_cache'), 'cache');
