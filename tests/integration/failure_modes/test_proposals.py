"""Hypotheses proposed by a language model, against a local server speaking the
OpenAI chat-completions API (http.server on localhost), then tested exactly on
the samples the run did not search."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from fiftyone import ViewField as F

import fiftyone_prime as fp
from fiftyone_prime.integration.failure_modes import proposals as fpp


class FakeChat:
    """A local chat-completions server: answers each POST with the next
    ``(status, body)`` of ``answers`` and records the requests."""

    def __init__(self):
        self.answers, self.requests = [], []
        chat = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers["Content-Length"])
                chat.requests.append(
                    {
                        "path": self.path,
                        "auth": self.headers.get("Authorization"),
                        "body": json.loads(self.rfile.read(length)),
                    }
                )
                status, body = chat.answers.pop(0)
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.endpoint = fpp.ChatEndpoint(
            f"http://127.0.0.1:{self.server.server_address[1]}/v1", "tiny", "sk-test", timeout=10
        )

    def answer(self, content, status=200):
        """Queues a chat completion whose message is ``content`` (a dict is sent as JSON)."""
        text = json.dumps(content) if isinstance(content, dict) else content
        self.answers.append(
            (status, {"choices": [{"index": 0, "message": {"role": "assistant", "content": text}}]})
        )

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def chat():
    server = FakeChat()
    yield server
    server.close()


def _found_on_half(planted):
    planted.set_values("split", ["a" if i % 2 == 0 else "b" for i in range(len(planted))])
    half = planted.match(F("split") == "a")
    return fp.find_failure_modes(half, run_key="found", min_size=10, alpha=None)


def test_a_proposal_round_tests_every_proposal_on_held_out_samples(planted, chat):
    found = _found_on_half(planted)
    chat.answer(
        {
            "hypotheses": [
                {"class": "cat", "tags": ["snow", "night"], "rationale": "dark snowy cats"},
                {"class": None, "tags": ["grass"], "rationale": "grass everywhere"},
                {"class": "cat", "tags": ["unicorn"], "rationale": "not a tag"},
                {"class": "bird", "tags": ["snow"], "rationale": "not a class"},
                "not an object",
            ]
        }
    )
    proposals, tested = fpp.propose_and_test(found, endpoint=chat.endpoint, run_key="llm")

    # the request: the API's shape, the key, the modes and the tags they may use
    (request,) = chat.requests
    assert request["path"] == "/v1/chat/completions" and request["auth"] == "Bearer sk-test"
    body = request["body"]
    assert body["model"] == "tiny" and body["response_format"] == {"type": "json_object"}
    prompt = body["messages"][1]["content"]
    assert "class 'cat', tags ['night', 'snow']" in prompt and "Tags you may use" in prompt

    # only proposals with known classes and tags are tested, on the other half
    assert [(p.group, p.tags) for p in proposals] == [
        ("cat", ("snow", "night")),
        (None, ("grass",)),
    ]
    assert tested.held_out["proposed_from"] == "the 175 samples of failure-mode run 'found'"
    decided = [(r.group, r.tags, r.size, r.rejected) for r in tested.results]
    assert decided == [
        ("cat", ("snow", "night"), 20, True),
        ("cat", ("grass",), 25, False),
        ("dog", ("grass",), 25, False),
    ]
    # the findings are what the test confirmed, stored as a run with a view
    assert [r.view_name for r in fp.load_hypotheses(planted, "llm").rejected] == [
        "llm cat: snow + night"
    ]


def test_errors_and_malformed_answers_are_one_line_and_test_nothing(planted, chat):
    found = _found_on_half(planted)
    chat.answers.append((401, {"error": {"message": "Incorrect API key", "type": "auth"}}))
    with pytest.raises(RuntimeError, match=r"answered HTTP 401: Incorrect API key"):
        fpp.propose_and_test(found, endpoint=chat.endpoint)
    chat.answers.append((500, b"upstream crashed"))
    with pytest.raises(RuntimeError, match=r"answered HTTP 500: upstream crashed"):
        fpp.propose_and_test(found, endpoint=chat.endpoint)
    chat.answers.append((200, b"<html>not json</html>"))
    with pytest.raises(ValueError, match=r"is not a chat completion"):
        fpp.propose_and_test(found, endpoint=chat.endpoint)
    chat.answer("Sure! Here are some hypotheses: cats at night.")
    with pytest.raises(ValueError, match=r"not JSON in the schema"):
        fpp.propose_and_test(found, endpoint=chat.endpoint)
    chat.answer({"ideas": []})
    with pytest.raises(ValueError, match=r"not JSON in the schema"):
        fpp.propose_and_test(found, endpoint=chat.endpoint)
    chat.answer({"hypotheses": [{"class": "cat", "tags": ["unicorn"]}]})
    with pytest.raises(ValueError, match=r"proposed no hypothesis with known classes and tags"):
        fpp.propose_and_test(found, endpoint=chat.endpoint)
    # a fenced JSON answer is read
    chat.answer('```json\n{"hypotheses": [{"class": "dog", "tags": ["blur"]}]}\n```')
    proposals, tested = fpp.propose_and_test(found, endpoint=chat.endpoint)
    assert [(p.group, p.tags) for p in proposals] == [("dog", ("blur",))]
    assert tested.num_tested == 1  # the errors above spent nothing
    planted.reload()
    assert planted.info["prime_online_fdr"]["num_tested"] == 1


def test_off_unless_configured(planted, monkeypatch):
    for name in (fpp.BASE_URL_ENV, fpp.MODEL_ENV, fpp.API_KEY_ENV):
        monkeypatch.delenv(name, raising=False)
    assert fpp.ChatEndpoint.configured() is None
    found = fp.find_failure_modes(planted, run_key="found", alpha=None)
    with pytest.raises(ValueError, match=r"No language model is configured: set FIFTYONE_PRIME"):
        fpp.propose_hypotheses(found)
    monkeypatch.setenv(fpp.BASE_URL_ENV, "http://127.0.0.1:9/v1")
    monkeypatch.setenv(fpp.MODEL_ENV, "m")
    assert fpp.ChatEndpoint.configured() == fpp.ChatEndpoint("http://127.0.0.1:9/v1", "m")
    secrets = {fpp.MODEL_ENV: "from-secrets"}
    assert fpp.ChatEndpoint.configured(secrets).model == "from-secrets"
    with pytest.raises(RuntimeError, match="Cannot reach the language model"):
        fpp.propose_hypotheses(found)
