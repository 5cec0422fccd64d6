"""A generated dataset with one planted regression: two models, known counts."""

import fiftyone as fo

# (count, class, tags, baseline right, new right)
# cat (200): {snow, night} together 40 samples: baseline 32/40 right, new 4/40
#   (30 losses, 2 wins): the one regression mode. snow / night alone and grass
#   improve. dog (150): the new model never loses.
REGRESSION_BLOCKS = [
    (2, "cat", ["snow", "night"], True, True),
    (30, "cat", ["snow", "night"], True, False),
    (2, "cat", ["snow", "night"], False, True),
    (6, "cat", ["snow", "night"], False, False),
    (45, "cat", ["snow"], True, True),
    (5, "cat", ["snow"], False, True),
    (5, "cat", ["snow"], False, False),
    (45, "cat", ["night"], True, True),
    (5, "cat", ["night"], False, True),
    (5, "cat", ["night"], False, False),
    (40, "cat", ["grass"], True, True),
    (5, "cat", ["grass"], False, True),
    (5, "cat", ["grass"], False, False),
    (100, "dog", ["grass"], True, True),
    (30, "dog", ["blur"], False, True),
    (20, "dog", ["blur", "grass"], False, False),
]

#: (class, tags, size, baseline right, new right) of the planted mode.
PLANTED_REGRESSION = ("cat", ("night", "snow"), 40, 32, 4)

WRONG = {"cat": "dog", "dog": "cat"}


def regression_samples(blocks=REGRESSION_BLOCKS):
    samples = []
    for count, label, tags, base_ok, new_ok in blocks:
        for _ in range(count):
            i = len(samples)
            samples.append(
                fo.Sample(
                    filepath=f"/nonexistent/r{i:06d}.jpg",
                    ground_truth=fo.Classification(label=label),
                    predictions_v1=fo.Classification(label=label if base_ok else WRONG[label]),
                    predictions_v2=fo.Classification(label=label if new_ok else WRONG[label]),
                    prime_tags=fo.Classifications(
                        classifications=[fo.Classification(label=t) for t in tags]
                    ),
                )
            )
    return samples


def add_regression_data(dataset):
    dataset.add_samples(regression_samples())
    return dataset


def regression_dataset(make_dataset, persistent=False):
    """A new dataset of the regression samples, copied in the database from
    one built once per process."""
    from tests.integration.planted import template

    return make_dataset(persistent=persistent, like=template("regression", add_regression_data))
