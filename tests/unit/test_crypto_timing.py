"""The CBC MAC is compared in constant time (``hash_equals`` / ``hmac.compare_digest``).

Why three tests and not one: through the whole ``decrypt()`` call the MAC is only
64 hex characters, and a leaky ``==`` (a ``memcmp``) differs by about a nanosecond
between a mismatch on the first and on the last character, far below the noise of
base64 + JSON + HMAC (~10 µs). No end-to-end timing test can see that without being
flaky. So:

1. ``test_mac_check_uses_compare_digest`` checks structurally that ``decrypt_bytes``
   compares MACs only through ``_equal_digests``, which is ``hmac.compare_digest``.
2. ``test_digest_comparison_is_constant_time`` times ``_equal_digests`` itself on
   4 MB inputs, where an early-exit comparison is ~400x faster on a first-byte
   mismatch; the threshold (0.5) is far from both outcomes, so it fails for ``==``
   and does not flake for ``compare_digest`` (measured ratio ~1.0).
3. ``test_decrypt_time_independent_of_mac_mismatch_position`` is the end-to-end
   check with a loose bound: it catches gross leaks (e.g. a per-character Python
   loop doing real work) but is not meant to detect a ``memcmp``.

All use interleaved repetitions and the median of per-round ratios, so machine load
that drifts during the test affects both sides equally.
"""

from __future__ import annotations

import ast
import base64
import inspect
import json
import statistics
import textwrap
import time
from collections.abc import Callable

import pytest

from ninja_redis import crypto
from ninja_redis.crypto import Encrypter
from ninja_redis.exceptions import DecryptError


def _median_ratio(
    first: Callable[[], None], last: Callable[[], None], rounds: int
) -> float:
    ratios = []
    for r in range(rounds):
        pair = (first, last) if r % 2 else (last, first)
        times = {}
        for fn in pair:
            t0 = time.perf_counter_ns()
            fn()
            times[fn] = time.perf_counter_ns() - t0
        ratios.append(times[first] / max(times[last], 1))
    return statistics.median(ratios)


def test_mac_check_uses_compare_digest() -> None:
    assert "hmac.compare_digest(" in inspect.getsource(crypto._equal_digests)
    source = textwrap.dedent(inspect.getsource(Encrypter.decrypt_bytes))
    tree = ast.parse(source)
    calls = {
        node.func.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }
    assert "_equal_digests" in calls
    # no ==/!= anywhere near the MAC: every comparison in decrypt_bytes is listed here
    compares = [ast.unparse(n) for n in ast.walk(tree) if isinstance(n, ast.Compare)]
    assert not any("mac" in c.lower() or "given" in c for c in compares), compares
    # the cookie prefix check is constant time too
    assert "hmac.compare_digest(" in inspect.getsource(
        crypto.LaravelCookies.decrypt_bytes
    )


def test_digest_comparison_is_constant_time() -> None:
    size = 4_000_000
    expected = bytes(size)
    first = b"\x01" + expected[1:]
    last = expected[:-1] + b"\x01"
    equal = crypto._equal_digests
    ratio = _median_ratio(
        lambda: equal(expected, first),
        lambda: equal(expected, last),
        rounds=15,
    )
    # compare_digest: ~1.0; an early-exit comparison (==): ~0.003
    assert ratio > 0.5, f"first/last mismatch time ratio {ratio:.3f}"


@pytest.mark.slow
def test_decrypt_time_independent_of_mac_mismatch_position() -> None:
    enc = Encrypter(Encrypter.generate_key())
    env = json.loads(base64.b64decode(enc.encrypt_string("x" * 64)))

    def with_bad_mac_at(i: int) -> str:
        mac = list(env["mac"])
        mac[i] = "0" if mac[i] != "0" else "1"
        bad = {**env, "mac": "".join(mac)}
        return base64.b64encode(
            json.dumps(bad, separators=(",", ":")).encode()
        ).decode()

    first, last = with_bad_mac_at(0), with_bad_mac_at(63)

    def batch(payload: str) -> Callable[[], None]:
        def run() -> None:
            for _ in range(40):
                try:
                    enc.decrypt_bytes(payload)
                except DecryptError:
                    pass

        return run

    ratio = _median_ratio(batch(first), batch(last), rounds=120)
    assert 0.8 < ratio < 1.25, f"first/last mismatch time ratio {ratio:.3f}"
