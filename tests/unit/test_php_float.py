"""Float formatting against real PHP: a few thousand doubles through one php process."""

from __future__ import annotations

import random
import shutil
import struct
import subprocess

import pytest

from ninja_redis.php import _pure

try:
    from ninja_redis.php import _speedups
except ImportError:  # pragma: no cover - CI always builds it
    _speedups = None

PHP = shutil.which("php")


def _doubles() -> list[float]:
    rng = random.Random(20240517)
    out: list[float] = []
    for _ in range(1500):  # any bit pattern (NaN payloads included)
        out.append(struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0])
    for _ in range(1500):  # "human" numbers with few digits
        out.append(round(rng.uniform(-1e6, 1e6), rng.randint(0, 8)))
    for e in range(-30, 31):  # around every switch between the two layouts
        for m in (1.0, 1.5, 9.999999999999998, 1.2345678901234567, 5.0):
            out.append(m * 10.0**e)
            out.append(-m * 10.0**e)
    out += [0.0, -0.0, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308]
    out += [float(2**53), float(2**53 + 2), float(2**63), 0.1 + 0.2, 1 / 3]
    return out


@pytest.mark.php
@pytest.mark.skipif(PHP is None, reason="needs the php binary (Debian php-cli)")
def test_float_format_matches_php() -> None:
    assert PHP is not None
    values = _doubles()
    stdin = b"".join(struct.pack("<d", v) for v in values)
    script = (
        "$in = stream_get_contents(STDIN);"
        "for ($i = 0; $i < strlen($in); $i += 8) {"
        '  echo serialize(unpack("e", substr($in, $i, 8))[1]), "\\n"; }'
    )
    proc = subprocess.run(
        [PHP, "-r", script], input=stdin, capture_output=True, timeout=60, check=True
    )
    expected = proc.stdout.split(b"\n")[:-1]
    assert len(expected) == len(values)
    impls = [_pure] + ([_speedups] if _speedups is not None else [])
    for value, php_bytes in zip(values, expected, strict=True):
        for impl in impls:
            assert impl.dumps(value) == php_bytes, (value, php_bytes)
        back = _pure.loads(php_bytes)
        assert back == value or (back != back and value != value)
