"""Compiling ahead of the first search, and the line that says so."""

import logging

from fiftyone_prime.core import warmup


def test_a_search_with_uncached_kernels_says_it_compiles_once(monkeypatch, caplog):
    monkeypatch.setattr(warmup, "_announced", False)
    monkeypatch.setattr(warmup, "kernels_cached", lambda: False)
    with caplog.at_level(logging.INFO, logger=warmup.__name__):
        warmup.announce()
        warmup.announce()
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        f"Compiling the search kernels (first run only, about {warmup.COMPILE_SECONDS} s)..."
    ]


def test_cached_kernels_say_nothing(monkeypatch, caplog):
    monkeypatch.setattr(warmup, "_announced", False)
    monkeypatch.setattr(warmup, "kernels_cached", lambda: True)
    with caplog.at_level(logging.INFO, logger=warmup.__name__):
        warmup.announce()
    assert not caplog.records


def test_compiled_kernels_count_as_cached():
    warmup.compile_kernels(regressions=False)  # compiled or loaded in this process
    assert warmup.kernels_cached()
