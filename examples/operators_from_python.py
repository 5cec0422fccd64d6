"""The plugin's operators from Python: immediately, and delegated.

Delegated runs are queued and executed by a worker (`fiftyone delegated
launch`, or here the same service in-process), which suits long tagging runs
on a GPU machine. Needs the plugin installed in FIFTYONE_PLUGINS_DIR.
Delegated operations run in another process only on persistent datasets.

    python examples/operators_from_python.py --dataset my-dataset --tags-field detections
    python examples/operators_from_python.py --demo
"""

from _demo import dataset_from_args

import fiftyone.operators as foo
from fiftyone.operators.delegated import DelegatedOperationService

import fiftyone_prime as fp

PLUGIN = "@fiftyone-prime/prime"
FIND = f"{PLUGIN}/find_failure_modes"
TAG = f"{PLUGIN}/tag_samples"

dataset, args, cleanup = dataset_from_args(__doc__.splitlines()[0])
try:
    ops = sorted(op.uri for op in foo.list_operators() if op.plugin_name == PLUGIN)
    print("The plugin's operators:", ", ".join(ops))
    params = {
        "label_field": args.label_field,
        "pred_field": args.pred_field,
        "tags_field": [args.tags_field],
    }

    # Immediately: returns when done, with the operator's result.
    result = foo.execute_operator(
        FIND, dict(view=dataset.view()), params={**params, "run_key": "ops_now"}
    )
    print(f"Immediate run: {result.result['num_failure_modes']} failure modes")
    for row in result.result["failure_modes"]:
        print(
            f"  {row['class']}: {row['tags']} (accuracy {row['accuracy']}, "
            f"adj. p {row['adjusted_p_value']})"
        )

    # Delegated: queued now, executed by a worker. The form's "delegate" choice
    # (the `delegate` param) is what the App's "Schedule" button sets.
    queued = foo.execute_operator(
        FIND,
        dict(view=dataset.view()),
        params={**params, "run_key": "ops_later", "delegate": True},
        request_delegation=True,
    )
    print("Queued a delegated run:", queued.delegated)
    tag = foo.execute_operator(
        TAG,
        dict(view=dataset.view()),
        params={"model": "properties", "tags_field": "prime_properties", "delegate": True},
        request_delegation=True,
    )
    service = DelegatedOperationService()
    # A worker does this: `fiftyone delegated launch` (here, in this process).
    service.execute_queued_operations(dataset_name=dataset.name)
    for op in service.list_operations(dataset_name=dataset.name):
        print(f"  {op.operator}: {op.run_state}")
    dataset.reload()
    print(
        "Delegated run results:",
        len(fp.load_failure_modes(dataset, "ops_later")),
        "failure modes;",
        dataset.exists("prime_properties").count(),
        "images tagged",
    )
finally:
    cleanup()
