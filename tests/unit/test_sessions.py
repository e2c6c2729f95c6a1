"""The pure session model: Session mapping, flash ageing, blob encode/decode."""

from __future__ import annotations

import pytest

from ninja_redis.exceptions import SerializeError, UnserializeError
from ninja_redis.sessions import (
    Session,
    decode_attributes,
    encode_attributes,
    generate_session_id,
    php_json_decode,
    php_json_encode,
    unwrap_cache_string,
    wrap_cache_string,
)

SID = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCd"


def test_ids() -> None:
    ids = {generate_session_id() for _ in range(50)}
    assert len(ids) == 50 and all(
        len(i) == 40 and i.isalnum() and i.isascii() for i in ids
    )
    for bad in ("", "x" * 39, "x" * 41, "x" * 39 + "-", "x" * 39 + "é"):
        with pytest.raises(ValueError):
            Session(bad)
    s = Session(SID, {"secret": "v"})
    assert SID not in repr(s) and "secret" not in repr(s)


def test_first_save_of_a_fresh_session_is_old_then_new() -> None:
    s = Session(SID)
    s.put("_token", "t" * 40)
    s.age_flash_data()
    assert encode_attributes(s.attributes, "php").endswith(
        b's:6:"_flash";a:2:{s:3:"old";a:0:{}s:3:"new";a:0:{}}}'
    )


def test_flash_keys_keep_php_array_keys() -> None:
    s = Session(SID)
    s.flash("a", 1)
    s.flash("b", 2)
    s.age_flash_data()  # old = [a, b]
    s.flash("a", 3)  # array_diff keeps key 1: old = [1 => b]
    assert s.get("_flash.old") == {1: "b"}
    assert b's:3:"old";a:1:{i:1;s:1:"b";}' in encode_attributes(s.attributes, "php")
    assert b'"old":{"1":"b"}' in encode_attributes(s.attributes, "json")
    s.now("c", 4)  # $old[] = 'c' -> key 2
    assert s.get("_flash.old") == {1: "b", 2: "c"}
    s.keep()  # no keys: Laravel keeps nothing
    assert s.get("_flash.old") == {1: "b", 2: "c"}
    s.reflash()
    assert s.get("_flash.new") == ["a", "b", "c"] and s.get("_flash.old") == []
    s.age_flash_data()
    assert s.get("_flash.old") == ["a", "b", "c"]
    s.age_flash_data()
    assert "a" not in s and "b" not in s and "c" not in s


def test_dot_notation() -> None:
    s = Session(SID)
    s.put("user.profile.name", "T")
    assert s["user"] == {"profile": {"name": "T"}}
    assert s.get("user.profile.name") == "T" and s.has("user.profile")
    s["a.b"] = 1  # literal top-level key
    assert s.get("a.b") == 1 and "a" not in s
    s.forget("a.b")
    assert "a.b" not in s
    s.put("list", ["x", "y"])
    s.forget("list.0")
    assert s["list"] == {1: "y"}
    s.push("list", "z")
    assert s["list"] == {1: "y", 2: "z"}
    assert s.pull("user.profile.name") == "T"
    assert s["user"]["profile"] in ({}, [])
    assert s.increment("n") == 1 and s.decrement("n", 3) == -2
    assert s.exists_key("n") and not s.exists_key("nope")
    s.put("null", None)
    assert s.exists_key("null") and not s.has("null")


def test_int_like_keys_are_php_ints() -> None:
    s = Session(SID)
    s["7"] = "x"
    assert 7 in s and s[7] == "x"
    assert encode_attributes(s.attributes, "php") == b'a:1:{i:7;s:1:"x";}'


def test_user_id_types() -> None:
    s = Session(SID)
    assert s.user_id() is None
    s.login(7)
    assert s.user_id() == 7
    s.login("9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d", guard="api")
    assert s.user_id("api") == "9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d"
    s.put(s_key := "login_admin_59ba36addc2b2f9401580f014c7f58ea4e30989d", [1])
    assert s.user_id("admin") is None and s_key in s
    s.logout()
    assert s.user_id() is None
    with pytest.raises(TypeError):
        s.login(True)


def test_php_json_encode_matches_php() -> None:
    # expected bytes from PHP 8.2 json_encode()
    assert php_json_encode([1e15, 1e16, 0.1, 1.0, -0.0, 1e-7, 1.5e300]) == (
        b"[1000000000000000,10000000000000000,0.1,1,-0,1.0e-7,1.5e+300]"
    )
    assert php_json_encode("\\u007f\x7f") == b'"\\\\u007f\x7f"'
    assert (
        php_json_encode("a/b\x7f\x01é😀") == b'"a\\/b\x7f\\u0001\\u00e9\\ud83d\\ude00"'
    )
    assert php_json_encode({1: "a"}) == b'{"1":"a"}'
    assert php_json_encode({0: "a", 1: "b"}) == b'["a","b"]'
    assert php_json_encode({}) == b"[]"
    for bad in (float("nan"), float("inf"), b"\xff", "\udc80", object()):
        with pytest.raises(SerializeError):
            php_json_encode(bad)


def test_php_json_decode() -> None:
    assert php_json_decode(b'{"0":"a","1":"b"}') == ["a", "b"]
    assert php_json_decode(b'{"1":"a","x":{}}') == {1: "a", "x": []}
    assert php_json_decode(b" 99999999999999999999 ") == 1e20
    for bad in (b"", b"{", b"[1] x", b"NaN", b"\xff"):
        with pytest.raises(ValueError):
            php_json_decode(bad)


def test_wrap_unwrap() -> None:
    blob = 'a:1:{s:1:"é";i:1;}'.encode()
    assert wrap_cache_string(blob) == b's:19:"' + blob + b'";'
    assert unwrap_cache_string(wrap_cache_string(blob)) == blob
    for bad in (
        b"",
        b"s:",
        b's:3:"ab";',
        b's:2:"ab"',
        b's:-1:"";',
        b"i:5;",
        b's:02:"ab"x',
    ):
        with pytest.raises(UnserializeError):
            unwrap_cache_string(bad, key=b"k")


def test_decode_attributes_errors() -> None:
    for data, ser in (
        (b"a:1:{", "php"),
        (b"i:5;", "php"),
        (b"{", "json"),
        (b'"x"', "json"),
    ):
        with pytest.raises(UnserializeError) as info:
            decode_attributes(data, ser, key=b"the-key")  # type: ignore[arg-type]
        assert info.value.key == b"the-key"
    assert decode_attributes(b"a:0:{}", "php") == {}
    assert decode_attributes(b"[]", "json") == {}
