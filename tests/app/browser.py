"""Serving the FiftyOne App on loopback and screenshotting it with headless Chromium."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from tests.fo_env import REPO_ROOT

APP_SCRIPT = """
import sys, fiftyone as fo
dataset = fo.load_dataset(sys.argv[1])
view = dataset.load_saved_view(sys.argv[2])
sizes = [float(x) for x in sys.argv[4].split(",")] if len(sys.argv) > 4 else None
spaces = fo.Space(
    children=[fo.Panel(type="Samples", pinned=True), fo.Panel(type="prime_failure_modes")],
    orientation="horizontal", sizes=sizes,
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

    def __init__(self, dataset_name, view_name, sizes=None, env=None, argv=None):
        """``env``: the server's environment (default: this process's);
        ``argv``: another command, given the port, that serves the App."""
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        extra = [",".join(str(s) for s in sizes)] if sizes else []
        if argv is None:
            argv = [sys.executable, "-c", APP_SCRIPT, dataset_name, view_name, str(self.port)]
            argv += extra
        else:
            argv = argv(self.port)
        self.proc = subprocess.Popen(
            argv,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            # this checkout's fiftyone_prime, not another install of it
            env={
                **(os.environ if env is None else env),
                "PYTHONPATH": os.pathsep.join(
                    [str(REPO_ROOT)] + [p for p in [os.environ.get("PYTHONPATH")] if p]
                ),
            },
        )

    @classmethod
    def launched(cls, dataset_name, env=None):
        """``fiftyone app launch <dataset>``, as the quickstart says, served
        on loopback for a headless browser (no panel named: the App's own
        default spaces)."""
        fiftyone = Path(sys.executable).parent / "fiftyone"
        command = (
            [str(fiftyone)]
            if fiftyone.exists()
            else [sys.executable, "-c", "import sys, fiftyone.core.cli as c; sys.exit(c.main())"]
        )
        return cls(
            dataset_name,
            None,
            env=env,
            argv=lambda port: [
                *command,
                "app",
                "launch",
                dataset_name,
                "--remote",
                "--port",
                str(port),
                "--address",
                "127.0.0.1",
                "--wait",
                "-1",
            ],
        )

    def __enter__(self):
        deadline = time.time() + 120
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"the App server exited: {self.proc.stderr.read().decode()[-2000:]}"
                )
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
            [
                chromium(),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                f"--window-size={width},{height}",
                f"--virtual-time-budget={budget_ms}",
                f"--screenshot={path}",
                url,
            ],
            capture_output=True,
            timeout=180,
            check=True,
        )
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    return path


def rendered_dom(url, budget_ms=25000):
    """The page's DOM after its scripts ran, from headless Chromium."""
    profile = tempfile.mkdtemp(prefix="prime-chromium-")
    try:
        out = subprocess.run(
            [
                chromium(),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                "--window-size=1400,900",
                f"--virtual-time-budget={budget_ms}",
                "--dump-dom",
                url,
            ],
            capture_output=True,
            text=True,
            timeout=180,
            check=True,
        )
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    return out.stdout


class DevTools:
    """Headless Chromium driven over the DevTools protocol on a pipe
    (``--remote-debugging-pipe``: NUL-terminated JSON on fds 3 and 4), with
    no package beyond the standard library.

    Used for a clean screenshot: scripts that run before the App's own (to
    dismiss FiftyOne's one-time "Explore Enterprise" pop-up as a user who
    clicked "Dismiss" would, through the same localStorage key), a window of
    a chosen size, and checks of the rendered page.
    """

    def __init__(self, width=1400, height=900):
        self.width, self.height = width, height
        self._id = 0
        self._profile = tempfile.mkdtemp(prefix="prime-chromium-")
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()
        args = " ".join(
            [
                chromium(),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={self._profile}",
                "--remote-debugging-pipe",
                f"--window-size={width},{height}",
                "about:blank",
            ]
        )
        self.proc = subprocess.Popen(
            ["bash", "-c", f"exec {args} 3<&{to_chrome_r} 4>&{from_chrome_w}"],
            pass_fds=(to_chrome_r, from_chrome_w),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buffer = b""
        targets = self.send("Target.getTargets")["targetInfos"]
        page = next(t for t in targets if t["type"] == "page")
        self.session = self.send("Target.attachToTarget", targetId=page["targetId"], flatten=True)[
            "sessionId"
        ]
        self.send("Page.enable", session=True)
        self.send(
            "Emulation.setDeviceMetricsOverride",
            session=True,
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )

    def send(self, method, session=False, **params):
        import json

        self._id += 1
        message = {"id": self._id, "method": method, "params": params}
        if session:
            message["sessionId"] = self.session
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        while True:
            while b"\0" not in self._buffer:
                chunk = os.read(self._from_chrome, 1 << 20)
                if not chunk:
                    raise RuntimeError("chromium closed the DevTools pipe")
                self._buffer += chunk
            raw, self._buffer = self._buffer.split(b"\0", 1)
            reply = json.loads(raw)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def before_each_page(self, script):
        self.send("Page.addScriptToEvaluateOnNewDocument", session=True, source=script)

    def open(self, url):
        self.send("Page.navigate", session=True, url=url)

    def evaluate(self, expression):
        result = self.send(
            "Runtime.evaluate", session=True, expression=expression, returnByValue=True
        )
        return result.get("result", {}).get("value")

    def wait_for(self, expression, timeout=60):
        """Polls a JS expression until it is truthy; returns its value."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.5)
        raise TimeoutError(f"the page never satisfied: {expression}")

    def screenshot(self, path):
        import base64

        data = self.send("Page.captureScreenshot", session=True, format="png")["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))
        return path

    def close(self):
        try:
            self.send("Browser.close")
        except Exception:
            pass
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()  # ours, by its pid
            self.proc.wait()
        for fd in (self._to_chrome, self._from_chrome):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self._profile, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


#: Run before the App's scripts: the state FiftyOne stores once a user has
#: dismissed its "Explore Enterprise" pop-up.
DISMISS_ENTERPRISE_POPUP = (
    "try { localStorage.setItem('fiftyone-enterprise-tooltip-seen', 'true'); } catch (e) {}"
)


# Types into the input that follows a label (FiftyOne renders the label in its
# own box before the field), as a user would: React's value setter, then the
# input and change events, then leaving the field. True once typed.
_TYPE_INTO = """
(() => {
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  let label = null, node;
  while ((node = walker.nextNode())) {
    if (node.textContent.trim() === %s) { label = node.parentElement; break; }
  }
  if (!label) return false;
  const box = [...document.querySelectorAll('input')].find(
    i => label.compareDocumentPosition(i) & Node.DOCUMENT_POSITION_FOLLOWING);
  if (!box) return false;
  const set = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set;
  box.focus();
  set.call(box, %s);
  box.dispatchEvent(new Event('input', {bubbles: true}));
  box.dispatchEvent(new Event('change', {bubbles: true}));
  box.blur();
  return true;
})()
"""


def type_into(label, value):
    """The JS that types ``value`` into the panel input labelled ``label``
    (for :meth:`DevTools.wait_for`: false until the input exists)."""
    import json

    return _TYPE_INTO % (json.dumps(label), json.dumps(str(value)))
