"""Generated FiftyOne datasets with failure modes planted at known places."""

import fiftyone as fo

# (count, class, tags, correct): the exact composition of the planted dataset.
# cat (200 samples, 160 right = 80%):
#   {snow, night} together: 40 samples, 10 right (25%)  -> failure mode
#   snow alone / night alone: 55 each, 50 right          -> not failure modes
# dog (150 samples, 120 right = 80%):
#   {blur}: 40 samples, 12 right (30%)                   -> failure mode
#   snow appears in dog too, at the class's accuracy     -> not a failure mode
PLANTED_BLOCKS = [
    (10, "cat", ["snow", "night"], True),
    (30, "cat", ["snow", "night"], False),
    (50, "cat", ["snow"], True),
    (5, "cat", ["snow"], False),
    (50, "cat", ["night"], True),
    (5, "cat", ["night"], False),
    (50, "cat", ["grass"], True),
    (12, "dog", ["blur"], True),
    (28, "dog", ["blur"], False),
    (60, "dog", ["snow"], True),
    (0, "dog", ["snow"], False),
    (48, "dog", ["grass"], True),
    (2, "dog", ["grass"], False),
]

#: (class, tags, size, num_correct) of every planted failure mode, in result order.
PLANTED_MODES = [
    ("cat", ("night", "snow"), 40, 10),
    ("dog", ("blur",), 40, 12),
]

WRONG_LABEL = {"cat": "dog", "dog": "cat"}


def planted_samples(blocks=PLANTED_BLOCKS, tags_field="prime_tags", prefix="s"):
    """Builds samples; tags go to a Classifications field, and also to a
    list-of-strings field ``tag_list`` and a Detections field ``objects``."""
    samples = []
    i = 0
    for count, label, tags, correct in blocks:
        for _ in range(count):
            pred = label if correct else WRONG_LABEL[label]
            sample = fo.Sample(
                filepath=f"/nonexistent/{prefix}{i:06d}.jpg",
                ground_truth=fo.Classification(label=label),
                predictions=fo.Classification(label=pred, confidence=0.9),
                tag_list=list(tags),
                objects=fo.Detections(
                    detections=[
                        fo.Detection(label=t, bounding_box=[0.1, 0.1, 0.5, 0.5]) for t in tags
                    ]
                ),
            )
            sample[tags_field] = fo.Classifications(
                classifications=[fo.Classification(label=t, confidence=0.8) for t in tags]
            )
            samples.append(sample)
            i += 1
    return samples


_TEMPLATES = {}


def template(key, fill):
    """A dataset that ``fill(dataset)`` fills, built once per process under
    ``key`` and never modified afterwards: tests take copies of it
    (``make_dataset(like=template(...))``, a copy made in the database, 10x
    faster than adding the samples again)."""
    dataset = _TEMPLATES.get(key)
    if dataset is None or not fo.dataset_exists(dataset.name):
        dataset = fo.Dataset()
        fill(dataset)
        _TEMPLATES[key] = dataset
    return dataset


def add_planted(dataset, **kwargs):
    """Adds the planted samples to ``dataset``. The default samples are built
    once per process into a template dataset and copied from it in the
    database (10x faster than building them again for every test)."""
    if kwargs:
        dataset.add_samples(planted_samples(**kwargs))
        return dataset
    dataset.add_collection(template("default", lambda d: d.add_samples(planted_samples())))
    return dataset


#: Image files already written in this process, by what they depict.
IMAGE_FILES = {}


def planted_samples_with_images(folder, size=(24, 24), seed=0):
    """The planted samples, each with a real random-noise PNG.

    The PNGs are written to ``folder`` the first time a process asks for
    them and reused afterwards (tests never modify them).
    """
    import numpy as np
    from PIL import Image

    samples = planted_samples()
    key = ("planted", tuple(size), seed)
    if key not in IMAGE_FILES:
        rng = np.random.default_rng(seed)
        paths = []
        for i in range(len(samples)):
            path = f"{folder}/{i}.png"
            Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(path)
            paths.append(path)
        IMAGE_FILES[key] = paths
    for sample, path in zip(samples, IMAGE_FILES[key]):
        sample.filepath = path
    return samples


def planted_with_images(make_dataset, folder, size=(24, 24), persistent=False):
    """A new dataset of :func:`planted_samples_with_images`, copied in the
    database from one built once per process."""
    built = template(
        ("planted images", tuple(size)),
        lambda d: d.add_samples(planted_samples_with_images(folder, size=size)),
    )
    return make_dataset(persistent=persistent, like=built)


def tag_confidences(*pairs):
    """A Classifications of ``(tag, confidence)`` pairs."""
    return fo.Classifications(
        classifications=[fo.Classification(label=t, confidence=c) for t, c in pairs]
    )


def add_planted_audit(dataset):
    """100 labelled samples (40 dog, 30 cat, 30 sofa), 5 untagged, 5 unlabelled.

    Tag "dog": on dogs 0-29 (confidence 0.9) and cats 40-49 (0.3): TP 30,
    FP 10. Tag "couch" (alias "sofa" in the large vocabulary): on sofas 70-99.
    Tag "puppy": mapped to "dog" by hand, on dogs 0-9. Tag "grass": on every
    sample, naming no class.
    """
    classes = ["dog"] * 40 + ["cat"] * 30 + ["sofa"] * 30
    samples = []
    for i, c in enumerate(classes):
        pairs = [("grass", 0.5)]
        if i < 30:
            pairs.append(("dog", 0.9))
        if 40 <= i < 50:
            pairs.append(("dog", 0.3))
        if i >= 70:
            pairs.append(("couch", 0.8))
        if i < 10:
            pairs.append(("puppy", 0.7))
        samples.append(
            fo.Sample(
                filepath=f"/planted/{i}.jpg",
                ground_truth=fo.Classification(label=c),
                prime_tags=tag_confidences(*pairs),
            )
        )
    samples += [
        fo.Sample(filepath=f"/planted/u{i}.jpg", ground_truth=fo.Classification(label="dog"))
        for i in range(5)
    ]
    samples += [
        fo.Sample(filepath=f"/planted/n{i}.jpg", prime_tags=tag_confidences(("dog", 0.9)))
        for i in range(5)
    ]
    dataset.add_samples(samples)
    return dataset
