<?php
// Live peer for tests/interop/test_crypto_live.py: Laravel's own Encrypter,
// CookieValuePrefix and EncryptCookies middleware (Debian php-illuminate-* 8.83).
//
// stdin:  JSON list of cases, every binary string base64-encoded ("*_b64")
// stdout: JSON list of results, same order: {"ok": true, ...} or {"ok": false, "error", "message"}
//
// ops: encrypt {key_b64, cipher, value_b64 | value_json, serialize}
//      decrypt {key_b64, cipher, payload, unserialize}
//      cookie_encrypt {key_b64, cipher, name, value_b64}           (EncryptCookies on a response)
//      cookie_decrypt {key_b64, cipher, name, payload}              (EncryptCookies on a request)
//      prefix {key_b64, name}

require_once 'Illuminate/Encryption/autoload.php';
require_once 'Illuminate/Cookie/autoload.php';

use Illuminate\Cookie\CookieValuePrefix;
use Illuminate\Cookie\Middleware\EncryptCookies;
use Illuminate\Encryption\Encrypter;
use Symfony\Component\HttpFoundation\Cookie;
use Symfony\Component\HttpFoundation\Request;
use Symfony\Component\HttpFoundation\Response;

function run_case(array $c): array
{
    $key = base64_decode($c['key_b64'] ?? '');
    switch ($c['op']) {
        case 'prefix':
            return ['prefix' => CookieValuePrefix::create($c['name'], $key)];

        case 'encrypt':
            $e = new Encrypter($key, $c['cipher']);
            $value = array_key_exists('value_json', $c) ? $c['value_json'] : base64_decode($c['value_b64']);
            return [
                'payload' => $e->encrypt($value, $c['serialize']),
                'plaintext_b64' => base64_encode($c['serialize'] ? serialize($value) : $value),
            ];

        case 'decrypt':
            $e = new Encrypter($key, $c['cipher']);
            $value = $e->decrypt($c['payload'], $c['unserialize']);
            return $c['unserialize']
                ? ['serialized_b64' => base64_encode(serialize($value))]
                : ['value_b64' => base64_encode($value)];

        case 'cookie_encrypt':
            $mw = new EncryptCookies(new Encrypter($key, $c['cipher']));
            $name = $c['name'];
            $value = base64_decode($c['value_b64']);
            $response = $mw->handle(Request::create('/'), function () use ($name, $value) {
                $r = new Response('ok');
                $r->headers->setCookie(Cookie::create($name, $value));
                return $r;
            });
            $cookie = $response->headers->getCookies()[0];
            return ['payload' => $cookie->getValue(), 'set_cookie' => (string) $cookie];

        case 'cookie_decrypt':
            $mw = new EncryptCookies(new Encrypter($key, $c['cipher']));
            $name = $c['name'];
            $seen = 'not called';
            $request = Request::create('/', 'GET', [], [$name => $c['payload']]);
            $mw->handle($request, function ($req) use (&$seen, $name) {
                $seen = $req->cookies->get($name);
                return new Response('ok');
            });
            // What the app sees: the value without prefix, or null (bad payload or prefix).
            return ['value_b64' => $seen === null ? null : base64_encode($seen)];
    }
    throw new InvalidArgumentException('unknown op');
}

$cases = json_decode(stream_get_contents(STDIN), true, 512, JSON_THROW_ON_ERROR);
$out = [];
foreach ($cases as $c) {
    try {
        $out[] = ['ok' => true] + run_case($c);
    } catch (Throwable $e) {
        $out[] = ['ok' => false, 'error' => get_class($e), 'message' => $e->getMessage()];
    }
}
echo json_encode($out, JSON_UNESCAPED_SLASHES | JSON_THROW_ON_ERROR);
