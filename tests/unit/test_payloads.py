"""payloads.py edge cases: JSON escaping, version field order, PhpJob shapes, parsing."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from ninja_redis import php
from ninja_redis.exceptions import JobPayloadError, SerializeError
from ninja_redis.payloads import (
    NO_DEFAULT,
    JobPayload,
    ModelIdentifier,
    PhpJob,
    Prop,
    build_payload,
    delay_seconds,
    parse_payload,
    php_json_encode,
    private,
    protected,
    queueable_properties,
    random_id,
    serialize_command,
    unique_lock_name,
)

FIXED = {"uuid": "u-1", "id": "i-1", "created_at": 1700000000}


def keys_of(payload: bytes) -> list[str]:
    return list(json.loads(payload))


# --------------------------------------------------------------------- JSON


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("a/b", '"a\\/b"'),
        ("é", '"é"'),
        ("\0*\0x", '"\\u0000*\\u0000x"'),
        ("\u2028\u2029", '"\\u2028\\u2029"'),
        ("\x7f\x1f", '"\x7f\\u001f"'),
        (1.0, "1"),
        (1e20, "1.0e+20"),
        (0.1 + 0.2, "0.30000000000000004"),
        (-0.0, "-0"),
        ({}, "[]"),
        ({"0": "a", "1": "b"}, '["a","b"]'),
        ({1: "a"}, '{"1":"a"}'),
        ([1, {"k": [2.5]}], '[1,{"k":[2.5]}]'),
        (None, "null"),
        (True, "true"),
    ],
)
def test_php_json_encode_unescaped_unicode(value: object, expected: str) -> None:
    assert php_json_encode(value) == expected


def test_php_json_encode_default_flags() -> None:
    assert php_json_encode({"x": "é/"}, unescaped_unicode=False) == '{"x":"\\u00e9\\/"}'
    with pytest.raises(SerializeError):
        php_json_encode(float("nan"))
    with pytest.raises(SerializeError):
        php_json_encode(b"bytes")


# ----------------------------------------------------------------- versions


def test_field_order_per_version() -> None:
    job = PhpJob("App\\Jobs\\A", {"x": 1})
    base = [
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
    ]
    assert keys_of(build_payload(job, version=(8, 83), **FIXED)) == base + [
        "id",
        "attempts",
    ]
    assert keys_of(build_payload(job, version=(12, 10), **FIXED)) == base + [
        "id",
        "attempts",
    ]
    p = build_payload(job, version=(12, 11), **FIXED)
    assert keys_of(p) == base + ["createdAt", "id", "attempts", "delay"]
    assert list(json.loads(p)["data"]) == ["commandName", "command"]
    p = build_payload(job, version=(12, 51), **FIXED, delay=60)
    assert list(json.loads(p)["data"]) == ["commandName", "command", "batchId"]
    assert json.loads(p)["delay"] == 60 and json.loads(p)["createdAt"] == 1700000000
    p = build_payload(job, version=(13, 0), **FIXED)
    k = keys_of(p)
    assert k[k.index("retryUntil") + 1] == "deleteWhenMissingModels"
    assert json.loads(p)["deleteWhenMissingModels"] is False


def test_string_job_payload() -> None:
    p = build_payload("App\\Handlers\\Foo@bar", {"x": 1}, version=(8, 83), **FIXED)
    assert p == (
        b'{"uuid":"u-1","displayName":"App\\\\Handlers\\\\Foo","job":"App\\\\Handlers\\\\Foo@bar",'
        b'"maxTries":null,"maxExceptions":null,"failOnTimeout":false,"backoff":null,'
        b'"timeout":null,"data":{"x":1},"id":"i-1","attempts":0}'
    )
    p = build_payload("App\\Handlers\\Foo@bar", [], version=(12, 67), **FIXED)
    assert keys_of(p)[-5:] == ["data", "createdAt", "id", "attempts", "delay"]
    assert b'"data":[]' in p and b"retryUntil" not in p


def test_tuning_fields() -> None:
    due = datetime(2030, 1, 1, tzinfo=timezone.utc)
    job = PhpJob(
        "App\\Jobs\\A",
        tries=3,
        backoff=(1, 5, 10),
        timeout=30,
        max_exceptions=2,
        fail_on_timeout=True,
        retry_until=due,
        display_name="a:1",
    )
    d = json.loads(build_payload(job, version=(12, 67), **FIXED))
    assert (d["maxTries"], d["backoff"], d["timeout"], d["maxExceptions"]) == (
        3,
        "1,5,10",
        30,
        2,
    )
    assert d["failOnTimeout"] is True and d["retryUntil"] == int(due.timestamp())
    assert d["displayName"] == "a:1" and d["data"]["commandName"] == "App\\Jobs\\A"
    # SerializesModels (9.4+) omits declared defaults; 8.x writes every property
    assert d["data"]["command"] == 'O:10:"App\\Jobs\\A":0:{}'
    cmd8 = serialize_command(job, (8, 83)).decode()
    assert cmd8.startswith(
        'O:10:"App\\Jobs\\A":15:{s:5:"tries";i:3;s:7:"backoff";a:3:{'
    )
    assert 's:13:"failOnTimeout";b:1;s:3:"job";N;s:10:"connection";N;' in cmd8
    assert cmd8.endswith('s:10:"middleware";a:0:{}s:7:"chained";a:0:{}}')
    assert PhpJob("App\\Jobs\\A", backoff=30).backoff_value() == "30"


def test_queueable_orders() -> None:
    assert queueable_properties((10, 50))[2:5] == (
        "chainConnection",
        "chainQueue",
        "chainCatchCallbacks",
    )
    assert queueable_properties((11, 56))[-3:] == (
        "chainConnection",
        "chainQueue",
        "chainCatchCallbacks",
    )
    assert queueable_properties((12, 67))[:4] == (
        "connection",
        "queue",
        "messageGroup",
        "deduplicator",
    )
    assert queueable_properties((13, 26))[4:6] == ("debounceOwner", "uniqueLockOwner")


def test_plain_job_13x_has_owner_properties() -> None:
    job = PhpJob("App\\Jobs\\P", {"v": 1}, serializes_models=False)
    cmd = serialize_command(job, (13, 26))
    assert (
        b's:13:"debounceOwner";s:0:"";s:15:"uniqueLockOwner";s:0:"";s:5:"delay";N;'
        in cmd
    )
    assert cmd.startswith(b'O:10:"App\\Jobs\\P":15:{s:1:"v";i:1;s:3:"job";N;')


def test_visibility_defaults_and_model_identifier() -> None:
    user = ModelIdentifier("App\\Models\\User", 7, connection="mysql")
    job = PhpJob(
        "App\\Jobs\\W",
        {
            "user": user,
            "locale": protected("en", default="en"),
            "secret": private("x"),
            "inherited": private(1, declaring_class="App\\Base"),
            "maybe": Prop(None, default=None),
        },
        queue="emails",
    )
    cmd = serialize_command(job, (12, 67))
    # SerializesModels::__serialize() walks ReflectionClass::getProperties(), which
    # has no private property of a parent class: App\Base's $inherited is left out
    assert cmd == (
        b'O:10:"App\\Jobs\\W":3:{s:4:"user";O:45:"Illuminate\\Contracts\\Database\\ModelIdentifier":5:'
        b'{s:5:"class";s:15:"App\\Models\\User";s:2:"id";i:7;s:9:"relations";a:0:{}'
        b's:10:"connection";s:5:"mysql";s:15:"collectionClass";N;}'
        b's:18:"\x00App\\Jobs\\W\x00secret";s:1:"x";s:5:"queue";s:6:"emails";}'
    )
    # a plain serialize() (no SerializesModels) writes it under the declaring class
    plain = job._with_properties({})
    plain.serializes_models = False
    assert b's:19:"\x00App\\Base\x00inherited";i:1;' in serialize_command(
        plain, (12, 67)
    )
    obj = php.loads(cmd)
    assert "locale" not in obj and "maybe" not in obj  # equal to their defaults
    assert obj.visibility("secret") == "App\\Jobs\\W" and obj["queue"] == "emails"
    assert list(obj)[-1] == "queue"
    old = php.loads(serialize_command(PhpJob("App\\Jobs\\W", {"u": user}), (9, 25)))
    assert len(old["u"].properties) == 4 and ModelIdentifier.from_php(old["u"]).id == 7


def test_dates_enums_and_chain() -> None:
    dt = datetime(2025, 1, 31, tzinfo=timezone.utc)
    nxt = PhpJob("App\\Jobs\\Next", {"n": 2})
    job = PhpJob(
        "App\\Jobs\\C",
        {"at": dt, "e": php.PhpEnum("App\\E", "A")},
        chain=[nxt],
        delay=5,
    )
    obj = php.loads(serialize_command(job, (12, 67)))
    assert obj["at"].class_name == "Illuminate\\Support\\Carbon"
    assert obj["at"].to_datetime() == dt
    assert obj["chained"] == [serialize_command(nxt, (12, 67)).decode()]
    assert obj["delay"] == 5
    with pytest.raises(SerializeError):
        serialize_command(PhpJob("App\\Jobs\\N", {"d": datetime(2025, 1, 1)}), (12, 67))


def test_encrypted_needs_encrypter_and_roundtrips() -> None:
    from ninja_redis.crypto import Encrypter

    job = PhpJob("App\\Jobs\\S", {"s": private("x")}, encrypted=True)
    with pytest.raises(SerializeError, match="ShouldBeEncrypted"):
        build_payload(job)
    enc = Encrypter(Encrypter.generate_key())
    p = parse_payload(build_payload(job, encrypter=enc))
    assert p.is_encrypted and p.command_object(enc)["s"] == "x"
    # plaintext is s:N:"O:…"; (double serialized)
    assert enc.decrypt(p.command or "", unserialize=False).startswith(b"s:")
    with pytest.raises(JobPayloadError, match="encrypted"):
        p.command_object()


def test_horizon_variant() -> None:
    job = PhpJob(
        "App\\Jobs\\H", {"u": ModelIdentifier("App\\Models\\User", [1, 2])}, tags=None
    )
    p = build_payload(
        job, horizon=True, uuid="u-9", created_at=1, pushed_at=1767225600.123456
    )
    d = json.loads(p)
    assert d["id"] == "u-9" and d["tags"] == [
        "App\\Models\\User:1",
        "App\\Models\\User:2",
    ]
    assert list(d)[-4:] == ["type", "tags", "silenced", "pushedAt"]
    assert d["pushedAt"] == "1767225600.1235"


def test_random_id_and_delay_seconds() -> None:
    ids = {random_id() for _ in range(200)}
    assert len(ids) == 200 and all(len(i) == 32 and i.isalnum() for i in ids)
    assert len(random_id(16)) == 16
    assert delay_seconds(timedelta(minutes=1)) == 60 and delay_seconds(5.9) == 5
    assert delay_seconds(datetime.fromtimestamp(1000, timezone.utc), now=900.5) == 100
    with pytest.raises(TypeError):
        delay_seconds("5")  # type: ignore[arg-type]


def test_unique_lock_name() -> None:
    job = PhpJob("App\\Jobs\\U", unique_id=5)
    assert unique_lock_name(job, (12, 67)) == ("App\\Jobs\\U", "5")
    assert PhpJob("App\\Jobs\\U").unique is False and job.unique
    named = PhpJob("App\\Jobs\\X", unique_id=5, display_name="App\\Jobs\\X")
    # before 12.54 the class name even with a displayName()
    assert unique_lock_name(named, (12, 53)) == ("App\\Jobs\\X", "5")
    # 12.54+: PHP 8.2's hash('xxh128', 'App\\Jobs\\X'), printed by php -r
    assert unique_lock_name(named, (12, 54)) == (
        "4d6be50fe36a20c524c75c3de8bd3a3b",
        "5",
    )
    assert unique_lock_name(job, (13, 0)) == ("App\\Jobs\\U", "5")


def test_php_job_validation() -> None:
    with pytest.raises(ValueError, match="string job"):
        PhpJob("App\\Foo@bar")
    with pytest.raises(ValueError, match="trait"):
        PhpJob("App\\Jobs\\X", traits=("Nope",))
    assert repr(NO_DEFAULT) == "NO_DEFAULT"


# ------------------------------------------------------------------ parsing


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        (b"not json", "not JSON"),
        (b"[1]", "JSON object"),
        (b'{"data":{}}', "'job'"),
        (b'{"job":"","attempts":0}', "'job'"),
        (b'{"job":"X@y"}', "attempts"),
        (b'{"job":"X@y","attempts":"1"}', "attempts"),
        (b'{"job":"X@y","attempts":true}', "attempts"),
        (b'{"job":"X@y","attempts":0,"maxTries":"x"}', "maxTries"),
        (b'{"job":"X@y","attempts":0,"uuid":5}', "uuid"),
        (b'{"job":"X@y","attempts":0,"id":[1]}', "id"),
        (b'{"job":"X@y","attempts":0,"backoff":{}}', "backoff"),
        (
            b'{"job":"Illuminate\\\\Queue\\\\CallQueuedHandler@call","attempts":0,"data":[]}',
            "data.command",
        ),
        (b"\xff\xfe", "not JSON"),
    ],
)
def test_parse_payload_rejects(raw: bytes, match: str) -> None:
    with pytest.raises(JobPayloadError, match=match) as info:
        parse_payload(raw)
    assert info.value.payload == raw


def test_parse_payload_accessors_and_backoff() -> None:
    job = PhpJob("App\\Jobs\\A", {"x": 1}, tries=3, backoff=[10, 60, 300])
    p = parse_payload(build_payload(job, version=(12, 67), **FIXED, delay=7))
    assert isinstance(p, JobPayload)
    assert (p.uuid, p.id, p.attempts, p.created_at, p.delay) == (
        "u-1",
        "i-1",
        0,
        1700000000,
        7,
    )
    assert p.max_tries == 3 and p.backoff == [10, 60, 300] and p.is_object_job
    assert [p.backoff_for(a) for a in (1, 2, 3, 9)] == [10, 60, 300, 300]
    assert p.command_object()["x"] == 1 and p.command_name == "App\\Jobs\\A"
    assert p.batch_id is None and not p.fail_on_timeout and p.timeout is None
    raw = parse_payload(b'{"job":"X@y","data":null,"attempts":2,"delay":"5"}')
    assert raw.display_name == "X@y" and raw.backoff_for(1) == 5 and raw.id is None
    cj = parse_payload(
        b'{"job":"X@y","attempts":1,"createdAt":1.7e9,"backoff":"1, 2x"}'
    )
    assert cj.created_at == 1700000000 and cj.backoff == [1, 2]
    assert parse_payload(b'{"job":"X@y"}', require_attempts=False).attempts == 0
    bad = parse_payload(
        b'{"job":"Illuminate\\\\Queue\\\\CallQueuedHandler@call","attempts":0,'
        b'"data":{"commandName":"A","command":"O:1:\\"A\\":1:{"}}'
    )
    with pytest.raises(JobPayloadError, match="serialize"):
        bad.command_object()


def test_fast_path_bytes_equal_general_path() -> None:
    """The per-shape template (the fast path of ``build``) writes the same bytes as
    the general path (whole-object serialize + json_encode)."""
    from datetime import timedelta

    from ninja_redis.payloads import ModelIdentifier, PayloadBuilder, serialize_command
    from ninja_redis.php import PhpEnum

    status = PhpEnum("App\\Enums\\S", "Draft")

    def jobs() -> list[PhpJob]:
        return [
            PhpJob("App\\Jobs\\A"),
            PhpJob(
                "App\\Jobs\\A",
                {"s": 'a/b"c\\d é \u2028 \x00', "f": 1.5, "b": True, "n": None},
            ),
            PhpJob(
                "App\\Jobs\\SendInvoiceEmail",
                {
                    "invoiceId": 7,
                    "email": protected("b@e.com"),
                    "meta": private({"lines": [{"sku": "A", "qty": 1}]}),
                    "status": status,
                    "dueAt": Prop(None, default=None),
                    "x": Prop([], default=[]),
                },
                tries=5,
                backoff=[10, 60, 300],
                timeout=120,
                max_exceptions=2,
            ),
            PhpJob("App\\Jobs\\B", {"e1": status, "e2": status}),
            PhpJob("App\\Jobs\\C", {"user": ModelIdentifier("App\\Models\\U", 7)}),
            PhpJob(
                "App\\Jobs\\D",
                {"x": private(1, declaring_class="App\\Jobs\\Base")},
                queue="emails",
                delay=timedelta(seconds=5),
                retry_until=1767225600,
                display_name="Nice/name",
                batch_id="b/1",
                traits=("InteractsWithQueue", "Queueable", "Batchable"),
            ),
            PhpJob("App\\Jobs\\É", {"ü": "ß", "big": 2**62, "flt": 1e20}),
        ]

    for version in [(8, 83), (9, 26), (11, 0), (12, 11), (12, 51), (13, 0)]:
        builder = PayloadBuilder(version)
        for job in jobs():
            kw: dict[str, Any] = {"uuid": "u", "id": 'i/"', "created_at": 1, "delay": 3}
            # the general path for an object with back-references (r:)
            expect_fast = job.class_name != "App\\Jobs\\B"
            assert (builder._fast(job, "u", '"x"', 1, None, 0) is not None) is (
                expect_fast
            ), job
            fast = builder.build(job, **kw)
            serialize_command(job, version)  # a cached command: the general path
            assert builder._fast(job, "u", '"x"', 1, None, 0) is None
            assert builder.build(job, **kw) == fast, (version, job)
