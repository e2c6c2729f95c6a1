"""Benchmark ninja_redis.php against PHP itself and the ``phpserialize`` package.

    python benchmarks/php_codec.py -n 200 --repeat 5

For three payloads (a ~1 KB session-like array, a ~40 KB cache array of 100
records, a ~1 MB array) it prints ops/s of PHP's own serialize()/unserialize() (a
php subprocess that rebuilds the payload from the same bytes and loops with hrtime),
ninja_redis with the C accelerator and with the pure-Python fallback, and
``phpserialize``; then the ratios the project targets (C >= 0.5x PHP, pure >= 3x
phpserialize). The median of ``--repeat`` runs is reported.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import add_common_args, busy_cpus

from ninja_redis.php import _pure

try:
    from ninja_redis.php import _speedups
except ImportError:
    _speedups = None
try:
    import phpserialize
except ImportError:
    phpserialize = None


def session_payload() -> dict[str, Any]:
    return {
        "_token": "Xk3b9TqLm2Vw8RzP0sYhNcUe4aJfGdKi7oBtQvWx",
        "_previous": {"url": "https://example.com/dashboard/invoices?page=2&sort=desc"},
        "_flash": {"old": [], "new": ["status"]},
        "status": "Invoice #1042 was sent to billing@example.com",
        "login_web_59ba36addc2b2f9401580f014c7f58ea4e30989d": 4217,
        "cart": [
            {
                "sku": f"SKU-{i:04d}",
                "qty": i % 3 + 1,
                "price": 19.99 + i,
                "gift": i == 2,
            }
            for i in range(6)
        ],
        "locale": "fr_FR",
        "password_hash_web": "$2y$12$abcdefghijklmnopqrstuuVWXyz0123456789ABCDEFGHIJKLMNOP",
    }


def cache_payload(records: int = 100) -> list[dict[str, Any]]:
    return [
        {
            "id": 100000 + i,
            "name": f"Customer number {i} Ltd.",
            "email": f"customer{i}@example.org",
            "balance": round(i * 13.37 - 250.5, 2),
            "active": i % 3 != 0,
            "score": i * 0.125,
            "tags": ["vip", "eu", f"segment-{i % 7}"],
            "created_at": f"2024-05-{1 + i % 28:02d} 10:{i % 60:02d}:00",
            "manager_id": None if i % 4 else i // 4,
            "notes": "Prefers e-mail. Invoice monthly. " * 2,
            "limits": {"daily": 1000 + i, "monthly": 30000 + i * 10},
        }
        for i in range(records)
    ]


PAYLOADS: list[tuple[str, Callable[[], Any]]] = [
    ("session ~1 KB", session_payload),
    ("cache 100 records ~40 KB", cache_payload),
    ("array ~1 MB", lambda: cache_payload(2500)),
]

PHP_SCRIPT = r"""
$data = file_get_contents($argv[1]); $n = (int)$argv[2]; $repeat = (int)$argv[3];
$v = unserialize($data);
if (serialize($v) !== $data) { fwrite(STDERR, "payload does not round-trip\n"); exit(1); }
function cpu() { $r = getrusage(); return $r['ru_utime.tv_sec'] + $r['ru_utime.tv_usec'] / 1e6
    + $r['ru_stime.tv_sec'] + $r['ru_stime.tv_usec'] / 1e6; }
$d = []; $l = []; $dc = []; $lc = [];
for ($r = 0; $r < $repeat; $r++) {
  $c = cpu(); $t = hrtime(true); for ($i = 0; $i < $n; $i++) { $s = serialize($v); }
  $d[] = $n / ((hrtime(true) - $t) / 1e9); $dc[] = $n / max(cpu() - $c, 1e-6);
  $c = cpu(); $t = hrtime(true); for ($i = 0; $i < $n; $i++) { $x = unserialize($data); }
  $l[] = $n / ((hrtime(true) - $t) / 1e9); $lc[] = $n / max(cpu() - $c, 1e-6);
}
sort($d); sort($l); sort($dc); sort($lc); $m = intdiv($repeat, 2);
echo json_encode(['dumps' => [$d[$m], $dc[$m]], 'loads' => [$l[$m], $lc[$m]]]);
"""

Rate = tuple[float, float]  # (ops/s by wall clock, ops/s by CPU time)


def php_ops(data: bytes, n: int, repeat: int) -> dict[str, Rate] | None:
    """PHP's own serialize()/unserialize() rates, timed inside PHP (hrtime, rusage)."""
    php = shutil.which("php")
    if php is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "payload.ser"
        path.write_bytes(data)
        out = subprocess.run(
            [php, "-r", PHP_SCRIPT, str(path), str(n), str(repeat)],
            capture_output=True,
            check=True,
            timeout=600,
        )
    raw = json.loads(out.stdout)
    return {op: (float(raw[op][0]), float(raw[op][1])) for op in ("dumps", "loads")}


def ops(fns: dict[str, Callable[[], Any]], n: int, repeat: int) -> dict[str, Rate]:
    """Median ops/s over ``repeat`` timings of ``n`` calls: wall clock and CPU time.

    The timings of the different implementations are interleaved (one of each per
    round), so that load from other processes on a shared machine affects them
    alike and their ratios stay meaningful.
    """
    for fn in fns.values():
        fn()  # warm up
    wall: dict[str, list[float]] = {label: [] for label in fns}
    cpu: dict[str, list[float]] = {label: [] for label in fns}
    for _ in range(repeat):
        for label, fn in fns.items():
            c0 = time.process_time()
            t0 = time.perf_counter()
            for _ in range(n):
                fn()
            t1 = time.perf_counter()
            c1 = time.process_time()
            wall[label].append(n / (t1 - t0))
            cpu[label].append(n / max(c1 - c0, 1e-9))
    return {
        label: (statistics.median(wall[label]), statistics.median(cpu[label]))
        for label in fns
    }


def phpserialize_support(value: Any, data: bytes) -> str:
    """What ``phpserialize`` makes of this payload (it is timed on the same bytes)."""
    if phpserialize is None:
        return "not installed"
    notes = []
    try:
        out = phpserialize.dumps(value)
        notes.append(
            "dumps byte-identical" if out == data else "dumps differs from PHP"
        )
    except Exception as exc:
        notes.append(f"dumps fails ({type(exc).__name__})")
    try:
        back = phpserialize.loads(data, decode_strings=True)
        same = _pure.dumps(_plain(back)) == data
        notes.append("loads ok" if same else "loads differs")
    except Exception as exc:
        notes.append(f"loads fails ({type(exc).__name__})")
    return ", ".join(notes)


def _plain(x: Any) -> Any:
    """phpserialize returns every PHP array as a dict: turn 0..n-1 ones into lists."""
    if isinstance(x, dict):
        if list(x) == list(range(len(x))):
            return [_plain(v) for v in x.values()]
        return {k: _plain(v) for k, v in x.items()}
    return x


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "-n", type=int, default=200, help="calls per timing (small payload)"
    )
    parser.add_argument(
        "--repeat", type=int, default=5, help="timings per figure (median)"
    )
    parser.add_argument(
        "--cpu",
        action="store_true",
        help="print ops/s by CPU time (process_time / getrusage) instead of wall",
    )
    add_common_args(parser)  # --url is not used: no Redis here
    args = parser.parse_args()
    with busy_cpus(args.busy):
        run(args)


def run(args: argparse.Namespace) -> None:
    clock = "cpu" if args.cpu else "wall"
    idx = 1 if args.cpu else 0
    print(f"ops/s by {clock} time (median of {args.repeat}); ratios by wall | by CPU")
    header = (
        f"{'payload':26} {'op':6} {'PHP':>9} {'C':>9} {'pure':>9} {'phpser.':>9}"
        f" {'C/PHP wall|cpu':>15} {'pure/phpser wall|cpu':>21}"
    )
    print(header)
    print("-" * len(header))
    notes = []
    for name, build in PAYLOADS:
        value = build()
        data = _pure.dumps(value)
        # fewer iterations for bigger payloads
        n = max(5, args.n * 20_000 // len(data))
        php = php_ops(data, n, args.repeat)
        for op in ("dumps", "loads"):
            row: dict[str, Rate | None] = {}
            row["PHP"] = php[op] if php else None
            fns: dict[str, Callable[[], Any]] = {}
            for label, mod in (("C", _speedups), ("pure", _pure)):
                if mod is not None:
                    if op == "dumps":
                        fns[label] = lambda m=mod, v=value: m.dumps(v)
                    else:
                        fns[label] = lambda m=mod, d=data: m.loads(d)
            # phpserialize gets exactly the same value / bytes
            if phpserialize is not None:
                if op == "dumps":
                    fns["phpser"] = lambda v=value: phpserialize.dumps(v)
                else:
                    fns["phpser"] = lambda d=data: phpserialize.loads(
                        d, decode_strings=True
                    )
            rates = ops(fns, n, args.repeat)
            for label in ("C", "pure", "phpser"):
                row[label] = rates.get(label)

            def fmt(x: Rate | None) -> str:
                return f"{x[idx]:9,.0f}" if x is not None else f"{'n/a':>9}"

            def ratio(a: Rate | None, b: Rate | None) -> str:
                if not a or not b:
                    return "n/a"
                return f"{a[0] / b[0]:.2f}x|{a[1] / b[1]:.2f}x"

            print(
                f"{name if op == 'dumps' else '':26} {op:6} {fmt(row['PHP'])} "
                f"{fmt(row['C'])} {fmt(row['pure'])} {fmt(row['phpser'])} "
                f"{ratio(row['C'], row['PHP']):>15} "
                f"{ratio(row['pure'], row['phpser']):>21}"
            )
        print(f"{'':26} ({len(data):,} bytes, {n} calls x {args.repeat})")
        notes.append(f"  {name}: {phpserialize_support(value, data)}")
    print("phpserialize on the same payloads:")
    print("\n".join(notes))
    print("targets: C/PHP >= 0.50x, pure/phpserialize >= 3.00x (loads and dumps)")


if __name__ == "__main__":
    main()
