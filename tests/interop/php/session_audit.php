<?php
// Live peer for tests/interop/test_session_audit_live.py.
//
// Two PHP sides:
//   * "l883_*": Laravel 8.83's own Encrypter, CookieValuePrefix and Recaller (Debian
//     php-illuminate-*);
//   * "l10_*": the envelope of Laravel 10.x-12.x built and checked with PHP's own
//     openssl_encrypt/openssl_decrypt, json_encode/json_decode, base64_decode and
//     hash_equals, following spec §8.1 (string-typed fields, strict IV length, tag
//     rules, previous keys tried in order, a found MAC kept for the later keys).
// and plain PHP functions (json_encode/json_decode of session attributes, hash_hmac).
//
// stdin:  JSON list of cases, binary strings base64-encoded ("*_b64")
// stdout: JSON list, same order: {"ok": true, ...} or {"ok": false, "error": class}

require_once 'Illuminate/Encryption/autoload.php';
require_once 'Illuminate/Cookie/autoload.php';
require_once 'Illuminate/Auth/autoload.php';

use Illuminate\Auth\Recaller;
use Illuminate\Cookie\CookieValuePrefix;
use Illuminate\Encryption\Encrypter;

// Laravel's HandleExceptions turns PHP warnings/notices into an ErrorException, except
// where "@" silences them.
set_error_handler(function ($no, $str) {
    if (! (error_reporting() & $no)) {
        return false;
    }
    throw new ErrorException($str, 0, $no);
});

final class Rejected extends RuntimeException {}

function l10_encrypt(string $key, string $cipher, string $iv, string $plaintext): string
{
    $cipher = strtolower($cipher);
    $tag = null;
    $value = openssl_encrypt($plaintext, $cipher, $key, 0, $iv, $tag);
    if ($value === false) {
        throw new RuntimeException('openssl_encrypt failed');
    }
    $ivB64 = base64_encode($iv);
    $aead = str_ends_with($cipher, '-gcm');
    $fields = [
        'iv' => $ivB64,
        'value' => $value,
        'mac' => $aead ? '' : hash_hmac('sha256', $ivB64 . $value, $key),
        'tag' => base64_encode($tag ?? ''),
    ];
    return base64_encode(json_encode($fields, JSON_UNESCAPED_SLASHES));
}

function l10_decrypt(array $keys, string $cipher, $payload): string
{
    $cipher = strtolower($cipher);
    $aead = str_ends_with($cipher, '-gcm');
    if (! is_string($payload)) {
        throw new Rejected('payload');
    }
    $p = json_decode(base64_decode($payload), true);
    if (! is_array($p)) {
        throw new Rejected('json');
    }
    foreach (['iv', 'value', 'mac'] as $field) {
        if (! isset($p[$field]) || ! is_string($p[$field])) {
            throw new Rejected($field);
        }
    }
    if (isset($p['tag']) && ! is_string($p['tag'])) {
        throw new Rejected('tag type');
    }
    if (strlen((string) base64_decode($p['iv'], true)) !== openssl_cipher_iv_length($cipher)) {
        throw new Rejected('iv');
    }
    $iv = base64_decode($p['iv']);
    $tag = empty($p['tag']) ? null : base64_decode($p['tag']);
    if ($aead && strlen((string) $tag) !== 16) {
        throw new Rejected('tag length');
    }
    if (! $aead && is_string($tag)) {
        throw new Rejected('tag for cbc');
    }
    $macFound = false;
    $plaintext = false;
    foreach ($keys as $key) {
        if (! $aead && ! $macFound) {
            $macFound = hash_equals(hash_hmac('sha256', $p['iv'] . $p['value'], $key), $p['mac']);
            if (! $macFound) {
                continue;
            }
        }
        $plaintext = openssl_decrypt($p['value'], $cipher, $key, 0, $iv, $tag ?? '');
        if ($plaintext !== false) {
            break;
        }
    }
    if (! $aead && ! $macFound) {
        throw new Rejected('mac');
    }
    if ($plaintext === false) {
        throw new Rejected('decrypt');
    }
    return $plaintext;
}

function keys_of(array $c): array
{
    return array_map('base64_decode', $c['keys_b64']);
}

function run_case(array $c): array
{
    switch ($c['op']) {
        case 'l10_encrypt':
            $plaintext = base64_decode($c['plaintext_b64']);
            return ['payload' => l10_encrypt(
                base64_decode($c['key_b64']), $c['cipher'], base64_decode($c['iv_b64']),
                $c['serialize'] ? serialize($plaintext) : $plaintext
            )];

        case 'l10_decrypt':
            return ['plaintext_b64' => base64_encode(l10_decrypt(keys_of($c), $c['cipher'], $c['payload']))];

        case 'l10_cookie_decrypt':
            // EncryptCookies (11+): decrypt with any key, then the prefix of any key
            $keys = keys_of($c);
            $plaintext = l10_decrypt($keys, $c['cipher'], $c['payload']);
            foreach ($keys as $key) {
                if (str_starts_with($plaintext, CookieValuePrefix::create($c['name'], $key))) {
                    return ['value_b64' => base64_encode(CookieValuePrefix::remove($plaintext))];
                }
            }
            return ['value_b64' => null];

        case 'l883_encrypt':
            $e = new Encrypter(base64_decode($c['key_b64']), $c['cipher']);
            return ['payload' => $e->encrypt(base64_decode($c['plaintext_b64']), $c['serialize'])];

        case 'l883_decrypt':
            $e = new Encrypter(base64_decode($c['key_b64']), $c['cipher']);
            $value = $e->decrypt($c['payload'], $c['unserialize']);
            return ['plaintext_b64' => base64_encode($c['unserialize'] ? serialize($value) : $value)];

        case 'prefix':
            return ['prefix' => CookieValuePrefix::create($c['name'], base64_decode($c['key_b64']))];

        case 'json_encode':
            $json = json_encode(unserialize(base64_decode($c['serialized_b64'])));
            return ['json_b64' => $json === false ? null : base64_encode($json)];

        case 'json_decode':
            $value = json_decode(base64_decode($c['json_b64']), true);
            return ['serialized_b64' => base64_encode(serialize($value))];

        case 'recaller':
            $r = new Recaller($c['value']);
            return $r->valid()
                ? ['valid' => true, 'id' => $r->id(), 'token' => $r->token(), 'hash' => $r->hash()]
                : ['valid' => false];

        case 'hmac':
            return ['mac' => hash_hmac('sha256', $c['data'], $c['key'])];
    }
    throw new InvalidArgumentException('unknown op');
}

$cases = json_decode(stream_get_contents(STDIN), true, 512, JSON_THROW_ON_ERROR);
$out = [];
foreach ($cases as $c) {
    try {
        $out[] = ['ok' => true] + run_case($c);
    } catch (Throwable $e) {
        $out[] = ['ok' => false, 'error' => get_class($e)];
    }
}
echo json_encode($out, JSON_UNESCAPED_SLASHES | JSON_THROW_ON_ERROR);
