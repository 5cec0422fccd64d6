"""Tags from image properties measured on pixels: no model weights needed.

Low-level properties (dark, blurry, small object...) are a common cause of
failures, and this tagger runs anywhere, including machines without CLIP
weights. Every tag has a documented rule on measurements of the image,
computed on a copy whose long side is at most 256 pixels (so rules do not
depend on resolution), with intensities in ``[0, 1]``:

================  =====================================================  =========
tag               rule                                                   default
================  =====================================================  =========
dark              mean luminance ``Y`` below ``dark``                    0.25
bright            mean luminance above ``bright``                        0.75
low contrast      std of luminance below ``low_contrast``                0.08
high contrast     std of luminance above ``high_contrast``               0.30
grayscale         mean of ``max(R,G,B) - min(R,G,B)`` below ``gray``     0.04
colorful          Hasler-Suesstrunk colorfulness above ``colorful``      0.30
blurry            variance of the Laplacian of ``Y`` below ``blurry``    0.002
sharp             variance of the Laplacian above ``sharp``              0.02
plain             mean gradient magnitude of ``Y`` below ``plain``       0.015
textured          mean gradient magnitude above ``textured``             0.08
small object      foreground area fraction below ``small`` (and > 0.5%)  0.10
large object      foreground area fraction above ``large``               0.60
off-center object foreground centroid farther than ``off_center`` from   0.25
                  the image center (in image-size units)
wide              width / height above ``wide``                          1.3
tall              height / width above ``tall``                          1.3
wide silhouette   the object's bounding box width / height above         1.5
                  ``wide_shape``
narrow silhouette the object's bounding box height / width above         1.5
                  ``narrow_shape``
filled shape      the object covers more than ``filled`` of its          0.80
                  bounding box (a compact, solid shape)
sparse shape      the object covers less than ``sparse`` of its          0.40
                  bounding box (thin parts, holes, scattered pieces)
symmetric         left-right mirror overlap (IoU) of the object's        0.90
                  silhouette above ``symmetric``
asymmetric        mirror overlap below ``asymmetric``                    0.60
textured object   mean gradient magnitude of ``Y`` inside the object     0.06
                  (its boundary excluded) above ``textured_object``
uniform object    that interior gradient below ``uniform_object``        0.02
================  =====================================================  =========

Luminance is ``0.299 R + 0.587 G + 0.114 B``. The foreground (the "object")
is the set of pixels whose largest channel difference from the background
color (the median of the image's border pixels) exceeds 0.15. The object
rules (``small object`` to ``uniform object``) apply only when the
foreground covers more than 0.5% of the image; the shape and surface rules
(``wide silhouette`` to ``uniform object``) also need it to cover less than
95%, since a foreground that fills the frame has no silhouette. The surface
rules need at least 20 interior pixels (foreground pixels whose four
neighbours are foreground too).

The rules need numpy and Pillow only: this tagger runs where torch is not
installed.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from .images import to_rgb

#: Measurement names, in the order of :func:`measure`'s output.
MEASURES = (
    "luminance",
    "contrast",
    "saturation",
    "colorfulness",
    "laplacian_var",
    "gradient",
    "foreground_area",
    "foreground_offset",
    "aspect_ratio",
    "silhouette_aspect",
    "fill",
    "symmetry",
    "interior_gradient",
)

DEFAULT_THRESHOLDS = {
    "dark": 0.25,
    "bright": 0.75,
    "low_contrast": 0.08,
    "high_contrast": 0.30,
    "gray": 0.04,
    "colorful": 0.30,
    "blurry": 0.002,
    "sharp": 0.02,
    "plain": 0.015,
    "textured": 0.08,
    "small": 0.10,
    "large": 0.60,
    "off_center": 0.25,
    "wide": 1.3,
    "tall": 1.3,
    "wide_shape": 1.5,
    "narrow_shape": 1.5,
    "filled": 0.80,
    "sparse": 0.40,
    "symmetric": 0.90,
    "asymmetric": 0.60,
    "textured_object": 0.06,
    "uniform_object": 0.02,
}

TAGS = (
    "dark",
    "bright",
    "low contrast",
    "high contrast",
    "grayscale",
    "colorful",
    "blurry",
    "sharp",
    "plain",
    "textured",
    "small object",
    "large object",
    "off-center object",
    "wide",
    "tall",
    "wide silhouette",
    "narrow silhouette",
    "filled shape",
    "sparse shape",
    "symmetric",
    "asymmetric",
    "textured object",
    "uniform object",
)

#: The least share of the image the foreground covers for the object rules.
_MIN_OBJECT = 0.005
#: The most share of the image it covers for the shape and surface rules.
_MAX_SHAPE = 0.95
#: The fewest interior pixels for the surface rules.
_MIN_INTERIOR = 20

_WORK_SIZE = 256


def measure(image) -> np.ndarray:
    """Measures an RGB PIL image (or an ``(H, W, 3)`` array); see :data:`MEASURES`."""
    if hasattr(image, "size") and not isinstance(image, np.ndarray):
        image = to_rgb(image)
        width, height = image.size
        if max(width, height) > _WORK_SIZE:
            scale = _WORK_SIZE / max(width, height)
            image = image.resize((max(1, round(width * scale)), max(1, round(height * scale))))
        rgb = np.asarray(image, dtype=np.float32) / 255.0
    else:
        rgb = np.asarray(image, dtype=np.float32)
        if rgb.max() > 1.0:
            rgb = rgb / 255.0
        height, width = rgb.shape[:2]
    y = rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)

    luminance = float(y.mean())
    contrast = float(y.std())
    saturation = float((rgb.max(axis=2) - rgb.min(axis=2)).mean())
    rg = rgb[..., 0] - rgb[..., 1]
    yb = 0.5 * (rgb[..., 0] + rgb[..., 1]) - rgb[..., 2]
    colorfulness = float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))

    if min(y.shape) >= 3:
        lap = y[:-2, 1:-1] + y[2:, 1:-1] + y[1:-1, :-2] + y[1:-1, 2:] - 4 * y[1:-1, 1:-1]
        laplacian_var = float(lap.var())
        gy, gx = np.gradient(y)
        gradient = float(np.hypot(gx, gy).mean())
    else:
        laplacian_var, gradient = 0.0, 0.0

    border = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]])
    background = np.median(border, axis=0)
    fg = np.abs(rgb - background).max(axis=2) > 0.15
    area = float(fg.mean())
    nan = float("nan")
    silhouette_aspect = fill = symmetry = interior_gradient = nan
    if fg.any():
        rows, cols = np.nonzero(fg)
        cy, cx = (rows.mean() + 0.5) / fg.shape[0], (cols.mean() + 0.5) / fg.shape[1]
        offset = float(np.hypot(cy - 0.5, cx - 0.5))
        box = fg[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
        silhouette_aspect = box.shape[1] / box.shape[0]
        fill = float(box.mean())
        mirrored = box[:, ::-1]
        symmetry = float((box & mirrored).sum() / (box | mirrored).sum())
        interior = fg.copy()
        interior[1:, :] &= fg[:-1, :]
        interior[:-1, :] &= fg[1:, :]
        interior[:, 1:] &= fg[:, :-1]
        interior[:, :-1] &= fg[:, 1:]
        interior[[0, -1], :] = False
        interior[:, [0, -1]] = False
        if min(y.shape) >= 3 and interior.sum() >= _MIN_INTERIOR:
            interior_gradient = float(np.hypot(gx, gy)[interior].mean())
    else:
        offset = 0.0
    return np.array(
        [
            luminance,
            contrast,
            saturation,
            colorfulness,
            laplacian_var,
            gradient,
            area,
            offset,
            width / height,
            silhouette_aspect,
            fill,
            symmetry,
            interior_gradient,
        ],
        dtype=np.float64,
    )


def tags_from_measures(m: np.ndarray, thresholds: Optional[dict] = None) -> list[str]:
    """Applies the rules of this module to one row of :func:`measure` output."""
    t = {**DEFAULT_THRESHOLDS, **(thresholds or {})}
    (
        lum,
        con,
        sat,
        colorful,
        lap,
        grad,
        area,
        offset,
        aspect,
        shape_aspect,
        fill,
        symmetry,
        interior,
    ) = m
    has_object = area > _MIN_OBJECT
    has_shape = has_object and area < _MAX_SHAPE
    has_surface = has_shape and not np.isnan(interior)
    rules = (
        ("dark", lum < t["dark"]),
        ("bright", lum > t["bright"]),
        ("low contrast", con < t["low_contrast"]),
        ("high contrast", con > t["high_contrast"]),
        ("grayscale", sat < t["gray"]),
        ("colorful", colorful > t["colorful"]),
        ("blurry", lap < t["blurry"]),
        ("sharp", lap > t["sharp"]),
        ("plain", grad < t["plain"]),
        ("textured", grad > t["textured"]),
        ("small object", has_object and area < t["small"]),
        ("large object", area > t["large"]),
        ("off-center object", has_object and offset > t["off_center"]),
        ("wide", aspect > t["wide"]),
        ("tall", 1.0 / aspect > t["tall"]),
        ("wide silhouette", has_shape and shape_aspect > t["wide_shape"]),
        ("narrow silhouette", has_shape and 1.0 / shape_aspect > t["narrow_shape"]),
        ("filled shape", has_shape and fill > t["filled"]),
        ("sparse shape", has_shape and fill < t["sparse"]),
        ("symmetric", has_shape and symmetry > t["symmetric"]),
        ("asymmetric", has_shape and symmetry < t["asymmetric"]),
        ("textured object", has_surface and interior > t["textured_object"]),
        ("uniform object", has_surface and interior < t["uniform_object"]),
    )
    return [name for name, hit in rules if hit]


class MeasureTransform:
    """Picklable transform for decoding workers: PIL image -> measures (numpy)."""

    def __call__(self, image):
        return measure(image)


class ImagePropertyTagger:
    """Tags images with the pixel-property rules of this module.

    Args:
        thresholds (None): overrides of :data:`DEFAULT_THRESHOLDS`
    """

    name = "properties"
    needs_torch = False  # numpy and Pillow only
    image_size = _WORK_SIZE  # JPEGs may decode small: rules run at this size anyway

    def __init__(self, thresholds: Optional[dict] = None):
        unknown = set(thresholds or {}) - set(DEFAULT_THRESHOLDS)
        if unknown:
            raise ValueError(
                f"Unknown property thresholds {sorted(unknown)}; known: {sorted(DEFAULT_THRESHOLDS)}"
            )
        self.thresholds = dict(thresholds or {})
        self.vocabulary = list(TAGS)

    @property
    def image_transform(self):
        return MeasureTransform()

    def tag_batch(self, batch):
        """Returns ``(tags per image as [(tag, confidence)], None)``."""
        measures = batch.numpy() if hasattr(batch, "numpy") else np.asarray(batch)
        tags = [[(t, 1.0) for t in tags_from_measures(m, self.thresholds)] for m in measures]
        return tags, None
