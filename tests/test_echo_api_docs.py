"""``help(udpeco.EchoServer)`` explains every parameter, the signature is the real one, and the
stats dict has exactly the keys of its TypedDict."""

from __future__ import annotations

import inspect
import pydoc
import re
import typing

import udpeco


def test_signature_shows_the_real_defaults() -> None:
    sig = inspect.signature(udpeco.EchoServer)
    assert sig.parameters["port"].default == 44444
    assert sig.parameters["stop"].default == b"."
    assert sig.parameters["host"].default == ""
    assert sig.parameters["guard"].default is True
    assert all(
        p.kind is inspect.Parameter.KEYWORD_ONLY
        for name, p in sig.parameters.items()
        if name != "port"
    )
    assert not any(p.default is Ellipsis for p in sig.parameters.values())


def test_help_explains_every_parameter() -> None:
    text = pydoc.render_doc(udpeco.EchoServer, renderer=pydoc.plaintext)
    params = list(inspect.signature(udpeco.EchoServer).parameters)
    assert len(params) == 20
    for name in params:
        # Each parameter starts a "- `name`: ..." item (or shares one: "- `allow`, `deny`: ...").
        assert re.search(rf"- (`\w+`, )?`{name}`[:,]", text), name


def test_stats_have_the_typed_keys(tmp_path) -> None:
    with udpeco.EchoServer(0, host="127.0.0.1", quiet=True) as server:
        stats = server.stats
    assert set(stats) == set(typing.get_type_hints(udpeco.EchoStats))
    assert all(isinstance(v, int) for v in stats.values())
    assert udpeco.EchoStats.__doc__ and "EchoServer" in udpeco.EchoStats.__doc__
