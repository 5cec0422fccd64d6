"""Hypotheses proposed by a language model, then tested exactly on held-out samples.

From a failure-mode run's modes (their class, tags, captions and the other
tags their images carry), :func:`propose_hypotheses` asks an
OpenAI-compatible chat endpoint (``POST {base_url}/chat/completions``: the
OpenAI API, vLLM, Ollama, llama.cpp's server...) for hypotheses in a fixed
JSON schema::

    {"hypotheses": [{"class": "cat" | null, "tags": ["snow", "night"],
                     "rationale": "..."}]}

and :func:`propose_and_test` tests every proposal with
:func:`fiftyone_prime.test_hypotheses` on the samples the run did not search,
with the dataset's online false-discovery budget. A proposal is never a
finding by itself: only what the test confirms is.

Off unless configured: the endpoint comes from the arguments or the
environment (:data:`BASE_URL_ENV`, :data:`MODEL_ENV`, :data:`API_KEY_ENV`;
the plugin reads the same names as its secrets).
"""

from __future__ import annotations

import json
import logging
import os
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass
from typing import Any, Optional

logger = logging.getLogger(__name__)

#: The environment variable (and plugin secret) with the endpoint's base URL
#: (e.g. ``https://api.openai.com/v1``, ``http://localhost:11434/v1``).
BASE_URL_ENV = "FIFTYONE_PRIME_LLM_BASE_URL"

#: The environment variable (and plugin secret) with the model's name.
MODEL_ENV = "FIFTYONE_PRIME_LLM_MODEL"

#: The environment variable (and plugin secret) with the API key (optional
#: for local servers).
API_KEY_ENV = "FIFTYONE_PRIME_LLM_API_KEY"

#: The most tags the prompt offers (the run's most frequent, and every
#: mode's own).
MAX_VOCABULARY = 300

#: How many of a mode's most frequent other tags the prompt lists.
OTHER_TAGS = 8

_SYSTEM = (
    "You help find where an image classifier fails. You get failure modes found on one part "
    "of a dataset: a class, a set of tags (concepts detected in the images) and how much "
    "accuracy drops. Propose hypotheses about other tag combinations that may also fail, "
    "using only tags from the list given. Answer with JSON only, in this schema: "
    '{"hypotheses": [{"class": "<a class, or null for every class>", '
    '"tags": ["<tag>", ...], "rationale": "<one sentence>"}]}'
)


@dataclass(frozen=True)
class ChatEndpoint:
    """An OpenAI-compatible chat endpoint.

    Attributes:
        base_url: the API's base URL (``.../v1``)
        model: the model's name
        api_key (None): sent as ``Authorization: Bearer <key>``
        timeout (60.0): seconds to wait for an answer
    """

    base_url: str
    model: str
    api_key: Optional[str] = None
    timeout: float = 60.0

    @classmethod
    def configured(cls, secrets=None) -> Optional[ChatEndpoint]:
        """The endpoint from ``secrets`` (a mapping, e.g. a plugin's) or the
        environment; ``None`` when no base URL or model is configured."""

        def get(name):
            value = None
            if secrets is not None:
                try:
                    value = secrets.get(name)
                except Exception:
                    value = None
            return value or os.environ.get(name) or None

        base_url, model = get(BASE_URL_ENV), get(MODEL_ENV)
        if not base_url or not model:
            return None
        return cls(base_url, model, get(API_KEY_ENV))


@dataclass(frozen=True)
class Proposal:
    """A hypothesis a language model proposed (not a finding until tested).

    Attributes:
        group: its class, ``None`` for every class
        tags: its tags
        rationale: the model's reason, as it gave it
    """

    group: Optional[str]
    tags: tuple[str, ...]
    rationale: str = ""


def describe_modes(results, max_modes: int = 20) -> tuple[str, list[str]]:
    """The prompt's description of a run's modes, and the tags it may use.

    Each mode is listed with its class, tags, accuracy drop, caption (when
    its CLIP metrics made one) and the tags its images carry most often
    besides its own; the tags offered are the run's most frequent
    (:data:`MAX_VOCABULARY`) and the modes' own.

    Raises:
        ValueError: for a run of a score (its modes are not tested as
            right/wrong hypotheses yet)
    """
    from .holdout import check_measurable

    check_measurable(results, "proposing and testing hypotheses from")
    vocabulary: set[str] = set()
    lines = []
    modes = results.sorted("drop")[:max_modes]
    view_of = results.kind.views(results.samples, results)
    paths = {f: s.label_path for f, s in _sources(results).items()}
    for m in modes:
        others: Counter = Counter()
        view = view_of(m)
        own = set(zip(m.tag_fields, m.tag_labels))
        for field, path in paths.items():
            for values in view.values(path):
                for label in _as_list(values):
                    if (field, label) not in own:  # named as the search names tags
                        others[f"{field}:{label}" if len(paths) > 1 else label] += 1
        caption = (m.metrics or {}).get("caption") if getattr(m, "metrics", None) else None
        top = [t for t, _ in others.most_common(OTHER_TAGS)]
        lines.append(
            f"- class {m.group!r}, tags {list(m.tags)}: accuracy {m.accuracy:.0%} vs "
            f"{m.group_accuracy:.0%} for the class ({m.size} images)"
            + (f"; caption {caption!r}" if caption else "")
            + (f"; its images also often have {top}" if top else "")
        )
        vocabulary.update(m.tags)
        vocabulary.update(top)
    counts: Counter = Counter()
    for field, path in paths.items():
        for label, n in results.samples.count_values(path).items():
            if label is not None:
                counts[f"{field}:{label}" if len(paths) > 1 else label] += n
    vocabulary.update(t for t, _ in counts.most_common(MAX_VOCABULARY))
    classes = sorted(map(str, results.groups))
    text = (
        f"Classes: {classes}\nFailure modes:\n" + "\n".join(lines) + "\n"
        f"Tags you may use: {sorted(vocabulary)}"
    )
    return text, sorted(vocabulary)


def _sources(results) -> dict:
    from ..reading.fields import tag_sources

    return {s.field: s for s in tag_sources(results.samples, results.config.tags_fields)}


def _as_list(values) -> list:
    if values is None:
        return []
    return [values] if isinstance(values, str) else [v for v in values if v is not None]


def propose_hypotheses(
    results, endpoint: Optional[ChatEndpoint] = None, *, max_proposals: int = 10
) -> list[Proposal]:
    """Asks a chat endpoint for hypotheses from a run's failure modes.

    Args:
        results: a failure-mode run's results
        endpoint (None): the :class:`ChatEndpoint`; the configured one
            (environment) if ``None``
        max_proposals (10): the most proposals kept (in the model's order)

    Returns:
        the proposals that name known classes and tags (others are dropped
        and logged); none of them is a finding until tested

    Raises:
        ValueError: if no endpoint is configured, or the answer is not JSON
            in the schema
        RuntimeError: if the endpoint answers with an error or cannot be reached
    """
    endpoint = endpoint or ChatEndpoint.configured()
    if endpoint is None:
        raise ValueError(
            f"No language model is configured: set {BASE_URL_ENV} and {MODEL_ENV} (and "
            f"{API_KEY_ENV} if the server needs one), or pass a ChatEndpoint"
        )
    prompt, vocabulary = describe_modes(results)
    answer = _chat(endpoint, prompt)
    return _read_proposals(answer, set(map(str, results.groups)), set(vocabulary), max_proposals)


def _chat(endpoint: ChatEndpoint, prompt: str) -> str:
    """The content of the endpoint's first choice."""
    body = {
        "model": endpoint.model,
        "messages": [{"role": "system", "content": _SYSTEM}, {"role": "user", "content": prompt}],
        "temperature": 0,
        "response_format": {"type": "json_object"},
    }
    headers = {"Content-Type": "application/json"}
    if endpoint.api_key:
        headers["Authorization"] = f"Bearer {endpoint.api_key}"
    url = endpoint.base_url.rstrip("/") + "/chat/completions"
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=endpoint.timeout) as response:
            raw = response.read()
    except urllib.error.HTTPError as e:
        raise RuntimeError(
            f"The language model at {url} answered HTTP {e.code}: {_error_message(e)}"
        ) from None
    except (urllib.error.URLError, OSError) as e:
        raise RuntimeError(f"Cannot reach the language model at {url}: {e}") from None
    try:
        return json.loads(raw)["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise ValueError(f"The answer from {url} is not a chat completion: {raw[:200]!r}") from None


def _error_message(error) -> str:
    """The ``error.message`` of an OpenAI-style error body, else its text."""
    try:
        raw = error.read()
    except Exception:
        return str(error.reason)
    try:
        return str(json.loads(raw)["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return raw[:200].decode(errors="replace") or str(error.reason)


def _read_proposals(content: str, classes: set, vocabulary: set, limit: int) -> list[Proposal]:
    """The proposals in a model's answer, checked against the schema."""
    text = (content or "").strip()
    if text.startswith("```"):  # some models fence their JSON
        text = text.strip("`").removeprefix("json").strip()
    try:
        items = json.loads(text)["hypotheses"]
        if not isinstance(items, list):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise ValueError(
            'The language model\'s answer is not JSON in the schema {"hypotheses": [...]}: '
            f"{text[:200]!r}"
        ) from None
    out = []
    for item in items:
        reason = _invalid(item, classes, vocabulary)
        if reason:
            logger.info("Dropped the proposal %r: %s", item, reason)
            continue
        proposal = Proposal(
            item.get("class"), tuple(dict.fromkeys(item["tags"])), str(item.get("rationale", ""))
        )
        if proposal not in out:
            out.append(proposal)
    return out[:limit]


def _invalid(item: Any, classes: set, vocabulary: set) -> Optional[str]:
    """Why a proposed item cannot be tested, or ``None``."""
    if not isinstance(item, dict):
        return "not an object"
    tags = item.get("tags")
    if not isinstance(tags, list) or not tags or not all(isinstance(t, str) for t in tags):
        return "no list of tag names"
    unknown = sorted(set(tags) - vocabulary)
    if unknown:
        return f"unknown tags {unknown}"
    group = item.get("class")
    if group is not None and (not isinstance(group, str) or group not in classes):
        return f"unknown class {group!r}"
    return None


def propose_and_test(
    results,
    samples=None,
    *,
    endpoint: Optional[ChatEndpoint] = None,
    max_proposals: int = 10,
    run_key: Optional[str] = None,
    overwrite: bool = False,
):
    """Asks a language model for hypotheses from a run's failure modes, and
    tests every proposal exactly on the samples the run did not search.

    Args:
        results: a failure-mode run's results
        samples (None): the collection to test on (the run's dataset by
            default); the run's own samples are left out
        endpoint (None): the :class:`ChatEndpoint` (the configured one if ``None``)
        max_proposals (10): the most proposals tested
        run_key (None): store the tested hypotheses as a run with this key
        overwrite (False): whether to replace a hypothesis run with that key

    Returns:
        ``(proposals, tested)``: the :class:`Proposal` list, and the
        :class:`fiftyone_prime.HypothesisResults` of testing them; only
        ``tested.rejected`` are findings

    Raises:
        ValueError: as :func:`propose_hypotheses`, or if the model proposed
            nothing that can be tested
    """
    from .hypotheses import test_hypotheses

    proposals = propose_hypotheses(results, endpoint, max_proposals=max_proposals)
    if not proposals:
        raise ValueError("The language model proposed no hypothesis with known classes and tags")
    c = results.config
    tested = test_hypotheses(
        results.samples._root_dataset if samples is None else samples,
        [(p.group, list(p.tags)) if p.group is not None else list(p.tags) for p in proposals],
        label_field=c.label_field,
        pred_field=c.pred_field,
        tags_field=c.tags_fields,
        proposed_from=results,
        run_key=run_key,
        overwrite=overwrite,
    )
    return proposals, tested
