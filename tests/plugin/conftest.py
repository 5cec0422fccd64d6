"""Fixtures for operator tests: a private MongoDB and the plugin on FIFTYONE_PLUGINS_DIR."""

from tests.fo_env import ensure_database

ensure_database()  # before fiftyone is imported anywhere

from tests.integration.conftest import make_dataset  # noqa: E402,F401
