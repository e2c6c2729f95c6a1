<?php
// Live peer for tests/interop/test_session_live.py: Laravel 8.83's own session Store /
// EncryptedStore over CacheBasedSessionHandler + RedisStore (phpredis), and the
// EncryptCookies middleware (Debian php-illuminate-* packages).
//
// stdin:  {"redis": {host, port, database}, "prefix", "cache_prefix", "key_b64", "cipher",
//          "lifetime", "cookie", "cases": [...]}
// stdout: JSON list of results, same order: {"ok": true, ...} or {"ok": false, "error", "message"}
//
// cases:  write  {id|null, encrypt, ops: [[method, ...args]], save: true}
//                 -> {id, attributes_b64 (serialize($session->all())), key, value_b64}
//         read   {id, encrypt} -> {attributes_b64, exists, user_id}
//         cookie_encrypt {value} -> {payload}          (EncryptCookies on a response)
//         cookie_decrypt {payload} -> {value | null}     (EncryptCookies on a request)

require_once 'Illuminate/Support/autoload.php';
require_once 'Illuminate/Container/autoload.php';
require_once 'Illuminate/Redis/autoload.php';
require_once 'Illuminate/Cache/autoload.php';
require_once 'Illuminate/Session/autoload.php';
require_once 'Illuminate/Encryption/autoload.php';
require_once 'Illuminate/Cookie/autoload.php';

use Illuminate\Cache\RedisStore;
use Illuminate\Cache\Repository;
use Illuminate\Container\Container;
use Illuminate\Cookie\Middleware\EncryptCookies;
use Illuminate\Encryption\Encrypter;
use Illuminate\Redis\RedisManager;
use Illuminate\Session\CacheBasedSessionHandler;
use Illuminate\Session\EncryptedStore;
use Illuminate\Session\Store;
use Symfony\Component\HttpFoundation\Cookie;
use Symfony\Component\HttpFoundation\Request;
use Symfony\Component\HttpFoundation\Response;

$in = json_decode(stream_get_contents(STDIN), true, 512, JSON_THROW_ON_ERROR);
$redis = new RedisManager(new Container(), 'phpredis', [
    'default' => $in['redis'],
    'options' => ['prefix' => $in['prefix']],
]);
$store = new RedisStore($redis, $in['cache_prefix'], 'default');
$handler = new CacheBasedSessionHandler(new Repository($store), $in['lifetime']);
$encrypter = new Encrypter(base64_decode($in['key_b64']), $in['cipher']);
$raw = $redis->connection('default')->client();

function session_for(array $c, $handler, $encrypter, string $cookie): Store
{
    return $c['encrypt'] ?? false
        ? new EncryptedStore($cookie, $handler, $encrypter, $c['id'] ?? null)
        : new Store($cookie, $handler, $c['id'] ?? null);
}

function run_case(array $c, array $in, $handler, $encrypter, $raw): array
{
    $login = 'login_web_' . sha1('Illuminate\Auth\SessionGuard');
    switch ($c['op']) {
        case 'write':
            $s = session_for($c, $handler, $encrypter, $in['cookie']);
            $s->start();
            foreach ($c['ops'] as $op) {
                $method = array_shift($op);
                $s->$method(...$op);
            }
            $s->save();
            $key = $in['cache_prefix'] . ':' . $s->getId();
            $value = $raw->get($key);  // phpredis adds the connection prefix
            return [
                'id' => $s->getId(),
                'attributes_b64' => base64_encode(serialize($s->all())),
                'value_b64' => $value === false ? null : base64_encode($value),
            ];

        case 'read':
            $s = session_for($c, $handler, $encrypter, $in['cookie']);
            $s->start();
            return [
                'id' => $s->getId(),
                'attributes_b64' => base64_encode(serialize($s->all())),
                'user_id' => $s->get($login),
            ];

        case 'cookie_encrypt':
            $mw = new EncryptCookies($encrypter);
            $name = $in['cookie'];
            $value = $c['value'];
            $response = $mw->handle(Request::create('/'), function () use ($name, $value) {
                $r = new Response('ok');
                $r->headers->setCookie(Cookie::create($name, $value));
                return $r;
            });
            return ['payload' => $response->headers->getCookies()[0]->getValue()];

        case 'cookie_decrypt':
            $mw = new EncryptCookies($encrypter);
            $name = $in['cookie'];
            $seen = 'not called';
            $request = Request::create('/', 'GET', [], [$name => $c['payload']]);
            $mw->handle($request, function ($req) use (&$seen, $name) {
                $seen = $req->cookies->get($name);
                return new Response('ok');
            });
            return ['value' => $seen];
    }
    throw new InvalidArgumentException('unknown op');
}

$out = [];
foreach ($in['cases'] as $c) {
    try {
        $out[] = ['ok' => true] + run_case($c, $in, $handler, $encrypter, $raw);
    } catch (Throwable $e) {
        $out[] = ['ok' => false, 'error' => get_class($e), 'message' => $e->getMessage()];
    }
}
echo json_encode($out, JSON_UNESCAPED_SLASHES | JSON_THROW_ON_ERROR);
