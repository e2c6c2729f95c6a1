"""``Session._lazy``: a stored session decoded on first use behaves like an eager one."""

from __future__ import annotations

import copy
import pickle
from collections.abc import Callable
from typing import Any

import pytest

from ninja_redis import php
from ninja_redis.sessions import (
    Session,
    decode_attributes,
    encode_attributes,
    login_attributes,
    login_key,
    wrap_cache_string,
)

SID = "A" * 40
ATTRS: dict[Any, Any] = {
    "_token": "t" * 40,
    "_flash": {"old": ["gone"], "new": ["status"]},
    "gone": 1,
    "status": "saved",
    "_previous": {"url": "https://example.test/a"},
    login_key("web"): 42,
    login_key("admin"): "9b1d-uuid",
    "password_hash_web": "$2y$10$abc",
    "cart": [{"id": 1, "qty": 2}, {"id": 7, "qty": 1}],
    7: "int key",
}
BLOB = php.dumps(ATTRS)
RAW = wrap_cache_string(BLOB)


def pair() -> tuple[Session, Session, list[int]]:
    calls: list[int] = []

    def loader() -> dict[Any, Any]:
        calls.append(1)
        return decode_attributes(BLOB, "php")

    eager = Session(SID, decode_attributes(BLOB, "php"), exists=True, original=RAW)
    lazy = Session._lazy(SID, loader, login_attributes(ATTRS), RAW)
    return eager, lazy, calls


def test_type_and_identity_without_decoding() -> None:
    eager, lazy, calls = pair()
    assert type(lazy) is Session and isinstance(lazy, Session)
    assert lazy.id == eager.id and lazy.exists is True and lazy.original == RAW
    assert lazy.ip_address is None and lazy.user_agent is None
    for guard in ("web", "admin", "api"):
        assert lazy.user_id(guard) == eager.user_id(guard)
    assert lazy.user_id() == 42 and lazy.user_id("admin") == "9b1d-uuid"
    assert calls == []  # none of that decoded anything


OPS: list[Callable[[Session], Any]] = [
    lambda s: s.attributes,
    lambda s: dict(s),
    lambda s: list(s),
    lambda s: len(s),
    lambda s: repr(s),
    lambda s: s["status"],
    lambda s: "7" in s,
    lambda s: s.get("cart.1.qty"),
    lambda s: s.has("_previous.url"),
    lambda s: s.exists_key("nope"),
    lambda s: s.token,
    lambda s: s.previous_url,
    lambda s: s.password_hash(),
    lambda s: s.pull("gone"),
    lambda s: s.put("cart.0.qty", 5),
    lambda s: s.push("cart", {"id": 9}),
    lambda s: s.increment("count"),
    lambda s: s.flash("message", "hi"),
    lambda s: s.now("instant", 1),
    lambda s: s.keep(["status"]),
    lambda s: s.reflash(),
    lambda s: s.forget(["cart.1", "status"]),
    lambda s: s.login(7, "admin"),
    lambda s: s.logout(),
    lambda s: s.user_id(),
    lambda s: s.user_id("admin"),
    lambda s: s.age_flash_data(),
    lambda s: s.regenerate_token() and None,
    lambda s: s.flush(),
]


@pytest.mark.parametrize("index", range(len(OPS)))
def test_every_operation_matches_an_eager_session(index: int) -> None:
    """The first operation decodes; the rest run on the decoded session."""
    eager, lazy, calls = pair()
    for op in OPS[index:]:
        expected, got = op(eager), op(lazy)
        if op is OPS[-2]:  # regenerate_token: a random token, compare shapes only
            lazy.put("_token", eager.token)
        else:
            assert got == expected
        assert lazy.attributes == eager.attributes
        assert list(lazy.attributes.items()) == list(eager.attributes.items())
        assert lazy.user_id() == eager.user_id()
        assert lazy.user_id("admin") == eager.user_id("admin")
        for ser in ("php", "json"):
            assert encode_attributes(lazy.attributes, ser) == encode_attributes(
                eager.attributes, ser
            )
    assert calls == [1]  # decoded exactly once


def test_user_id_after_a_change_reads_the_attributes() -> None:
    _, lazy, calls = pair()
    lazy.login(99)  # decodes, then changes the login key
    assert calls == [1]
    assert lazy.user_id() == 99
    lazy.logout("admin")
    assert lazy.user_id("admin") is None


def test_each_lazy_session_is_independent() -> None:
    logins = login_attributes(ATTRS)
    a = Session._lazy(SID, lambda: decode_attributes(BLOB, "php"), logins, RAW)
    b = Session._lazy(SID, lambda: decode_attributes(BLOB, "php"), logins, RAW)
    a.put("cart.0.qty", 100)
    a.login(1)
    assert b.get("cart.0.qty") == 2 and b.user_id() == 42
    assert a.attributes is not b.attributes
    assert a.attributes["cart"] is not b.attributes["cart"]
    assert logins == login_attributes(ATTRS)  # the shared data never changes


def test_copy_and_pickle_decode_first() -> None:
    eager, lazy, _ = pair()
    for clone in (
        copy.copy(lazy),
        copy.deepcopy(lazy),
        pickle.loads(pickle.dumps(lazy)),
    ):
        assert type(clone) is Session
        assert clone.attributes == eager.attributes and clone.id == SID
        assert clone.original == RAW and clone.exists is True
        assert clone.user_id("admin") == "9b1d-uuid"
    eager_clone = pickle.loads(pickle.dumps(eager))
    assert eager_clone.attributes == eager.attributes


NOPE = "nope"


def test_unknown_attributes_still_raise() -> None:
    eager, lazy, calls = pair()
    for s in (eager, lazy):
        with pytest.raises(AttributeError, match="no attribute 'nope'"):
            getattr(s, NOPE)
    assert calls == []


def test_a_loader_error_surfaces_on_first_use() -> None:
    from ninja_redis.exceptions import UnserializeError

    def broken() -> dict[Any, Any]:
        return decode_attributes(b"a:1:{", "php", key=b"k")

    lazy = Session._lazy(SID, broken, {}, RAW)
    with pytest.raises(UnserializeError):
        len(lazy.attributes)
    with pytest.raises(UnserializeError):  # not cached as empty: raises again
        lazy.get("x")


def test_login_attributes() -> None:
    assert login_attributes(ATTRS) == {
        login_key("web"): 42,
        login_key("admin"): "9b1d-uuid",
    }
    assert login_attributes({1: 2, "loginx": 3, b"login_": 4}) == {}
