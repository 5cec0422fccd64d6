"""More like this: the samples of a pool that look like a failure mode, to label next.

After a failure mode ("cats at night in snow"), the next step in data
curation is more data like it. :func:`find_more_like` ranks the samples of
another view or dataset (an unlabeled pool, tagged with the same tag
fields) by how many of the mode's tags each carries, then by whether its
prediction is the mode's class, and saves the top samples as a view or tags
them for labeling.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from ..reading import fields as fpf

logger = logging.getLogger(__name__)

#: How many samples :func:`find_more_like` keeps by default.
DEFAULT_K = 100


@dataclass
class MoreLikeThis:
    """The samples of a pool ranked by how well they match a failure mode.

    Attributes:
        group: the mode's class
        tags: the mode's tags
        ids: the ids of the top samples, best first
        num_tags: per top sample, how many of the mode's tags it carries
        predicted_class: per top sample, whether its prediction is the
            mode's class (``None`` when the pool has no prediction field)
        view: the pool's top samples, in rank order
        view_name: the saved view's name, when one was saved
        tag: the sample tag added to them, when asked
    """

    group: Any
    tags: tuple
    ids: list
    num_tags: list
    predicted_class: Optional[list]
    view: Any
    view_name: Optional[str] = None
    tag: Optional[str] = None

    def precision(self, relevant_ids) -> float:
        """The fraction of the top samples among ``relevant_ids`` (precision at k)."""
        relevant = set(relevant_ids)
        return sum(i in relevant for i in self.ids) / len(self.ids) if self.ids else float("nan")


def find_more_like(
    results,
    pool,
    mode=0,
    *,
    k: int = DEFAULT_K,
    min_tags: Optional[int] = None,
    save_view: Optional[str] = None,
    tag: Optional[str] = None,
    overwrite: bool = False,
    brain_key: Optional[str] = None,
) -> MoreLikeThis:
    """Ranks a pool's samples by how well they match a failure mode, to label next.

    Each sample of ``pool`` is scored by how many of the mode's tags it
    carries (in the run's tag fields), then, among equals, by whether its
    prediction (the run's prediction field, when the pool has it) is the
    mode's class; ties keep the pool's order. The ``k`` best with at least
    ``min_tags`` of the tags are kept, and saved as a view of the pool's
    dataset or tagged for labeling.

    Args:
        results: a run's results with modes (failure modes, hypotheses,
            regressions) whose modes carry tags
        pool: the :class:`fiftyone.core.collections.SampleCollection` to
            rank (tagged with the run's tag fields; labels are not needed)
        mode (0): the mode: its index, its view name or itself
        k (100): how many samples to keep at most
        min_tags (None): the fewest of the mode's tags a kept sample
            carries; all of them if ``None``
        save_view (None): save the top samples, in rank order, as a view of
            the pool's dataset with this name
        tag (None): add this sample tag to the top samples (e.g.
            ``"to_label"``)
        overwrite (False): whether ``save_view`` may replace a saved view
            of that name
        brain_key (None): a FiftyOne Brain similarity index of the pool's
            dataset that also holds the mode's samples
            (``fob.compute_similarity``); the pool's samples are then ranked
            by similarity to the mode's images instead (the mode's own
            samples left out), and ``num_tags`` still says how many of its
            tags each carries

    Returns:
        a :class:`MoreLikeThis`

    Raises:
        ValueError: if the mode has no tags, ``k`` or ``min_tags`` is out of
            range, the pool lacks the run's tag fields, or ``save_view``
            names an existing view (without ``overwrite``); nothing is
            written then
    """
    fpf.check_sample_collection(pool, "find_more_like")
    chosen = results.mode(mode)
    keys = list(zip(chosen.tag_fields, chosen.tag_labels))
    if not keys:
        raise ValueError(
            f"The mode {chosen.group!r}: {' + '.join(chosen.tags)} has no tags to match "
            "(an expression hypothesis); match its expression on the pool instead"
        )
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"`k` must be a whole number >= 1 (samples to keep); got {k!r}")
    min_tags = len(keys) if min_tags is None else min_tags
    if isinstance(min_tags, bool) or not isinstance(min_tags, int):
        raise ValueError(f"`min_tags` must be a whole number; got {min_tags!r}")
    if not 1 <= min_tags <= len(keys):
        raise ValueError(
            f"`min_tags` must be from 1 to {len(keys)} (the mode's tags); got {min_tags}"
        )
    root = pool._root_dataset
    if save_view is not None and save_view in root.list_saved_views() and not overwrite:
        raise ValueError(
            f"Dataset '{root.name}' already has a saved view '{save_view}'; pass "
            "overwrite=True to replace it, or choose another name"
        )
    config = results.config
    sources = {s.field: s for s in fpf.tag_sources(pool, sorted({f for f, _ in keys}))}
    ids = pool.values("id")
    row_of = {i: r for r, i in enumerate(ids)}
    counts = np.zeros(len(ids), dtype=np.int64)
    for field, label in keys:
        for i in pool.match(sources[field].match_expression([label])).values("id"):
            counts[row_of[i]] += 1
    predicted = None
    if pool.has_field(config.pred_field):
        labels = pool.values(f"{config.pred_field}.label")
        predicted = np.array([x == chosen.group for x in labels], dtype=bool)
    second = predicted if predicted is not None else np.zeros(len(ids), dtype=bool)
    if brain_key is None:
        order = np.lexsort((np.arange(len(ids)), ~second, -counts))
        top = [r for r in order[:k] if counts[r] >= min_tags]
    else:
        top = [row_of[i] for i in _similar(results, chosen, pool, k, brain_key)]
    top_ids = [ids[r] for r in top]
    view = pool.select(top_ids, ordered=True)
    found = MoreLikeThis(
        group=chosen.group,
        tags=tuple(chosen.tags),
        ids=top_ids,
        num_tags=[int(counts[r]) for r in top],
        predicted_class=None if predicted is None else [bool(predicted[r]) for r in top],
        view=view,
    )
    if save_view is not None:
        root.save_view(
            save_view,
            view,
            description=(
                f"The {len(top_ids)} samples most like failure mode '{chosen.group}': "
                f"{' + '.join(chosen.tags)} of run '{results.key}' (by the mode's tags "
                f"carried, at least {min_tags}, then predicted class)"
            ),
            overwrite=overwrite,
        )
        found.view_name = save_view
    if tag is not None:
        view.tag_samples(tag)
        found.tag = tag
    logger.info("%d samples like %s: %s", len(top_ids), chosen.group, " + ".join(chosen.tags))
    return found


def _similar(results, mode, pool, k: int, brain_key: str) -> list:
    """The ids of the ``k`` pool samples most similar to the mode's images
    by a Brain similarity index (the mode's samples left out)."""
    root = pool._root_dataset
    if brain_key not in root.list_brain_runs():
        raise ValueError(
            f"Dataset '{root.name}' has no brain run '{brain_key}'; build a similarity index "
            "first (fiftyone.brain.compute_similarity), or leave brain_key out to rank by tags"
        )
    query = results.kind.views(results.samples, results)(mode).values("id")
    if not query:
        raise ValueError("The mode has no samples to query the similarity index with")
    return pool.exclude(query).sort_by_similarity(query, k=k, brain_key=brain_key).values("id")
