"""The TypedDicts of udpeco (``udpeco.BenchReport``, ``ProxyStats``...) match the dicts the
engines really return (same keys, right value types), and mypy --strict checks code that
indexes them."""

from __future__ import annotations

import typing
from typing import Any

import pytest
import udpeco
from echo_helpers import EchoThread, mypy_strict, wait_until


def assert_shape(value: Any, hint: Any, where: str = "") -> None:
    """``value`` has exactly the keys of TypedDict ``hint``, each of its declared type."""
    origin = typing.get_origin(hint)
    if origin is list:
        assert type(value) is list, where
        (item,) = typing.get_args(hint)
        for i, v in enumerate(value):
            assert_shape(v, item, f"{where}[{i}]")
    elif typing.is_typeddict(hint):
        hints = typing.get_type_hints(hint)
        assert type(value) is dict, where
        assert set(value) == set(hints), (where, set(value) ^ set(hints))
        for key, h in hints.items():
            assert_shape(value[key], h, f"{where}.{key}")
    else:  # int, float, bool: exactly (a bool is not an int count, an int is not a float)
        assert type(value) is hint, (where, value, hint)


def test_bench_report_interval_and_progress_have_the_typed_keys() -> None:
    snapshots: list[dict[str, Any]] = []
    with EchoThread() as echo:
        report = udpeco.bench(
            "127.0.0.1", echo.port, duration=0.4, interval=0.1, progress=snapshots.append
        )
    assert report["received"] > 0 and report["intervals"] and snapshots
    assert_shape(report, udpeco.BenchReport, "report")
    for snapshot in snapshots:
        assert_shape(snapshot, udpeco.BenchProgress, "progress")


def test_proxy_stats_have_the_typed_keys() -> None:
    with EchoThread() as echo, udpeco.Proxy(("127.0.0.1", 0), ("127.0.0.1", echo.port)) as p:
        with udpeco.Client(*p.address, timeout=5) as c:
            assert c.request(b"x") == b"x"
        # The proxy counts a reply once its send returned, which may be just after the
        # client has it.
        assert wait_until(lambda: p.stats()["down"]["forwarded"] == 1)
        stats = p.stats()
    assert stats["up"]["forwarded"] == stats["down"]["forwarded"] == 1
    assert_shape(stats, udpeco.ProxyStats, "stats")


def test_every_typed_dict_is_exported() -> None:
    typed = {n for n in udpeco.__all__ if typing.is_typeddict(getattr(udpeco, n))}
    assert typed == {
        "BenchCounts",
        "BenchInterval",
        "BenchLatency",
        "BenchProgress",
        "BenchReport",
        "CapturedDatagram",
        "EchoStats",
        "ProxyDirectionStats",
        "ProxyStats",
    }


def test_mypy_strict_checks_the_keys(tmp_path) -> None:
    pytest.importorskip("mypy")
    ok = mypy_strict(
        tmp_path,
        "good.py",
        """
        import udpeco

        def show(snapshot: udpeco.BenchProgress) -> None:
            print(snapshot["interval"]["uncorrected"]["p99_us"] + snapshot["rate"])

        report: udpeco.BenchReport = udpeco.bench("127.0.0.1", 7, progress=show)
        p99: float = report["p99_us"] + report["uncorrected"]["p999_us"]
        sent: int = sum(i["sent"] for i in report["intervals"]) + report["stray"]
        batched: bool = report["gso"] and report["gro"]
        with udpeco.Proxy(0, 7) as proxy:
            stats: udpeco.ProxyStats = proxy.stats()
            lost: int = stats["up"]["dropped"] + stats["down"]["overflow"] + stats["clients"]
        with udpeco.EchoServer(0) as server:
            drops: int = server.stats["drops"]
        """,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    refused = mypy_strict(
        tmp_path,
        "bad.py",
        """
        import udpeco

        report = udpeco.bench("127.0.0.1", 7)
        typo = report["p99"]
        wrong: str = udpeco.Proxy(0, 7).stats()["up"]["received"]
        """,
    )
    assert refused.returncode == 1, refused.stdout
    assert '"p99"' in refused.stdout and "typeddict-item" in refused.stdout, refused.stdout
    assert "assignment" in refused.stdout, refused.stdout
