"""The report's bar chart keeps its title and bars inside the image."""

from types import SimpleNamespace

import pytest

from fiftyone_prime.integration.reports import report


def _results(n_groups, long_names=False):
    modes = []
    for i in range(n_groups):
        name = f"class_{i:03d}" + ("_with_a_rather_long_name" if long_names else "")
        modes.append(SimpleNamespace(group=name, drop=0.2 + 0.01 * i))
    return SimpleNamespace(failure_modes=modes)


@pytest.mark.parametrize("n_groups", [1, 2, 5, 40])
def test_the_title_fits_the_figure(n_groups):
    import matplotlib.pyplot as plt

    fig = report._drop_figure(_results(n_groups, long_names=n_groups == 5))
    try:
        renderer = fig.canvas.get_renderer()
        box = fig.bbox
        title = fig._suptitle
        extent = title.get_window_extent(renderer)
        assert extent.x0 >= box.x0 and extent.x1 <= box.x1, (extent, box)
        assert extent.y0 >= box.y0 and extent.y1 <= box.y1, (extent, box)
        ax = fig.axes[0]
        assert ax.get_window_extent(renderer).y1 < extent.y0  # the title does not cover the bars
        words = title.get_text().split()
        assert " ".join(words) == report.CHART_TITLE  # all of it, maybe on several lines
    finally:
        plt.close(fig)


def test_the_chart_is_written(tmp_path):
    name = report._drop_chart(_results(2), str(tmp_path / "c.png"))
    assert name == "c.png" and (tmp_path / "c.png").stat().st_size > 1000
