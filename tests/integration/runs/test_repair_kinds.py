"""Repairing saved views knows every kind of run that owns views."""

import fiftyone_prime as fp
from fiftyone_prime.integration import fiftyone_private as fop
from fiftyone_prime.integration.runs import view_list
from tests.integration.regression_data import regression_dataset


def test_repair_keeps_and_relists_a_regression_runs_views(make_dataset):
    """A regression run's views are owned by it: a repair never deletes them
    (they are named and described like a run's views, which is how a repair
    recognises views a run wrote but no run owns) and lists them again when a
    concurrent ``save_view`` dropped them from the list."""
    dataset = regression_dataset(make_dataset)
    results = fp.find_regressions(dataset)
    (mode,) = results.regressions
    assert dataset.has_saved_view(mode.view_name)
    # as a concurrent save_view does: the document stays, the list loses it
    view_list.remove(fop.dataset_id(dataset), view_list.oids([mode.view_id]))
    dataset.reload()
    assert not dataset.has_saved_view(mode.view_name)

    out = fp.repair_failure_mode_views(dataset)

    assert out["deleted_unowned"] == 0 and out["deleted_stranded"] == 0
    assert out["relisted"] == 1
    dataset.reload()
    assert dataset.has_saved_view(mode.view_name)
    assert fp.load_regressions(dataset, results.key).regressions[0].view_id == mode.view_id

    # Listed again, the views are the run's: a second repair leaves them.
    again = fp.repair_failure_mode_views(dataset)
    assert again["deleted_unowned"] == 0 and again["relisted"] == 0
    dataset.reload()
    assert dataset.has_saved_view(mode.view_name)
