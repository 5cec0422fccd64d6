"""CLIP metrics of a failure mode: how well its caption describes its images.

Given normalized image embeddings of a class, the normalized embedding of a
failure mode's caption, and which of the class's images are in the failure
mode, PRIME measures

-   similarity: the mean image-caption cosine similarity inside the group;
-   coherency: the standard deviation of that similarity inside the group;
-   specificity: the AUROC of the similarity for telling the group's images
    from the class's other images (ties count one half, as in
    ``sklearn.metrics.roc_auc_score``).

The same scores for random groups of the same size drawn from the same class
show how far above chance a description is.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Optional

import numpy as np
from scipy.stats import rankdata


@dataclass(frozen=True)
class CaptionScores:
    """The CLIP metrics of one failure mode.

    Attributes:
        similarity_mean: mean image-caption similarity inside the group
        similarity_std: its standard deviation (population, ``ddof=0``)
        auroc: AUROC of the similarity, group vs the rest of the class (NaN
            when the group is the whole class)
        random_similarity_mean: ``similarity_mean`` of random same-size groups
            of the class, averaged over draws (NaN without draws)
        random_similarity_std: the same for ``similarity_std``
        random_auroc: the same for ``auroc`` (about 0.5)
        num_images: the number of group images scored
    """

    similarity_mean: float
    similarity_std: float
    auroc: float
    random_similarity_mean: float
    random_similarity_std: float
    random_auroc: float
    num_images: int

    def to_dict(self) -> dict:
        return asdict(self)


def auroc(scores: np.ndarray, positive: np.ndarray) -> float:
    """AUROC of ``scores`` for the ``positive`` mask, ties counted one half.

    Identical to ``sklearn.metrics.roc_auc_score(positive, scores)``; NaN
    when either class is empty.
    """
    scores = np.asarray(scores, dtype=np.float64)
    positive = np.asarray(positive, dtype=bool)
    if scores.shape != positive.shape or scores.ndim != 1:
        raise ValueError(
            f"`scores` and `positive` must be 1-D of one length; got {scores.shape} and {positive.shape}"
        )
    return float(_auroc_from_ranks(rankdata(scores), positive[None, :])[0])


def _auroc_from_ranks(ranks: np.ndarray, positive: np.ndarray) -> np.ndarray:
    """AUROC per row of a ``(R, N)`` positive mask, given the ``(N,)`` ranks."""
    n_pos = positive.sum(axis=1).astype(np.float64)
    n_neg = positive.shape[1] - n_pos
    rank_sum = (positive * ranks[None, :]).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    out[(n_pos == 0) | (n_neg == 0)] = np.nan
    return out


def caption_scores(
    similarities: np.ndarray,
    in_group: np.ndarray,
    *,
    num_random: int = 20,
    rng: Optional[np.random.Generator] = None,
) -> CaptionScores:
    """The metrics of one failure mode from its class's similarities.

    Args:
        similarities: ``(n_class,)`` cosine similarities between each image of
            the class and the failure mode's caption
        in_group: ``(n_class,)`` bool, whether each image is in the failure mode
        num_random (20): random same-size groups drawn for the baseline
        rng (None): a numpy Generator (default: seeded with 0)

    Returns:
        a :class:`CaptionScores`
    """
    s = np.asarray(similarities, dtype=np.float64)
    mask = np.asarray(in_group, dtype=bool)
    if s.ndim != 1 or mask.shape != s.shape:
        raise ValueError(
            f"`similarities` and `in_group` must be 1-D of one length; got {s.shape} and {mask.shape}"
        )
    k = int(mask.sum())
    if k == 0:
        raise ValueError("`in_group` selects no image")
    ranks = rankdata(s)
    inside = s[mask]
    score = _auroc_from_ranks(ranks, mask[None, :])[0]
    if num_random > 0:
        rng = rng if rng is not None else np.random.default_rng(0)
        order = np.argsort(rng.random((num_random, len(s))), axis=1)[:, :k]
        random_mask = np.zeros((num_random, len(s)), dtype=bool)
        np.put_along_axis(random_mask, order, True, axis=1)
        picked = np.take_along_axis(np.broadcast_to(s, random_mask.shape), order, axis=1)
        r_mean = float(picked.mean(axis=1).mean())
        r_std = float(picked.std(axis=1).mean())
        r_auroc = (
            float(np.nanmean(_auroc_from_ranks(ranks, random_mask))) if k < len(s) else float("nan")
        )
    else:
        r_mean = r_std = r_auroc = float("nan")
    return CaptionScores(
        similarity_mean=float(inside.mean()),
        similarity_std=float(inside.std()),
        auroc=float(score),
        random_similarity_mean=r_mean,
        random_similarity_std=r_std,
        random_auroc=r_auroc,
        num_images=k,
    )


def similarity_matrix(image_embeddings: np.ndarray, caption_embeddings: np.ndarray) -> np.ndarray:
    """Cosine similarities ``(n_images, n_captions)`` of normalized embeddings."""
    a = np.asarray(image_embeddings, dtype=np.float32)
    b = np.asarray(caption_embeddings, dtype=np.float32)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(
            f"Embeddings must be 2-D with one dimension; got images {a.shape} and captions {b.shape}"
        )
    return a @ b.T


def score_failure_modes(
    image_embeddings: np.ndarray,
    image_classes: np.ndarray,
    caption_embeddings: np.ndarray,
    mode_classes: np.ndarray,
    mode_members: list,
    *,
    num_random: int = 20,
    rng: Optional[np.random.Generator] = None,
) -> list[CaptionScores]:
    """Scores many failure modes with one matrix product per class.

    Args:
        image_embeddings: ``(n, D)`` normalized embeddings of every image involved
        image_classes: ``(n,)`` the class of each image
        caption_embeddings: ``(m, D)`` normalized embeddings of the captions
        mode_classes: ``(m,)`` the class of each failure mode
        mode_members: per failure mode, the indices (into the ``n`` images)
            of its images
        num_random (20): random groups per failure mode for the baseline
        rng (None): a numpy Generator (default: seeded with 0)

    Returns:
        a list of ``m`` :class:`CaptionScores` (``None`` for a mode without images)
    """
    images = np.asarray(image_embeddings, dtype=np.float32)
    captions = np.asarray(caption_embeddings, dtype=np.float32)
    image_classes = np.asarray(image_classes, dtype=object)
    mode_classes = np.asarray(mode_classes, dtype=object)
    if len(images) != len(image_classes):
        raise ValueError(
            f"`image_classes` has {len(image_classes)} entries for {len(images)} embeddings"
        )
    if len(captions) != len(mode_classes) or len(mode_members) != len(mode_classes):
        raise ValueError(
            f"Got {len(captions)} captions, {len(mode_classes)} mode classes and "
            f"{len(mode_members)} member lists; they must match"
        )
    rng = rng if rng is not None else np.random.default_rng(0)
    out: list = [None] * len(mode_classes)
    for cls in dict.fromkeys(mode_classes.tolist()):
        modes = np.flatnonzero(mode_classes == cls)
        rows = np.flatnonzero(image_classes == cls)
        sims = similarity_matrix(images[rows], captions[modes])  # (n_class, m_class)
        position = np.full(len(images), -1)
        position[rows] = np.arange(len(rows))
        for j, mode in enumerate(modes):
            members = position[np.asarray(mode_members[mode], dtype=np.int64)]
            members = members[members >= 0]
            if len(members) == 0:
                continue
            in_group = np.zeros(len(rows), dtype=bool)
            in_group[members] = True
            out[mode] = caption_scores(sims[:, j], in_group, num_random=num_random, rng=rng)
    return out
