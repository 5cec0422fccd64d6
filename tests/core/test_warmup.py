"""Compiling ahead of the first search, and the line that says so."""

import logging

from fiftyone_prime.core import compile_status, warmup


def test_a_search_with_uncached_kernels_says_it_compiles_once(monkeypatch, caplog):
    monkeypatch.setattr(compile_status, "_announced", False)
    monkeypatch.setattr(compile_status, "kernels_cached", lambda: False)
    with caplog.at_level(logging.INFO, logger=compile_status.__name__):
        compile_status.announce()
        compile_status.announce()
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        f"Compiling the search kernels (first run only, about {compile_status.COMPILE_SECONDS} s)..."
    ]


def test_cached_kernels_say_nothing(monkeypatch, caplog):
    monkeypatch.setattr(compile_status, "_announced", False)
    monkeypatch.setattr(compile_status, "kernels_cached", lambda: True)
    with caplog.at_level(logging.INFO, logger=compile_status.__name__):
        compile_status.announce()
    assert not caplog.records


def test_compiled_kernels_count_as_cached():
    warmup.compile_kernels(regressions=False)  # compiled or loaded in this process
    assert warmup.kernels_cached()
