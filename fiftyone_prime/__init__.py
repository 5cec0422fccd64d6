"""fiftyone-prime: interpretable failure modes of image classifiers, in FiftyOne.

The numpy-only engine lives in :mod:`fiftyone_prime.core`; the FiftyOne SDK
functions below are imported lazily, so ``import fiftyone_prime.core`` never
imports fiftyone or torch.
"""

__version__ = "0.1.0"
