"""Helpers the test modules share: the short forms in which they compare
failure modes, regressions and written tags."""

from fiftyone_prime.core.defaults import TAGS_FIELD


def summary(results):
    """``[(group, tags, size, num_correct)]`` of a run's failure modes."""
    return [(m.group, m.tags, m.size, m.num_correct) for m in results.failure_modes]


def regression_summary(results):
    """``[(group, tags, size, baseline_num_correct, num_correct)]`` of a run's regressions."""
    return [
        (m.group, m.tags, m.size, m.baseline_num_correct, m.num_correct)
        for m in results.regressions
    ]


def tags_by_path(dataset, field=TAGS_FIELD, confidences=False):
    """``{filepath: [tag]}`` of a Classifications tag field, or with
    ``confidences`` ``{filepath: [(tag, confidence)]}`` (the Classification ids
    differ by run, so they are left out); None where a sample has no tags."""
    if not confidences:
        paths, tags = dataset.values(["filepath", f"{field}.classifications.label"])
        return dict(zip(paths, tags))
    paths, tags = dataset.values(["filepath", f"{field}.classifications"])
    return {
        p: None if t is None else [(c.label, round(c.confidence, 6)) for c in t]
        for p, t in zip(paths, tags)
    }
