"""How every benchmark measures and prints: kioskd's p50/p99 beside the raw library's, and
the ratio."""

from __future__ import annotations

import statistics
import time


def timed(fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def report(name: str, ours: list[float], raw: list[float], unit: str = "ms") -> None:
    o, r = statistics.median(ours), statistics.median(raw)
    p99 = lambda xs: sorted(xs)[int(len(xs) * 0.99) - 1]  # noqa: E731
    print(f"{name:<44} kioskd p50 {o:8.4f} {unit} p99 {p99(ours):8.4f} | raw p50 {r:8.4f} "
          f"p99 {p99(raw):8.4f} | ratio {o / r:5.2f}x")
