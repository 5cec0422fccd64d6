"""The project's literal defaults, in one place.

Field names, the default run key and the limits that the operator form, the
CLI, the SDK and the compiled search must agree on are defined here and
imported everywhere else. The search thresholds themselves live on
:class:`fiftyone_prime.core.types.SearchParams`.

This module imports nothing, so every layer (core, models, integration,
plugin) can use it.
"""

#: The ``Classification`` field holding the ground truth.
LABEL_FIELD = "ground_truth"

#: The ``Classification`` field holding the model's predictions.
PRED_FIELD = "predictions"

#: The ``Classifications`` field the taggers write and the search reads.
TAGS_FIELD = "prime_tags"

#: The key under which a failure-mode run is stored.
RUN_KEY = "prime"

#: How ``scoring="softmax"`` (version 0.1's rule) picks tags when no
#: ``top_k`` is given: the ``TOP_K`` most probable per image. The other
#: scorings keep every tag over its threshold; ``top_k`` only caps them.
TOP_K = 5

#: How a zero-shot tagger turns similarities into tags (see
#: :mod:`fiftyone_prime.models.zero_shot`): ``"auto"`` picks ``"sigmoid"``
#: for models with a logit bias (SigLIP), else ``"calibrated"``.
SCORINGS = ("auto", "sigmoid", "calibrated", "softmax")

#: The largest ``max_tags`` any search accepts (SDK, operator form, CLI and
#: the compiled engine, which checks a candidate against its ``2**k - 1``
#: subsets). Failure modes of more than a handful of tags are rarely
#: interpretable; the paper's use at most 3.
MAX_TAGS_LIMIT = 8

#: The most slices (delegated operations) one sharded tagging job may be cut
#: into; a job also never has more slices than samples.
MAX_SHARDS = 1024

#: The largest whole number any count parameter accepts (``min_size``,
#: ``max_views``, batch sizes...): larger values are typos, and do not fit in
#: the 64-bit integers of MongoDB and the compiled search.
MAX_COUNT = 2**31 - 1

#: The longest caption (in characters) a caption template may produce.
MAX_CAPTION_CHARS = 1000

#: The key of a dataset's ``info`` that holds the online false-discovery
#: procedure's state for hypotheses tested on it over time
#: (:meth:`fiftyone_prime.core.online_fdr.LordPlusPlus.to_dict`). Deleting it
#: (``del dataset.info[key]; dataset.save()``) starts a new budget, and with it
#: gives up the guarantee over the hypotheses tested before.
ONLINE_FDR_KEY = "prime_online_fdr"

#: A text hypothesis's images: those whose similarity to the phrase is at
#: least this many standard deviations above the phrase's mean similarity
#: over the samples (a threshold calibrated per phrase, since similarities to
#: different phrases are not on one scale).
TEXT_MATCH_Z = 2.0
