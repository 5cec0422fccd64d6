"""Serving the FiftyOne App on loopback and screenshotting it with headless Chromium."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

APP_SCRIPT = """
import sys, fiftyone as fo
dataset = fo.load_dataset(sys.argv[1])
view = dataset.load_saved_view(sys.argv[2])
spaces = fo.Space(
    children=[fo.Panel(type="Samples", pinned=True), fo.Panel(type="prime_failure_modes")],
    orientation="horizontal",
)
session = fo.launch_app(view, spaces=spaces, port=int(sys.argv[3]), address="127.0.0.1",
                        remote=True, auto=False)
session.wait(-1)
"""


def chromium():
    return shutil.which("chromium") or shutil.which("chromium-browser")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AppServer:
    """The App for a dataset and saved view, with the PRIME panel beside the samples."""

    def __init__(self, dataset_name, view_name):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-c", APP_SCRIPT, dataset_name, view_name, str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ},
        )

    def __enter__(self):
        deadline = time.time() + 120
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the App server exited: {self.proc.stderr.read().decode()[-2000:]}")
            try:
                urllib.request.urlopen(self.url, timeout=2).read()
                return self
            except OSError:
                time.sleep(0.5)
        raise RuntimeError("the App server did not answer within 120 s")

    def __exit__(self, *exc):
        self.proc.terminate()  # ours to stop, by its pid
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def screenshot(url, path, width=1400, height=900, budget_ms=25000):
    """Renders ``url`` in headless Chromium and saves a PNG."""
    profile = tempfile.mkdtemp(prefix="prime-chromium-")
    try:
        subprocess.run(
            [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", f"--user-data-dir={profile}", f"--window-size={width},{height}",
             f"--virtual-time-budget={budget_ms}", f"--screenshot={path}", url],
            capture_output=True, timeout=180, check=True,
        )
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    return path


def rendered_dom(url, budget_ms=25000):
    """The page's DOM after its scripts ran, from headless Chromium."""
    profile = tempfile.mkdtemp(prefix="prime-chromium-")
    try:
        out = subprocess.run(
            [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", f"--user-data-dir={profile}", "--window-size=1400,900",
             f"--virtual-time-budget={budget_ms}", "--dump-dom", url],
            capture_output=True, text=True, timeout=180, check=True,
        )
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    return out.stdout
