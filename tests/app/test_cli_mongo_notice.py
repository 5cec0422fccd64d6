"""The CLI does not repeat FiftyOne's "oldest supported MongoDB" notice on
every command when FiftyOne runs its own bundled database; other messages,
and the notice for a database the user runs, are kept."""

import logging

from fiftyone_prime import cli


def _record(msg):
    return logging.LogRecord(
        "fiftyone.core.odm.database", logging.WARNING, __file__, 1, msg, None, None
    )


def test_notice_filtered_for_the_bundled_database_only(monkeypatch):
    logger = logging.getLogger("fiftyone.core.odm.database")
    before = list(logger.filters)
    try:
        monkeypatch.setenv("FIFTYONE_DATABASE_URI", "mongodb://db.example:27017")
        assert cli.quiet_bundled_mongodb_notice() is False
        assert logger.filters == before

        monkeypatch.delenv("FIFTYONE_DATABASE_URI")
        assert cli.quiet_bundled_mongodb_notice() is True
        assert cli.quiet_bundled_mongodb_notice() is True  # installed once
        added = [f for f in logger.filters if f not in before]
        assert len(added) == 1
        assert not logger.filter(
            _record(
                "You are running the oldest supported major version of MongoDB. Please refer to..."
            )
        )
        assert logger.filter(_record("Your MongoDB server version is more than 1 ahead..."))
    finally:
        logger.filters[:] = before
