"""Fixtures for the quickstart, CLI, report and panel tests (private MongoDB)."""

from tests.fo_env import ensure_database

ensure_database()  # before fiftyone is imported anywhere

from tests.integration.conftest import make_dataset  # noqa: E402,F401
