"""Spec §0 (the version-difference table), row by row, on both sides of every boundary.

Every value here is generated (``random.Random`` with a fixed seed per test): app names,
prefixes, keys, values, APP_KEYs, cookie names, job properties. Nothing is copied from
``../shared/fixtures``. Where PHP 8.2 can compute the expected bytes itself (Laravel
8.83's ``Str::slug``, ``serialize``, ``igbinary_serialize``, ``hash``/``hash_hmac``,
``json_encode``, the ``Encrypter`` and the ``RedisStore`` value rules) it does, in one
``php`` process per test (:func:`php_peer`). Rows that need Redis are in
``tests/_async/test_version_boundaries.py``.

Test names carry the row number of the table (``test_row07_…``); boundaries that are
not rows of their own (12.41 unique-lock names, the 12.30/12.41 tag flush, …) say so.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import random
import string
import subprocess
from typing import Any

import pytest

from ninja_redis import Laravel, php
from ninja_redis.codec import LaravelCacheCodec
from ninja_redis.config import LaravelConfig, LaravelVersion, slug
from ninja_redis.crypto import cookie_prefix, password_hash_mac
from ninja_redis.keys import KeySpace
from ninja_redis.payloads import (
    ModelIdentifier,
    PayloadBuilder,
    PhpJob,
    Prop,
    parse_payload,
    serialize_command,
    unique_lock_name,
)
from ninja_redis.php import PhpObject
from ninja_redis.sessions import Session

# --------------------------------------------------------------------- the PHP peer

_PEER = r"""
require_once 'Illuminate/Support/autoload.php';
require_once 'Illuminate/Encryption/autoload.php';
require_once 'Illuminate/Queue/autoload.php';
require_once 'Illuminate/Bus/autoload.php';

function dec($x) {
    if (!is_array($x)) return $x;
    $k = array_key_first($x);
    $v = $x[$k];
    switch ($k) {
        case 's': return base64_decode($v);
        case 'i': return (int) $v;
        case 'f': return $v === 'INF' ? INF : ($v === '-INF' ? -INF
                  : ($v === 'NAN' ? NAN : (float) $v));
        case 'b': return (bool) $v;
        case 'n': return null;
        case 'a': $out = []; foreach ($v as [$kk, $vv]) { $out[dec($kk)] = dec($vv); }
                  return $out;
    }
    throw new Exception("bad value $k");
}
function b($s) { return base64_encode($s); }
function rule8($v) {   // RedisStore::serialize(), 8.x-12.28 (the local Laravel 8.83 code)
    return is_numeric($v) && ! in_array($v, [INF, -INF]) && ! is_nan($v);
}
function rule1229($v) { return is_numeric($v) && is_finite($v); }   // 12.29+
function has_hash_tag($key) {   // Illuminate\Redis\Connections\Connection::hasHashTag
    $open = strpos($key, '{');
    if ($open === false) return false;
    $close = strpos($key, '}', $open + 1);
    return $close !== false && $close - $open > 1;
}

$out = [];
foreach (json_decode(stream_get_contents(STDIN), true) as $c) {
    switch ($c['op']) {
    case 'slug':
        $out[] = [Illuminate\Support\Str::slug($c['v'], '_'),
                  Illuminate\Support\Str::slug($c['v'])];
        break;
    case 'cache_prefix_8':   // RedisStore::setPrefix() of 8.x-10.x
        $p = $c['v']; $out[] = ! empty($p) ? $p.':' : ''; break;
    case 'store':   // RedisStore::serialize(): what phpredis sends (string cast) or serialize()
        $v = dec($c['v']);
        $raw8 = rule8($v); $raw29 = rule1229($v);
        $out[] = [b($raw8 ? (string) $v : serialize($v)), b($raw29 ? (string) $v : serialize($v))];
        break;
    case 'packed':   // phpredis serializer php / igbinary: <= 11.38 and 11.39+
        $v = dec($c['v']);
        $old = rule8($v) ? $v : serialize($v);
        $out[] = [b(serialize($old)), b(serialize($v)),
                  b(igbinary_serialize($old)), b(igbinary_serialize($v)),
                  b(rule8($v) ? (string) $v : serialize($v))];
        break;
    case 'serialize': $out[] = b(serialize(dec($c['v']))); break;
    case 'model_identifier':   // the real 8.83 class: 4 properties (8.x, 9.0-9.25)
        $m = new Illuminate\Contracts\Database\ModelIdentifier(
            $c['class'], dec($c['id']), $c['relations'], $c['connection']);
        if ($c['collection']) {   // 9.26+ adds the fifth, declared property
            $m = (array) $m + ['collectionClass' => $c['collection_class']];
            $s = serialize($m);   // a:5:{…} -> O:45:"…ModelIdentifier":5:{…}
            $m = 'O:45:"Illuminate\Contracts\Database\ModelIdentifier"'.substr($s, 1);
            $out[] = b($m); break;
        }
        $out[] = b(serialize($m)); break;
    case 'revived':   // unserialize() with allowed_classes: the class PHP gets back
        $cls = $c['define'];   // declared, so that an allowed class is revived
        if (! class_exists($cls, false)) {
            $at = strrpos($cls, '\\');
            eval('namespace '.substr($cls, 0, $at).'; #[\\AllowDynamicProperties] class '
                 .substr($cls, $at + 1).' {}');
        }
        $o = unserialize(base64_decode($c['v']), ['allowed_classes' => $c['allowed']]);
        $out[] = get_class($o); break;
    case 'hmac':
        $out[] = hash_hmac($c['algo'], base64_decode($c['data']), base64_decode($c['key']));
        break;
    case 'xxh128': $out[] = hash('xxh128', base64_decode($c['v'])); break;
    case 'has_hash_tag': $out[] = has_hash_tag($c['v']); break;
    case 'reencode':   // json_decode + json_encode(JSON_UNESCAPED_UNICODE): identical bytes?
        $out[] = b(json_encode(json_decode(base64_decode($c['v']), true), JSON_UNESCAPED_UNICODE));
        break;
    case 'session_blob':   // Store::save(): serialize() or json_encode(), then RedisStore
        $attrs = dec($c['v']);
        $blob = $c['json'] ? json_encode($attrs) : serialize($attrs);
        $out[] = b(serialize($blob)); break;
    case 'cookie':   // EncryptCookies: Encrypter::encrypt(prefix.value, false) with one key
        $key = base64_decode($c['key']);
        $e = new Illuminate\Encryption\Encrypter($key, $c['cipher']);
        $prefix = hash_hmac('sha1', $c['name'].'v2', $key).'|';
        $out[] = $e->encrypt($prefix.$c['value'], false); break;
    case 'job':   // a job class using the 8.83 traits; 'm94' = SerializesModels of 9.4+
        $code = $c['code'];
        eval($code);
        $cls = $c['class'];
        $job = new $cls();
        foreach ($c['set'] as [$name, $val]) {
            $r = new ReflectionProperty($cls, $name);
            $r->setAccessible(true);
            $r->setValue($job, dec($val));
        }
        $out[] = b(serialize($job)); break;
    default: throw new Exception('unknown op');
    }
}
echo json_encode($out);
"""


def php_peer(cases: list[dict[str, Any]]) -> list[Any]:
    """Run every case in one ``php`` process (see ``_PEER``)."""
    proc = subprocess.run(
        ["php", "-r", _PEER],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr or proc.stdout
    out: list[Any] = json.loads(proc.stdout)
    assert len(out) == len(cases)
    return out


def enc(value: Any) -> Any:
    """A Python value as the peer's tagged JSON (``dec()``)."""
    if value is None:
        return {"n": 0}
    if isinstance(value, bool):
        return {"b": value}
    if isinstance(value, int):
        return {"i": value}
    if isinstance(value, float):
        if math.isnan(value):
            return {"f": "NAN"}
        if math.isinf(value):
            return {"f": "INF" if value > 0 else "-INF"}
        return {"f": repr(value)}
    if isinstance(value, str):
        value = value.encode("utf-8", "surrogateescape")
    if isinstance(value, bytes):
        return {"s": base64.b64encode(value).decode()}
    if isinstance(value, dict):
        return {"a": [[enc(k), enc(v)] for k, v in value.items()]}
    if isinstance(value, list):
        return {"a": [[enc(i), enc(v)] for i, v in enumerate(value)]}
    raise TypeError(type(value))


def unb64(text: str) -> bytes:
    return base64.b64decode(text)


# --------------------------------------------------------------------- generators

_SCRIPTS = [
    string.ascii_letters + string.digits + "  -_.@&!",
    "äöüÄÖÜßéèêçñåøæœÆØŒłŁđĐþðıİ",
    "абвгдежзийклмнопрстуфхцчшщъыьэюяЖЩ",
    "αβγδεζηθικλμνξοπρστυφχψωΑΥΕΙΟΥ",
    "日本語中文한국어",
    "½Ⅻﬁﬂ™©®€£",
]


def app_name(rng: random.Random) -> str:
    words = []
    for _ in range(rng.randint(1, 3)):
        alphabet = rng.choice(_SCRIPTS)
        words.append("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 8))))
    name = rng.choice([" ", "-", "_", ""]).join(words)
    return name.strip() or "x"


def text(rng: random.Random, n: int = 12) -> str:
    alphabet = string.ascii_letters + string.digits + ":/_-. {}é€😀\\\"'"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, n)))


def numeric_string(rng: random.Random) -> str:
    """PHP numeric and almost-numeric strings, including ones that overflow to INF."""
    ws = lambda: rng.choice(["", "", " ", "\t", "\n", "\r", "\v", "\f"])  # noqa: E731
    digits = "".join(rng.choice(string.digits) for _ in range(rng.randint(1, 20)))
    body = rng.choice(
        [
            digits,
            digits + "." + digits[::-1],
            "." + digits,
            digits + ".",
            f"{digits}e{rng.choice(['', '+', '-'])}{rng.randint(0, 400)}",
            f"{digits}E{rng.randint(290, 330)}",
            "9" * rng.randint(300, 320),
            "0x1A",
            "1_000",
            "1e",
            "e5",
            "--1",
            "INF",
            "nan",
            "1.2.3",
        ]
    )
    return ws() + rng.choice(["", "", "+", "-"]) + body + ws()


def php_float(rng: random.Random) -> float:
    return rng.choice(
        [
            rng.uniform(-1e6, 1e6),
            rng.random() * 10.0 ** rng.randint(-320, 307),
            -(rng.random() * 10.0 ** rng.randint(-20, 20)),
            float(rng.randint(-(10**15), 10**15)),
            0.1 * rng.randint(1, 9) + 0.2,
            -0.0,
            math.inf,
            -math.inf,
            math.nan,
            5e-324,
            1.7976931348623157e308,
        ]
    )


def php_value(rng: random.Random, depth: int = 0, *, text_only: bool = False) -> Any:
    """A PHP value; ``text_only``: no binary (non-UTF-8) strings anywhere."""
    kind = rng.randint(0, 9 if depth < 2 else 6)
    if text_only and kind == 6:
        kind = 3
    if kind == 0:
        return rng.randint(-(2**63), 2**63 - 1)
    if kind == 1:
        return php_float(rng)
    if kind == 2:
        return numeric_string(rng)
    if kind == 3:
        return text(rng)
    if kind == 4:
        return rng.choice([None, True, False])
    if kind == 5:
        return rng.randint(-1000, 1000)
    if kind == 6:
        return bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 8)))
    if kind == 7:
        return [
            php_value(rng, depth + 1, text_only=text_only)
            for _ in range(rng.randint(0, 4))
        ]
    return {
        text(rng, 6) or "k": php_value(rng, depth + 1, text_only=text_only)
        for _ in range(rng.randint(0, 4))
    }


def app_key(rng: random.Random, cipher: str = "aes-256-cbc") -> tuple[str, bytes]:
    raw = bytes(rng.getrandbits(8) for _ in range(16 if "128" in cipher else 32))
    return "base64:" + base64.b64encode(raw).decode(), raw


def config(version: str, env: dict[str, str] | None = None, **kw: Any) -> LaravelConfig:
    return LaravelConfig.from_mapping(env or {}, laravel_version=version, **kw)


ALL_MAJORS = ["8.83", "9.52", "10.50", "11.56", "12.67", "13.26"]


# ======================================================================= rows 1, 2, 5


@pytest.mark.parametrize("version", ALL_MAJORS)
@pytest.mark.php
@pytest.mark.laravel
def test_row01_02_05_skeleton_defaults_from_app_name(version: str) -> None:
    """REDIS_PREFIX, CACHE_PREFIX and SESSION_COOKIE defaults of each skeleton, for
    generated APP_NAMEs (Str::slug computed by PHP, incl. ß, Cyrillic, Greek, CJK)."""
    rng = random.Random(f"row01-{version}")
    names = [app_name(rng) for _ in range(60)] + ["Laravel", "My App", "App@Home"]
    slugs = php_peer([{"op": "slug", "v": n} for n in names])
    major = LaravelVersion.parse(version).major
    for name, (under, dash) in zip(names, slugs, strict=True):
        assert (slug(name, "_"), slug(name)) == (under, dash), name
        cfg = config(version, {"APP_NAME": name})
        if major >= 12:  # skeleton >= v12.3.0 (prefixes from v12.1.0) and 13.x
            expected = (f"{dash}-database-", f"{dash}-cache-", f"{dash}-session")
        else:
            cache = f"{under}_cache" if major == 8 else f"{under}_cache_"
            expected = (f"{under}_database_", cache, f"{under}_session")
        got = (cfg.redis_prefix, cfg.cache_prefix, cfg.session_cookie)
        assert got == expected, name
        assert cfg.connection("default").prefix == expected[0]
        assert cfg.connection("cache").prefix == expected[0]
        if major == 12:  # an app created before skeleton v12.1.0 keeps the old names
            old = config(
                version, {"APP_NAME": name, "NINJA_PREFIX_STYLE": "underscore"}
            )
            assert (old.redis_prefix, old.cache_prefix, old.session_cookie) == (
                f"{under}_database_",
                f"{under}_cache_",
                f"{under}_session",
            )


@pytest.mark.parametrize("version", ALL_MAJORS)
def test_row01_02_05_env_values_win_and_empty_app_name(version: str) -> None:
    rng = random.Random(f"row01env-{version}")
    for _ in range(20):
        p, c, s = text(rng), text(rng), text(rng) or "c"
        cfg = config(
            version, {"REDIS_PREFIX": p, "CACHE_PREFIX": c, "SESSION_COOKIE": s}
        )
        assert (cfg.redis_prefix, cfg.cache_prefix, cfg.session_cookie) == (p, c, s)
        assert cfg.connection("default").prefix == p
    # env('APP_NAME', 'laravel'): the default only when APP_NAME is missing
    major = LaravelVersion.parse(version).major
    for env in ({"APP_NAME": ""}, {"APP_NAME": "null"}):
        cfg = config(version, env)
        if major >= 12:
            assert (cfg.redis_prefix, cfg.cache_prefix, cfg.session_cookie) == (
                "-database-",
                "-cache-",
                "-session",
            )
        else:
            assert cfg.redis_prefix == "_database_"
            assert cfg.cache_prefix == ("_cache" if major == 8 else "_cache_")
    assert config(version).redis_prefix.startswith("laravel")


# ============================================================================ row 3/4


@pytest.mark.parametrize("version", ["8.83", "9.52", "10.50", "11.0", "11.56", "12.67"])
@pytest.mark.php
@pytest.mark.laravel
def test_row03_04_colon_after_cache_prefix(version: str) -> None:
    """8.x-10.x RedisStore::setPrefix(): ``! empty($p) ? $p.':' : ''`` (so "0" means
    none); 11.0+ verbatim. Item key = ⟨P⟩⟨C⟩key for generated keys."""
    rng = random.Random(f"row03-{version}")
    prefixes = ["", "0", "00", " ", "0.0"] + [text(rng) for _ in range(30)]
    expected8 = php_peer([{"op": "cache_prefix_8", "v": p} for p in prefixes])
    legacy = LaravelVersion.parse(version) < (11, 0)
    for cp, exp8 in zip(prefixes, expected8, strict=True):
        p = text(rng)
        cfg = config(version, cache_prefix=cp, redis_prefix=p)
        c = exp8 if legacy else cp
        assert cfg.effective_cache_prefix == c
        keys = KeySpace(cfg)
        key = text(rng) or "k"
        assert keys.cache(key) == (p + c + key).encode()
        assert keys.lock(key) == (p + c + key).encode()
        assert keys.session("A" * 40) == (p + c + "A" * 40).encode()


# ============================================================================== row 5/21


@pytest.mark.parametrize("version", ["8.83", "10.50", "11.0", "12.67", "13.0"])
@pytest.mark.php
@pytest.mark.laravel
def test_row05_21_cookie_value_prefix(version: str) -> None:
    """The ``hex(HMAC-SHA1(name.'v2'))|`` prefix for generated cookie names and keys
    (PHP's hash_hmac), and that a cookie for the app's session cookie name decrypts."""
    rng = random.Random(f"row21-{version}")
    cases, ours = [], []
    for _ in range(30):
        key_text, raw = app_key(rng)
        name = rng.choice(
            [config(version, {"APP_NAME": app_name(rng)}).session_cookie, text(rng)]
        )
        cases.append(
            {
                "op": "hmac",
                "algo": "sha1",
                "data": base64.b64encode((name + "v2").encode()).decode(),
                "key": base64.b64encode(raw).decode(),
            }
        )
        ours.append(cookie_prefix(name, raw))
    assert [h + "|" for h in php_peer(cases)] == ours


# ============================================================================== row 6


@pytest.mark.parametrize("version", ["8.83", "9.52", "10.0", "12.67"])
def test_row06_tag_key_layout(version: str) -> None:
    """10.0+: namespace = sha1 of "tag:NAME:entries|…"; 8/9: sha1 of the tag ids."""
    rng = random.Random(f"row06-{version}")
    cfg = config(version, redis_prefix=text(rng), cache_prefix=text(rng) or "c")
    keys = KeySpace(cfg)
    head = cfg.redis_prefix + cfg.effective_cache_prefix
    for _ in range(20):
        names = [text(rng, 6) or "t" for _ in range(rng.randint(1, 3))]
        key = text(rng) or "k"
        ns = hashlib.sha1(
            "|".join(f"tag:{n}:entries" for n in names).encode()
        ).hexdigest()
        assert keys.tagged(names, key) == f"{head}{ns}:{key}".encode()
        assert keys.tag_entries(names[0]) == f"{head}tag:{names[0]}:entries".encode()
        ids = [str(rng.randint(10**21, 10**22 - 1)).encode() for _ in names]
        legacy_ns = hashlib.sha1(b"|".join(ids)).hexdigest()
        assert keys.legacy_tagged(ids, key) == f"{head}{legacy_ns}:{key}".encode()
        # 8/9 reference-set member: the item key with ⟨C⟩, without ⟨P⟩
        assert keys.legacy_ref_member(ids, key) == (
            f"{cfg.effective_cache_prefix}{legacy_ns}:{key}".encode()
        )


@pytest.mark.parametrize("version", ["12.40", "12.41", "13.0"])
def test_row06_tag_flush_prefix_escape_12_41(version: str) -> None:
    """ARGV[1] of the 12.30+ Lua flush: ⟨P⟩⟨C⟩, with ``-`` escaped as ``%-`` from
    12.41 (laravel/framework#57927); 12.30-12.40 send it unescaped."""
    rng = random.Random(f"row06f-{version}")
    for _ in range(20):
        cfg = config(version, {"APP_NAME": app_name(rng)}, redis_prefix=text(rng))
        head = (cfg.redis_prefix + cfg.effective_cache_prefix).encode()
        got = KeySpace(cfg).tag_flush_prefix_pattern()
        if LaravelVersion.parse(version) >= (12, 41):
            assert got == head.replace(b"-", b"%-")
        else:
            assert got == head


# ============================================================================== row 7


@pytest.mark.parametrize("version", ["8.83", "12.28", "12.29", "13.26"])
@pytest.mark.php
@pytest.mark.laravel
def test_row07_raw_numeric_values(version: str) -> None:
    """RedisStore::serialize(): numbers raw (PHP string cast), everything else
    serialize(); 8.x-12.28 ``is_numeric && !INF && !NaN``, 12.29+ ``is_numeric &&
    is_finite``: both computed by PHP for generated values (incl. "1e999")."""
    rng = random.Random(f"row07-{version}")
    values: list[Any] = [numeric_string(rng) for _ in range(150)]
    values += [php_float(rng) for _ in range(100)]
    values += [php_value(rng) for _ in range(100)]
    values += ["1e999", "-1e999", " 1e400 ", "9" * 400, "1e308", "0x1A", ""]
    expected = php_peer([{"op": "store", "v": enc(v)} for v in values])
    codec = LaravelCacheCodec(tuple(map(int, version.split("."))))  # type: ignore[arg-type]
    col = 1 if LaravelVersion.parse(version) >= (12, 29) else 0
    for value, exp in zip(values, expected, strict=True):
        assert exp[0] == exp[1], value  # the two rules agree on every value
        assert codec.dumps(value) == unb64(exp[col]), value
        if isinstance(value, (str, bytes)) or value is None:
            continue
        # numbers read back as the numeric string Laravel returns
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if isinstance(value, int) or math.isfinite(value):
                assert codec.loads(unb64(exp[col])) == unb64(exp[col]).decode()


# ============================================================================== row 8


@pytest.mark.parametrize("version", ["10.50", "11.38", "11.39", "12.67"])
@pytest.mark.parametrize("serializer", ["php", "igbinary"])
@pytest.mark.php
@pytest.mark.laravel
def test_row08_phpredis_serializer(version: str, serializer: str) -> None:
    """<= 11.38: Laravel serializes, then phpredis serializes again (numbers packed
    as PHP numbers); add() stores the plain encoding (EVAL args are not packed).
    11.39+: only phpredis serializes, add() packs like put()."""
    rng = random.Random(f"row08-{version}-{serializer}")
    values: list[Any] = [php_value(rng) for _ in range(120)]
    values += [numeric_string(rng) for _ in range(40)]
    expected = php_peer([{"op": "packed", "v": enc(v)} for v in values])
    ver = tuple(map(int, version.split(".")))
    codec = LaravelCacheCodec(ver, serializer=serializer)  # type: ignore[arg-type]
    new = ver >= (11, 39)
    for value, (php_old, php_new, ig_old, ig_new, plain) in zip(
        values, expected, strict=True
    ):
        old_b, new_b = (php_old, php_new) if serializer == "php" else (ig_old, ig_new)
        stored = unb64(new_b if new else old_b)
        assert codec.dumps(value) == stored, value
        assert codec.dumps_for_add(value) == (stored if new else unb64(plain)), value


# ============================================================================== row 9


@pytest.mark.parametrize("version", ["12.52", "12.53", "13.0"])
@pytest.mark.php
@pytest.mark.laravel
def test_row09_serializable_classes(version: str) -> None:
    """cache.serializable_classes is the unserialize() allow-list from 12.53 on (PHP's
    unserialize() with allowed_classes decides); 12.52 and older revive every class
    whatever the config says."""
    rng = random.Random(f"row09-{version}")
    ver = tuple(map(int, version.split(".")))
    cases, checks = [], []
    for allowed in (False, ["App\\Allowed"], True):
        codec = LaravelCacheCodec(ver, allowed_classes=allowed)  # type: ignore[arg-type]
        for _ in range(8):
            props = {
                text(rng, 5) or "p": php_value(rng, text_only=True) for _ in range(3)
            }
            for cls in ("App\\Allowed", f"App\\X{rng.randint(1, 99)}"):
                data = php.dumps(PhpObject(cls, props))
                cases.append(
                    {
                        "op": "revived",
                        "v": base64.b64encode(data).decode(),
                        "allowed": allowed,
                        "define": cls,
                    }
                )
                checks.append((codec, data, cls))
    for (codec, data, cls), php_class in zip(checks, php_peer(cases), strict=True):
        value = codec.loads(data)
        revived = php_class == cls if ver >= (12, 53) else True
        assert (type(value) is PhpObject) == revived, (cls, php_class)
        if revived:
            assert value.class_name == cls
        else:
            assert php_class == "__PHP_Incomplete_Class"
            assert type(value).__name__ == "PhpIncompleteClass"


# ================================================================ rows 12, 13, 14, 15


def _job(rng: random.Random, **kw: Any) -> PhpJob:
    props = {f"p{i}": php_value(rng, text_only=True) for i in range(3)}
    return PhpJob(
        f"App\\Jobs\\J{rng.randint(1, 10**6)}",
        props,
        tries=rng.choice([None, rng.randint(1, 9)]),
        timeout=rng.choice([None, rng.randint(1, 300)]),
        backoff=rng.choice([None, rng.randint(1, 60), [1, 5, 10]]),
        **kw,
    )


def _payload_keys(version: str, job: PhpJob | str, data: Any = "") -> list[Any]:
    raw = PayloadBuilder(tuple(map(int, version.split(".")))).build(  # type: ignore[arg-type]
        job, data, delay=None
    )
    decoded = json.loads(raw)
    return [list(decoded), list(decoded["data"]) if isinstance(job, PhpJob) else None]


_OBJECT_FIELDS = [
    "uuid",
    "displayName",
    "job",
    "maxTries",
    "maxExceptions",
    "failOnTimeout",
    "backoff",
    "timeout",
    "retryUntil",
    "data",
    "id",
    "attempts",
]


@pytest.mark.parametrize("version", ["11.56", "12.10", "12.11", "12.50", "12.51"])
@pytest.mark.php
@pytest.mark.laravel
def test_row12_13_payload_fields(version: str) -> None:
    """12.11+: ``createdAt`` after ``data``, ``delay`` last; 12.51+: ``data.batchId``.
    Every payload is what PHP's json_encode(JSON_UNESCAPED_UNICODE) writes for it."""
    rng = random.Random(f"row12-{version}")
    ver = LaravelVersion.parse(version)
    builder = PayloadBuilder((ver.major, ver.minor))
    raws: list[bytes] = []
    for i in range(40):
        batch = rng.choice([None, f"{rng.getrandbits(64):x}"])
        job = _job(rng, batch_id=batch)
        delay = rng.choice([None, rng.randint(1, 3600)])
        raw = builder.build(job, delay=delay)
        raws.append(raw)
        decoded = json.loads(raw)
        fields = list(_OBJECT_FIELDS)
        if ver >= (12, 11):
            fields.insert(fields.index("data") + 1, "createdAt")
            fields.append("delay")
            assert decoded["delay"] == delay
            assert isinstance(decoded["createdAt"], int)
        assert list(decoded) == fields
        data_keys = ["commandName", "command"] + (
            ["batchId"] if ver >= (12, 51) else []
        )
        assert list(decoded["data"]) == data_keys
        if ver >= (12, 51):
            assert decoded["data"]["batchId"] == batch
        # string jobs: no retryUntil, no data.batchId
        s = builder.build(f"App\\Handlers\\H{i}@handle", {"n": i}, delay=delay)
        raws.append(s)
        skeys = list(json.loads(s))
        assert ("createdAt" in skeys) == ("delay" in skeys) == (ver >= (12, 11))
        assert "retryUntil" not in skeys
    again = php_peer(
        [{"op": "reencode", "v": base64.b64encode(r).decode()} for r in raws]
    )
    assert [unb64(a) for a in again] == raws


@pytest.mark.parametrize("version", ["12.67", "13.0", "13.26"])
def test_row14_delete_when_missing_models(version: str) -> None:
    rng = random.Random(f"row14-{version}")
    thirteen = LaravelVersion.parse(version) >= (13, 0)
    for _ in range(20):
        flag = rng.choice([None, True, False])
        keys, _ = _payload_keys(version, _job(rng, delete_when_missing_models=flag))
        if thirteen:
            assert keys[keys.index("retryUntil") + 1] == "deleteWhenMissingModels"
            assert keys[keys.index("deleteWhenMissingModels") + 1] == "data"
            raw = PayloadBuilder((13, 0)).build(
                _job(rng, delete_when_missing_models=flag)
            )
            assert json.loads(raw)["deleteWhenMissingModels"] is bool(flag)
        else:
            assert "deleteWhenMissingModels" not in keys


@pytest.mark.parametrize("version", ["10.50", "11.0", "12.67"])
def test_row15_log_context_only_from_php(version: str) -> None:
    """``illuminate:log:context`` (11.0+) is only added by PHP when its Context is not
    empty: payloads built here never carry it, and PHP payloads that do parse."""
    rng = random.Random(f"row15-{version}")
    ver = LaravelVersion.parse(version)
    builder = PayloadBuilder((ver.major, ver.minor))
    for _ in range(10):
        raw = builder.build(_job(rng))
        assert b"illuminate:log:context" not in raw
        decoded = json.loads(raw)
        ctx = {
            "data": {text(rng, 5) or "k": php.dumps(text(rng)).decode()},
            "hidden": {},
        }
        items = list(decoded.items())
        at = [k for k, _ in items].index("id")
        items.insert(at, ("illuminate:log:context", ctx))
        with_ctx = json.dumps(dict(items), ensure_ascii=False).encode()
        parsed = parse_payload(with_ctx)
        assert parsed.payload["illuminate:log:context"] == ctx
        assert parsed.id == decoded["id"]


# ============================================================================== row 18


@pytest.mark.parametrize("version", ["12.67", "13.0"])
@pytest.mark.parametrize("cluster", [False, True])
@pytest.mark.php
@pytest.mark.laravel
def test_row18_cluster_queue_keys(version: str, cluster: bool) -> None:
    """13.x on a cluster wraps the queue name in ``{}`` unless it already has a hash
    tag (Connection::hasHashTag, run by PHP for generated names like ``a{}b{c}``)."""
    rng = random.Random(f"row18-{version}-{cluster}")
    names = ["default", "{x}", "a{}b", "a{}b{c}", "{}", "}{", "{a", "a}b{c}d"]
    names += [
        "".join(rng.choice("ab{}:") for _ in range(rng.randint(1, 7)))
        for _ in range(60)
    ]
    tagged = php_peer([{"op": "has_hash_tag", "v": n} for n in names])
    p = text(rng)
    keys = KeySpace(config(version, redis_prefix=p, cluster=cluster))
    wrap = cluster and LaravelVersion.parse(version) >= (13, 0)
    for name, has_tag in zip(names, tagged, strict=True):
        base = "{" + name + "}" if wrap and not has_tag else name
        q = keys.queue(name)
        assert q.ready == f"{p}queues:{base}".encode(), name
        assert q.delayed == f"{p}queues:{base}:delayed".encode()
        assert q.reserved == f"{p}queues:{base}:reserved".encode()
        assert q.notify == f"{p}queues:{base}:notify".encode()


# ============================================================================== row 19


@pytest.mark.parametrize(
    "version", ["10.50", "11.0", "12.40", "12.41", "12.53", "12.54", "13.0"]
)
@pytest.mark.php
@pytest.mark.laravel
def test_row19_unique_job_lock_key(version: str) -> None:
    """``laravel_unique_job:`` + job name + (11.0+) ``:`` + uniqueId; the job name is
    the class, or when the job defines displayName(): 12.41-12.53 its value,
    12.54+ xxh128 of it (PHP's hash('xxh128'))."""
    rng = random.Random(f"row19-{version}")
    ver = LaravelVersion.parse(version)
    jobs = []
    for _ in range(30):
        display = rng.choice([None, text(rng), app_name(rng)])
        uid = rng.choice([None, text(rng), rng.randint(-999, 10**12)])
        jobs.append(
            PhpJob(
                f"App\\Jobs\\U{rng.randint(1, 999)}",
                display_name=display,
                unique_id=uid,
            )
        )
    hashes = php_peer(
        [
            {
                "op": "xxh128",
                "v": base64.b64encode((j.display_name or "").encode()).decode(),
            }
            for j in jobs
        ]
    )
    p, c = text(rng), text(rng) or "c"
    cfg = config(version, redis_prefix=p, cache_prefix=c)
    keys = KeySpace(cfg)
    for job, xxh in zip(jobs, hashes, strict=True):
        if job.display_name is None or ver < (12, 41):
            name = job.class_name
        elif ver < (12, 54):
            name = job.display_name
        else:
            name = xxh
        uid = "" if job.unique_id is None else str(job.unique_id)
        sep = ":" if ver >= (11, 0) else ""
        assert unique_lock_name(job, ver) == (name, uid)
        expected = f"{p}{cfg.effective_cache_prefix}laravel_unique_job:{name}{sep}{uid}"
        assert keys.unique_job_lock(*unique_lock_name(job, ver)) == expected.encode()


# ============================================================================== row 20


@pytest.mark.parametrize("version", ["10.50", "11.0", "12.67"])
@pytest.mark.parametrize("cipher", ["aes-256-cbc", "aes-128-gcm"])
@pytest.mark.php
@pytest.mark.laravel
def test_row20_previous_keys(version: str, cipher: str) -> None:
    """APP_PREVIOUS_KEYS (11.0+): a cookie made by PHP's Encrypter with an old key is
    accepted; Laravel 10 does not read the variable, so the cookie is rejected."""
    rng = random.Random(f"row20-{version}-{cipher}")
    cases, apps, ids = [], [], []
    for _ in range(8):
        cur_text, _ = app_key(rng, cipher)
        olds = [app_key(rng, cipher) for _ in range(rng.randint(1, 3))]
        old_text, old_raw = rng.choice(olds)
        env = {
            "APP_KEY": cur_text,
            "APP_CIPHER": cipher,
            "APP_PREVIOUS_KEYS": ",".join(t for t, _ in olds),
            "APP_NAME": app_name(rng),
        }
        app = Laravel.from_mapping(env, laravel_version=version)
        sid = "".join(
            rng.choice(string.ascii_letters + string.digits) for _ in range(40)
        )
        cases.append(
            {
                "op": "cookie",
                "key": base64.b64encode(old_raw).decode(),
                "cipher": cipher,
                "name": app.config.session_cookie,
                "value": sid,
            }
        )
        apps.append(app)
        ids.append(sid)
    accepted = LaravelVersion.parse(version) >= (11, 0)
    for app, sid, cookie in zip(apps, ids, php_peer(cases), strict=True):
        n_keys = len(app.encrypter.all_keys)
        assert (n_keys > 1) if accepted else (n_keys == 1)
        got = app.sessions.session_id_from_cookie(cookie)
        assert got == (sid if accepted else None)
        # the current key always works
        mine = app.cookies.encrypt(app.config.session_cookie, sid)
        assert app.sessions.session_id_from_cookie(mine) == sid


# ============================================================================== row 22


@pytest.mark.parametrize("version", ["8.83", "9.0", "12.67"])
@pytest.mark.parametrize("serialization", ["php", "json"])
@pytest.mark.php
@pytest.mark.laravel
def test_row22_session_serialization(version: str, serialization: str) -> None:
    """``session.serialization = json`` (9.0+; 8.x ignores it and writes serialize()):
    the stored value is PHP serialize() of the blob PHP makes from the attributes."""
    rng = random.Random(f"row22-{version}-{serialization}")
    app = Laravel.from_url(
        "redis://127.0.0.1:1/0",
        laravel_version=version,
        session_serialization=serialization,
    )
    json_mode = serialization == "json" and LaravelVersion.parse(version) >= (9, 0)
    sessions, cases = [], []
    for _ in range(20):
        attrs: dict[str, Any] = {"_token": text(rng, 40) or "t"}
        for _ in range(rng.randint(0, 4)):
            value = php_value(rng)
            if json_mode and not _json_safe(value):
                continue
            attrs[text(rng, 8) or "k"] = value
        session = Session("A" * 40, attrs)
        sessions.append(session)
        cases.append({"op": "session_blob", "v": enc(attrs), "json": json_mode})
    for session, exp in zip(sessions, php_peer(cases), strict=True):
        assert app.sessions.encode(session) == unb64(exp)


def _json_safe(value: Any) -> bool:
    """Values json_encode() writes (UTF-8 strings, finite floats) and that keep their
    shape through Python's dict (no int-like string keys)."""
    if isinstance(value, bytes):
        return False
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, list):
        return all(map(_json_safe, value))
    if isinstance(value, dict):
        return all(
            _json_safe(k) and not k.lstrip("-").isdigit() and _json_safe(v)
            for k, v in value.items()
        )
    return True


# ============================================================================== row 23


def _php_job_code(cls: str, props: list[tuple[str, str, Any]], m94: bool) -> str:
    """A PHP job class (8.83 InteractsWithQueue + Queueable) with ``props``; with
    ``m94`` it serializes like SerializesModels 9.4+ (defaults left out)."""
    ns, short = cls.rsplit("\\", 1)
    decls = "\n".join(
        f"    {vis} ${name} = {_php_literal(default)};" for vis, name, default in props
    )
    trait = "M94" if m94 else "\\Illuminate\\Queue\\SerializesModels"
    m94_code = (
        """
if (! trait_exists(M94::class, false)) { trait M94 {
    public function __serialize() {
        $values = [];
        $class = get_class($this);
        foreach ((new \\ReflectionClass($this))->getProperties() as $property) {
            if ($property->isStatic()) continue;
            $property->setAccessible(true);
            if (! $property->isInitialized($this)) continue;
            $value = $property->getValue($this);
            if ($property->hasDefaultValue() && $value === $property->getDefaultValue()) continue;
            $name = $property->getName();
            if ($property->isPrivate()) $name = "\\0{$class}\\0{$name}";
            elseif ($property->isProtected()) $name = "\\0*\\0{$name}";
            $values[$name] = $value;
        }
        return $values;
    }
} }
"""
        if m94
        else ""
    )
    return (
        f"namespace {ns};\n{m94_code}\nclass {short} {{\n"
        "    use \\Illuminate\\Queue\\InteractsWithQueue, \\Illuminate\\Bus\\Queueable, "
        f"{trait};\n{decls}\n}}\n"
    )


def _php_literal(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    raise TypeError(value)


@pytest.mark.parametrize("version", ["8.83", "9.3", "9.4", "10.50"])
@pytest.mark.php
@pytest.mark.laravel
def test_row23_serializes_models_omits_defaults(version: str) -> None:
    """9.4+: SerializesModels leaves out properties === their declared default; 8.x
    and 9.0-9.3 write every property. Compared with PHP serialize() of a real class
    (8.83 traits; the 9.4 __serialize rule reproduced in the peer)."""
    rng = random.Random(f"row23-{version}")
    ver = LaravelVersion.parse(version)
    m94 = ver >= (9, 4)
    assert ver < (11, 0)  # 8.83's Queueable: the 8.x-10.x property order
    cases, jobs = [], []
    for n in range(25):
        cls = f"App\\Jobs\\Gen{n}x{rng.randint(1, 10**6)}"
        props: list[tuple[str, str, Any]] = []
        values: dict[str, Any] = {}
        sets: list[list[Any]] = []
        for i in range(rng.randint(1, 5)):
            vis = rng.choice(["public", "protected", "private"])
            name = f"f{i}{rng.choice(['', 'a', 'Id', 'x_y'])}"
            default = rng.choice([None, 0, rng.randint(1, 50), "", text(rng, 6), False])
            value = (
                default
                if rng.random() < 0.5
                else rng.choice([rng.randint(-50, 50), text(rng, 6), None, True])
            )
            props.append((vis, name, default))
            values[name] = Prop(value, vis, default)  # type: ignore[arg-type]
            sets.append([name, enc(value)])
        tries = rng.choice([None, rng.randint(1, 5)])
        if tries is not None:  # `public $tries = N;` declared first, left as is
            props.insert(0, ("public", "tries", tries))
        cases.append(
            {
                "op": "job",
                "code": _php_job_code(cls, props, m94),
                "class": cls,
                "set": sets,
            }
        )
        jobs.append(PhpJob(cls, values, tries=tries))
    for job, exp in zip(jobs, php_peer(cases), strict=True):
        assert serialize_command(job, ver) == unb64(exp)


# ========================================================= 9.26 boundary: ModelIdentifier


@pytest.mark.parametrize("version", ["8.83", "9.25", "9.26", "12.67"])
@pytest.mark.php
@pytest.mark.laravel
def test_boundary_9_26_model_identifier(version: str) -> None:
    """SerializesModels' ModelIdentifier: class, id, relations, connection (Laravel
    8.83's own class), plus ``collectionClass`` from 9.26."""
    rng = random.Random(f"mi-{version}")
    ver = LaravelVersion.parse(version)
    cases, ours = [], []
    for _ in range(20):
        ident = ModelIdentifier(
            f"App\\Models\\M{rng.randint(1, 99)}",
            rng.choice(
                [rng.randint(1, 10**9), text(rng, 10), [1, 2, rng.randint(3, 9)]]
            ),
            [text(rng, 6) or "rel" for _ in range(rng.randint(0, 2))],
            rng.choice([None, "mysql", text(rng, 5)]),
            rng.choice([None, "App\\Support\\Coll"]),
        )
        cases.append(
            {
                "op": "model_identifier",
                "class": ident.class_name,
                "id": enc(ident.id),
                "relations": list(ident.relations),
                "connection": ident.connection,
                "collection": ver >= (9, 26),
                "collection_class": ident.collection_class,
            }
        )
        ours.append(php.dumps(ident.to_php(ver)))
    assert [unb64(e) for e in php_peer(cases)] == ours


# ============================================================================== row 24


@pytest.mark.parametrize("version", ["8.83", "9.5", "9.6", "12.67"])
@pytest.mark.parametrize("client", ["phpredis", "predis"])
def test_row24_acl_username(version: str, client: str) -> None:
    """PhpRedisConnector sends ``AUTH username password`` from 9.6; before, the
    password only (REDIS_USERNAME and a REDIS_URL user are not used)."""
    rng = random.Random(f"row24-{version}-{client}")
    ver = LaravelVersion.parse(version)
    for _ in range(10):
        user = "".join(rng.choice(string.ascii_lowercase) for _ in range(6))
        pw = "".join(rng.choice(string.ascii_letters) for _ in range(10))
        envs = [
            {"REDIS_USERNAME": user, "REDIS_PASSWORD": pw},
            {"REDIS_URL": f"redis://{user}:{pw}@h.example:6390/2"},
            {"REDIS_URL": f"redis://h.example?username={user}&password={pw}"},
        ]
        for env in envs:
            env["REDIS_CLIENT"] = client
            cfg = config(version, env)
            for name in ("default", "cache"):
                conn = cfg.connection(name)
                assert conn.password == pw
                if ver >= (9, 6):
                    assert conn.username == user
                elif "REDIS_URL" in env and client == "predis":
                    assert conn.username == user  # predis reads the URL user itself
                else:
                    assert conn.username is None
        # an explicit override is the caller's choice on every version
        assert (
            config(version, redis_username=user).connection("default").username == user
        )


# ============================================================================== row 25


@pytest.mark.parametrize("version", ["12.44", "12.45", "13.0"])
@pytest.mark.php
@pytest.mark.laravel
def test_row25_password_hash_in_session(version: str) -> None:
    """``password_hash_{guard}``: the raw hash up to 12.44; 12.45+ hex HMAC-SHA256
    keyed with the literal app.key string (PHP's hash_hmac), raw still accepted."""
    rng = random.Random(f"row25-{version}")
    ver = LaravelVersion.parse(version)
    cases, items = [], []
    for _ in range(20):
        key_text, _ = app_key(rng)
        key_text = rng.choice([key_text, text(rng, 32) or "k"])
        pw_hash = "$2y$10$" + "".join(
            rng.choice(string.ascii_letters + string.digits + "./") for _ in range(53)
        )
        guard = rng.choice(
            ["web", "admin", "".join(rng.sample(string.ascii_letters, 5))]
        )
        cases.append(
            {
                "op": "hmac",
                "algo": "sha256",
                "data": base64.b64encode(pw_hash.encode()).decode(),
                "key": base64.b64encode(key_text.encode()).decode(),
            }
        )
        items.append((key_text, pw_hash, guard))
    for (key_text, pw_hash, guard), mac in zip(items, php_peer(cases), strict=True):
        assert password_hash_mac(pw_hash, key_text) == mac
        app = Laravel.from_url(
            "redis://127.0.0.1:1/0", laravel_version=version, app_key=key_text
        )
        session = Session("A" * 40)
        app.sessions.set_password_hash(session, pw_hash, guard)
        stored = session[f"password_hash_{guard}"]
        assert stored == (mac if ver >= (12, 45) else pw_hash)
        assert app.sessions.password_hash_matches(session, pw_hash, guard)
        # the other form: 12.45+ still accepts the raw hash; older ones never a MAC
        other = Session(
            "B" * 40, {f"password_hash_{guard}": pw_hash if ver >= (12, 45) else mac}
        )
        assert app.sessions.password_hash_matches(other, pw_hash, guard) == (
            ver >= (12, 45)
        )
        wrong = Session("C" * 40, {f"password_hash_{guard}": pw_hash + "x"})
        assert not app.sessions.password_hash_matches(wrong, pw_hash, guard)


# ========================================================= 11.0 boundary: TTL rounding


@pytest.mark.parametrize("version", ["10.50", "11.0"])
def test_boundary_11_0_datetime_ttl(version: str) -> None:
    """A timedelta/DateTime TTL: truncated seconds before 11.0 (diffInRealSeconds),
    rounded up to the next second from 11.0 (ceil(ms / 1000))."""
    from datetime import timedelta

    from ninja_redis._async.cache import ttl_seconds

    rng = random.Random(f"ttl-{version}")
    ver = tuple(map(int, version.split(".")))
    for _ in range(50):
        ms = rng.randint(1, 10**7)
        got = ttl_seconds(timedelta(milliseconds=ms), ver)  # type: ignore[arg-type]
        assert got == (math.ceil(ms / 1000) if ver >= (11, 0) else ms // 1000)
        assert ttl_seconds(rng.randint(-5, 10**6), ver) >= 0  # type: ignore[operator,arg-type]
