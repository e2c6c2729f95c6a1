<?php
// Router for `php -S 127.0.0.1:PORT cookie_server.php` (tests/interop/test_session_audit_live.py):
// PHP's own Cookie-header parsing ($_COOKIE, the same code as under PHP-FPM) and then
// Laravel 8.83's EncryptCookies over Request::createFromGlobals(), i.e. what a Laravel
// app sees for each cookie of a real request.
//
// Request headers: Cookie, X-Key (base64 of the raw app key), X-Cipher.
// Response: {"cookies": $_COOKIE, "seen": cookies after EncryptCookies (null = rejected)}
// with every string base64-encoded (values may be any bytes).

require_once 'Illuminate/Encryption/autoload.php';
require_once 'Illuminate/Cookie/autoload.php';

use Illuminate\Cookie\Middleware\EncryptCookies;
use Illuminate\Encryption\Encrypter;
use Symfony\Component\HttpFoundation\Request;
use Symfony\Component\HttpFoundation\Response;

function b64_tree($value)
{
    if (is_array($value)) {
        $out = [];
        foreach ($value as $k => $v) {
            $out[] = [base64_encode((string) $k), b64_tree($v)];
        }
        return ['array' => $out];
    }
    return $value === null ? null : base64_encode($value);
}

$result = ['cookies' => b64_tree($_COOKIE)];
$key = base64_decode($_SERVER['HTTP_X_KEY'] ?? '');
if ($key !== '') {
    $mw = new EncryptCookies(new Encrypter($key, $_SERVER['HTTP_X_CIPHER'] ?? 'AES-256-CBC'));
    $seen = null;
    $mw->handle(Request::createFromGlobals(), function ($request) use (&$seen) {
        $seen = $request->cookies->all();
        return new Response('');
    });
    $result['seen'] = b64_tree($seen);
}
header('Content-Type: application/json');
echo json_encode($result);
