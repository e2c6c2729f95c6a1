"""Unique-job lock names (spec row 19) against the real PHP ``hash('xxh128', …)``.

From Laravel 12.54 the job name in ``laravel_unique_job:…`` is the xxh128 hex digest of
``displayName()`` when the job defines one (12.41-12.53: ``displayName()`` itself); PHP's
``hash()`` is the peer here (Laravel 8.83 predates the rule, so no Laravel code is
involved).
"""

from __future__ import annotations

import base64
import random
import subprocess

import pytest

from ninja_redis.payloads import PhpJob, unique_lock_name

pytestmark = [pytest.mark.php]

PHP_XXH128 = (
    "while (($l = fgets(STDIN)) !== false) "
    "{ echo hash('xxh128', base64_decode(trim($l))), \"\\n\"; }"
)


def test_display_name_digest_matches_php() -> None:
    rng = random.Random(1254)
    names = ["App\\Jobs\\SendInvoiceEmail", "", "ünïcödé job ✓", "a" * 1000]
    names += [
        "".join(chr(rng.randrange(32, 0x2FFF)) for _ in range(rng.randrange(1, 80)))
        for _ in range(60)
    ]
    stdin = "".join(base64.b64encode(n.encode()).decode() + "\n" for n in names)
    proc = subprocess.run(
        ["php", "-r", PHP_XXH128],
        input=stdin.encode(),
        capture_output=True,
        timeout=20,
        check=True,
    )
    expected = proc.stdout.decode().split()
    assert len(expected) == len(names)
    for name, digest in zip(names, expected, strict=True):
        job = PhpJob("App\\Jobs\\Unique", unique_id=7, display_name=name)
        assert unique_lock_name(job, (12, 54)) == (digest, "7"), name
        # 12.41-12.53 used displayName() as is (laravel/framework#57499), before: the class
        assert unique_lock_name(job, (12, 53)) == (name, "7")
        assert unique_lock_name(job, (12, 41)) == (name, "7")
        assert unique_lock_name(job, (12, 40)) == ("App\\Jobs\\Unique", "7")
