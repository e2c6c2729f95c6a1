"""Live round trips through a real ``php`` binary (PHP 8.1+).

* Python ``dumps`` -> PHP ``unserialize`` -> PHP ``serialize`` gives the same bytes.
* PHP ``serialize`` of a corpus of tricky values -> Python ``loads`` -> ``dumps``
  gives the same bytes, on both implementations.
* Carbon 2 (Debian's php-nesbot-carbon, when installed) matches ``carbon()``.

Values travel base64-encoded, one per line, many per php process.
"""

from __future__ import annotations

import base64
import datetime as dt
import math
import random
import shutil
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ninja_redis.php import (
    PhpEnum,
    PhpObject,
    PhpRef,
    PhpSerializable,
    _pure,
    carbon,
    to_datetime,
)

try:
    from ninja_redis.php import _speedups
except ImportError:  # pragma: no cover - CI always builds it
    _speedups = None

PHP = shutil.which("php")
pytestmark = [
    pytest.mark.php,
    pytest.mark.skipif(PHP is None, reason="needs the php binary (Debian php-cli)"),
]

PRELUDE = r"""<?php
error_reporting(E_ALL & ~E_DEPRECATED);
enum Suit: string { case Hearts = 'h'; case Spades = 's'; }
enum Plain { case One; case Two; }
class Pt { public $x = 1; protected $y = 2; private $z = 3; }
class Child extends Pt { private $z = 'child'; public $w; }
class WithSerialize {
    public $a; private $secret = 's';
    public function __serialize(): array {
        return ['a' => $this->a, 5 => 'five', 'list' => [1, 2]];
    }
    public function __unserialize(array $d): void { $this->a = $d['a']; }
}
class Legacy implements Serializable {
    public $v = 'raw';
    public function serialize() { return $this->v; }
    public function unserialize($d) { $this->v = $d; }
}
"""

ECHO = (
    PRELUDE
    + r"""
while (($line = fgets(STDIN)) !== false) {
    $v = unserialize(base64_decode(trim($line)));
    echo base64_encode(serialize($v)), "\n";
}
"""
)


def run_php(script: str, lines: list[bytes] | None = None) -> list[bytes]:
    assert PHP is not None
    stdin = b"".join(base64.b64encode(x) + b"\n" for x in lines or [])
    proc = subprocess.run(
        [PHP, "-d", "display_errors=stderr", "-r", "?>" + script],
        input=stdin,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    return [base64.b64decode(x) for x in proc.stdout.split()]


@pytest.fixture(params=["python", "c"])
def impl(request: pytest.FixtureRequest) -> ModuleType:
    if request.param == "c":
        if _speedups is None:
            pytest.skip("!!! C accelerator ninja_redis.php._speedups is NOT BUILT !!!")
        return _speedups
    return _pure


def python_corpus() -> list[Any]:
    rng = random.Random(1234)
    shared = PhpObject("stdClass", {"p": 1})
    lst = [1, "x"]
    ref = PhpRef("scalar")
    self_obj = PhpObject("stdClass")
    self_obj.properties["me"] = self_obj
    corpus: list[Any] = [
        None, True, False, 0, -1, 2**63 - 1, -(2**63), "", "é日本😀", b"\xff\x00\"",
        0.1, -0.0, 1e16, 1e17, 1.5e-7, 1e-4, math.inf, -math.inf, 5e-324,
        [], [1, 2, 3], {"1": "a", "01": "b", "-5": "c", True: "t", None: "n", 2.7: "f"},
        {"nested": {"a": [1, {"b": None}]}, "": [[]]},
        PhpObject("Pt", {"x": 10}, protected={"y": 20}, private={"z": 30}),
        # an unknown class stays __PHP_Incomplete_Class and is written back as is
        PhpObject("Unknown\\Cls", {"a": 1, "7": "numeric name"}, protected={"p": 2}),
        PhpEnum("Suit", "Hearts"), PhpEnum("Plain", "Two"),
        [PhpEnum("Suit", "Spades"), PhpEnum("Suit", "Spades"), PhpEnum("Plain", "One")],
        PhpSerializable("Legacy", b"payload"),
        [shared, shared, {"again": shared}],
        [lst, lst, {"k": lst}],
        [ref, ref, "between", ref],
        [PhpRef(shared), PhpRef(shared), shared],
        self_obj,
        PhpObject("WithSerialize", {"a": [1, 2], 5: "five", "list": [1, 2]}),
        carbon(dt.datetime(2024, 5, 17, 10, 30, tzinfo=dt.timezone.utc), "DateTime"),
        carbon(dt.datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=ZoneInfo("Europe/Paris")),
               "DateTimeImmutable"),
        [[[[[[[[[[[[[["deep"]]]]]]]]]]]]]],
    ]  # fmt: skip
    for _ in range(300):
        corpus.append(rng.uniform(-1e6, 1e6))
        corpus.append(10 ** rng.uniform(-30, 30) * rng.choice([1, -1]))
        corpus.append(rng.randint(-(2**63), 2**63 - 1))
    corpus.append({f"k{i}": [i, str(i), i / 7, i % 2 == 0, None] for i in range(200)})
    return corpus


def test_python_dumps_through_php(impl: ModuleType) -> None:
    blobs = [impl.dumps(v) for v in python_corpus()]
    again = run_php(ECHO, blobs)
    assert len(again) == len(blobs)
    bad = [(b, a) for b, a in zip(blobs, again, strict=True) if a != b]
    assert not bad, bad[:3]


PHP_CORPUS = (
    PRELUDE
    + r"""
$out = [];
$o = new stdClass; $o->p = 1;
$out[] = [$o, $o];
$a = [1]; $out[] = [&$a, &$a];
$x = 1; $out[] = [&$x, &$x, $x];
$e = Suit::Hearts; $out[] = [$e, $e, &$e, &$e, Plain::One];
$q = new stdClass; $out[] = [&$q, &$q, $q];
$s = new stdClass; $s->self = $s; $out[] = $s;
$s2 = new stdClass; $s2->self = &$s2; $out[] = $s2;
$aa = [1]; $aa[] = &$aa; $out[] = $aa;
$out[] = new Pt; $out[] = new Child;
$w = new WithSerialize; $w->a = $o; $out[] = [$w, $o, $w];
$out[] = new Legacy;
$out[] = new ArrayObject([1, 2, 'x' => $o]);
$out[] = new DateTime('2024-05-17 10:30:00.5 UTC');
$out[] = new DateTimeImmutable('2024-05-17 10:30:00 EDT');
$out[] = new DateTime('2024-05-17 10:30:00+05:30');
$out[] = new DateTimeZone('Europe/Paris');
$out[] = ['1' => 'x', '01' => 'y', '-5' => 'z', true => 't', 2.5 => 'f', null => 'n'];
$out[] = [0.1 + 0.2, 1e100, -0.0, 1.0, 1e16, 1e17, 1.5e-7, INF, -INF, NAN];
$out[] = [PHP_INT_MAX, PHP_INT_MIN];
$out[] = "a\"b\0c" . "\xff\xfe" . "é";
$gap = array_unique(['posts', 'posts', 'comments']); $out[] = $gap;
$m = new stdClass; $m->class = 'App\\Models\\User'; $m->id = [1, 2];
$out[] = ['model' => $m, 'again' => $m, 'list' => [$m, [$m]]];
$x2 = 'shared'; $arr = ['a' => &$x2, 'b' => [&$x2, 'c' => &$x2]]; $out[] = $arr;
$obj = new stdClass; $obj->arr = [1, 2]; $obj->ref = &$obj->arr; $out[] = $obj;
$nested = []; for ($i = 0; $i < 50; $i++) { $nested = [$nested, $i]; } $out[] = $nested;
$big = [];
for ($i = 0; $i < 300; $i++) { $big["k$i"] = [$i, "v$i", $i / 3, $i % 2 == 0]; }
$out[] = $big;
foreach ($out as $v) { echo base64_encode(serialize($v)), "\n"; }
"""
)


def test_php_corpus_round_trips(impl: ModuleType) -> None:
    blobs = run_php(PHP_CORPUS)
    assert len(blobs) >= 25
    for blob in blobs:
        assert impl.dumps(impl.loads(blob, strict=True)) == blob, blob[:200]


def test_php_reads_back_references() -> None:
    # PHP itself agrees the Python-built references are references
    script = (
        PRELUDE
        + r"""
$v = unserialize(base64_decode(trim(fgets(STDIN))));
$v[0] = 'changed';
echo base64_encode(serialize($v)), "\n";
"""
    )
    ref = PhpRef(1)
    (out,) = run_php(script, [_pure.dumps([ref, ref])])
    assert out == b'a:2:{i:0;s:7:"changed";i:1;R:2;}'


CARBON_DIR = Path("/usr/share/php/Carbon")


@pytest.mark.skipif(
    not (CARBON_DIR / "autoload.php").exists(),
    reason="Debian php-nesbot-carbon (Carbon 2) is not installed",
)
def test_carbon2_matches_real_carbon() -> None:
    cases = [
        ("2024-05-17T10:30:00+00:00", None, dt.timezone.utc),
        ("2024-05-17 10:30:00.123456", "Europe/Paris", ZoneInfo("Europe/Paris")),
        ("1999-12-31 23:59:59", "UTC", ZoneInfo("UTC")),
        ("2024-03-10T02:30:00-05:00", None, dt.timezone(dt.timedelta(hours=-5))),
        ("2030-07-01 00:00:00", "Asia/Kolkata", ZoneInfo("Asia/Kolkata")),
    ]
    script = r"""<?php
require '/usr/share/php/Carbon/autoload.php';
$cases = json_decode(stream_get_contents(STDIN), true);
foreach ($cases as [$s, $tz, $cls]) {
    $c = $tz === null ? $cls::parse($s) : $cls::parse($s, $tz);
    echo base64_encode(serialize($c)), "\n";
}
"""
    import json

    classes = ["Carbon\\Carbon", "Carbon\\CarbonImmutable"]
    payload = [[s, tz, cls] for s, tz, _ in cases for cls in classes]
    assert PHP is not None
    proc = subprocess.run(
        [PHP, "-r", "?>" + script],
        input=json.dumps(payload).encode(),
        capture_output=True,
        timeout=60,
        check=True,
    )
    blobs = [base64.b64decode(x) for x in proc.stdout.split()]
    expected_dts = [
        dt.datetime.fromisoformat(s.replace(" ", "T")).replace(tzinfo=tzinfo)
        if "+" not in s[10:] and "-" not in s[10:]
        else dt.datetime.fromisoformat(s)
        for s, _, tzinfo in cases
        for _cls in classes
    ]
    for blob, (_, _, cls), when in zip(blobs, payload, expected_dts, strict=True):
        assert _pure.dumps(carbon(when, cls, carbon_major=2)) == blob
        loaded = _pure.loads(blob)
        assert to_datetime(loaded) == when
        assert loaded.to_datetime().utcoffset() == when.utcoffset()
