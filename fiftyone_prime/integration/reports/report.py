"""A self-contained HTML report of a failure-mode run, to send to anyone."""

from __future__ import annotations

import html
import json
import logging
import os
from typing import Optional

import numpy as np

from ..runs.rows import (
    columns,
    columns_of,
    error_rate_name,
    format_interval,
    format_p,
    format_score,
    format_score_interval,
    mode_row,
)
from ..runs.run_store import load_failure_modes

logger = logging.getLogger(__name__)

_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px;color:#222;max-width:1200px}
h1{font-size:22px}h2{font-size:18px;margin-top:32px}h3{font-size:15px;margin:20px 0 6px}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ddd;padding:4px 8px;text-align:right}
th{background:#f4f4f4}td.l,th.l{text-align:left}.params td{text-align:left}
.grid{display:flex;flex-wrap:wrap;gap:6px}.grid figure{margin:0;text-align:center;font-size:10px}
.grid img{width:96px;height:96px;object-fit:contain;background:#eee;border:3px solid #2e7d32}
.grid figure.wrong img{border-color:#c62828}.muted{color:#777;font-size:12px}
.drop{color:#c62828;font-weight:600}
"""


def export_report(
    samples,
    run_key: str,
    out_dir: str,
    *,
    max_images: int = 24,
    thumbnail_size: int = 128,
    overwrite: bool = False,
) -> str:
    """Writes a self-contained HTML report of a failure-mode run.

    The folder holds ``index.html`` (parameters, a table of the failure
    modes with their metrics and held-out results when present, a thumbnail
    grid per failure mode with misclassified images outlined in red), a
    chart of the drops per class, and the thumbnails themselves, so it can
    be zipped and sent to someone who does not run FiftyOne. No network is
    needed to view it.

    Args:
        samples: the dataset (or a view of it) holding the run
        run_key: the failure-mode run
        out_dir: the folder to write; it must not exist or be empty unless
            ``overwrite=True``
        max_images (24): thumbnails per failure mode (misclassified first)
        thumbnail_size (128): the long side of the thumbnails, in pixels
        overwrite (False): whether to write into a non-empty folder (only
            the report's own files are replaced)

    Returns:
        the path of ``index.html``
    """
    results = load_failure_modes(samples, run_key)
    out_dir = report_folder(out_dir, overwrite)
    config = results.config
    run_view = results.samples
    dataset = run_view._root_dataset

    sections = []
    for i, mode in enumerate(results.failure_modes):
        view = saved_view(dataset, mode)
        thumbs = (
            _thumbnails(view, config, out_dir, max_images, thumbnail_size, results.spec)
            if view
            else []
        )
        sections.append(_mode_section(i, mode, thumbs, results))

    chart = _drop_chart(results, os.path.join(out_dir, "drops_per_class.png"))
    page = _page(results, sections, chart, dataset.name)
    path = os.path.join(out_dir, "index.html")
    with open(path, "w", encoding="utf-8") as f:
        f.write(page)
    with open(os.path.join(out_dir, "failure_modes.json"), "w", encoding="utf-8") as f:
        json.dump(
            {
                "run_key": results.key,
                "dataset": dataset.name,
                "failure_modes": [m.to_dict() for m in results.failure_modes],
                "validation": results.validation,
            },
            f,
            indent=1,
            default=str,
        )
    logger.info("Wrote the report of run '%s' to %s", run_key, path)
    return path


def report_folder(out_dir: str, overwrite: bool) -> str:
    """The report's folder, absolute, with its ``images`` folder; refused
    when it holds files and ``overwrite`` is False."""
    out_dir = os.path.abspath(os.path.expanduser(out_dir))
    if os.path.isdir(out_dir) and os.listdir(out_dir) and not overwrite:
        raise ValueError(
            f"The report folder '{out_dir}' is not empty; pass overwrite=True or choose another"
        )
    os.makedirs(os.path.join(out_dir, "images"), exist_ok=True)
    return out_dir


def saved_view(dataset, mode):
    """The saved view of a mode, or ``None`` when it has none (any more)."""
    if mode.view_name and dataset.has_saved_view(mode.view_name):
        return dataset.load_saved_view(mode.view_name)
    return None


def run_params(results, dataset_name: str, fields: dict, used: str) -> dict:
    """The parameters a report shows of a run with modes: the dataset and
    key, ``fields`` (the fields read, by role), the tags, the search
    parameters, how many samples were ``used`` and how the modes were tested."""
    c = results.config
    params = {
        "dataset": dataset_name,
        "run key": results.key,
        **fields,
        "tags": ", ".join(c.tags_fields),
        "search parameters": ", ".join(f"{k}={v}" for k, v in c.search_params.items()),
        f"samples {used}": f"{results.num_used} of {results.num_samples}",
    }
    sig = results.significance or {}
    if sig:
        family = sig.get("family_size")  # None with alpha=None: no family counted
        params["significance"] = (
            sig["procedure"]
            + ("" if family is None else f", {error_rate_name(sig)} over <= {family:,.0f} tag sets")
            + "; "
            + (
                f"{sig['num_not_significant']} modes of the definition left out as possible "
                f"chance findings at alpha={sig['alpha']}"
                if sig.get("alpha") is not None
                else "nothing left out (alpha=None)"
            )
            + (
                f"; {sig['num_aliases']} more are proxies of a stronger mode of their class, "
                "listed as its aliases"
                if sig.get("num_aliases")
                else ""
            )
        )
    return params


def params_table(params: dict) -> str:
    """The parameters as an HTML table's rows."""
    return "".join(
        f"<tr><th class=l>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
        for k, v in params.items()
    )


def _thumbnails(view, config, out_dir, max_images, size, spec=None):
    """Thumbnails of a mode's view, the errors of ``config.pred_field`` first:
    ``(src, right, prediction)`` each; for a run over objects (``spec``, the
    run's units), crops of the objects; for a multilabel classifier's, the
    images, each with the prediction of the mode's class."""
    if spec is not None and spec.is_objects and not spec.is_multilabel:
        from ..reading.crops import crop_thumbnails  # a run over objects shows their crops

        return crop_thumbnails(view, spec, out_dir, max_images, size)
    from PIL import Image

    if spec is not None and spec.is_multilabel:
        ids, paths, right, preds = _multilabel_outcomes(view, spec)
        order = sorted(range(len(ids)), key=lambda i: (right[i], i))[:max_images]
    elif spec is not None and spec.is_scored:  # samples of a score: the worst first
        ids, paths, scores = view.values(["id", "filepath", spec.score_expression])
        sign = -1.0 if spec.higher_is_worse else 1.0
        order = sorted(range(len(ids)), key=lambda i: (sign * scores[i], i))[:max_images]
        right = [None] * len(ids)  # captions: "score <value>", no verdict
        preds = [f"score {format_score(v)}" for v in scores]
    else:
        ids, paths, labels, preds = view.values(
            ["id", "filepath", f"{config.label_field}.label", f"{config.pred_field}.label"]
        )
        order = sorted(range(len(ids)), key=lambda i: (labels[i] == preds[i], i))[:max_images]
        right = [
            None if label is None and spec is not None else label == pred
            for label, pred in zip(labels, preds)
        ]
    thumbs = []
    for i in order:
        name = f"{ids[i]}.jpg"
        target = os.path.join(out_dir, "images", name)
        if not os.path.exists(target):
            try:
                with Image.open(paths[i]) as img:
                    img = img.convert("RGB")
                    img.thumbnail((size, size))
                    img.save(target, quality=88)
            except Exception as e:  # a missing image must not stop the report
                logger.warning("Skipping thumbnail of '%s': %s", paths[i], e)
                continue
        thumbs.append((f"images/{name}", right[i], preds[i]))
    return thumbs


def _multilabel_outcomes(view, spec):
    """Per sample of a multilabel mode's view (its label fields filtered to
    the class): id, filepath, whether the class's presence is predicted
    right, and the prediction in words."""
    ids, paths, present, scores = view.values(
        [
            "id",
            "filepath",
            f"{spec.gt_field}.classifications.label",
            f"{spec.pred_field}.classifications.confidence",
        ]
    )
    thresh = spec.confidence_thresh
    right, shown = [], []
    for labels, confs in zip(present, scores):
        confs = list(confs or [])
        counted = [c for c in confs if thresh is None or (c is not None and c >= thresh)]
        right.append(bool(labels) == bool(counted))
        best = max((c for c in confs if c is not None), default=None)
        word = "predicted" if counted else "not predicted"
        shown.append(word if best is None else f"{word} ({best:.2f})")
    return ids, paths, right, shown


def _fmt(value, spec=".3f"):
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "–"
    return format(value, spec)


def _mode_section(i, mode, thumbs, results):
    m = mode.metrics or {}
    grid = "".join(
        f'<figure class="{"" if ok is not False else "wrong"}"><img src="{html.escape(src)}" '
        f'alt=""><figcaption>{_thumb_caption(ok, pred)}</figcaption></figure>'
        for src, ok, pred in thumbs
    )
    source = {
        "callable": " (written by your captions function)",
        "dict": " (from your captions)",
    }.get(m.get("caption_source"), "")
    caption = (
        f'<p class="muted">caption{source}: “{html.escape(m["caption"])}”</p>'
        if m.get("caption")
        else ""
    )
    return (
        f'<h3 id="mode-{i}">{html.escape(str(mode.group))}: {html.escape(" + ".join(mode.tags))}</h3>'
        f"<p>{_mode_statistics(mode)}, adjusted p "
        f"{format_p(mode.adjusted_p_value)}"
        f"{' — saved view: <code>' + html.escape(mode.view_name) + '</code>' if mode.view_name else ''}"
        f'</p>{caption}<div class="grid">{grid}</div>'
    )


def _thumb_caption(ok, text) -> str:
    """A thumbnail's caption: ✓, the wrong prediction, or (``ok`` None) the text."""
    if ok is None:
        return html.escape(str(text))
    return "✓" if ok else "pred: " + html.escape(str(text))


def _mode_statistics(mode) -> str:
    """A mode's statistics in words (HTML): its accuracy, or its mean score."""
    if hasattr(mode, "group_mean"):  # a score mode
        return (
            f"mean score {format_score(mode.mean)} (n={mode.size}; 95% CI "
            f"{format_score_interval(mode.mean_ci)}) vs {format_score(mode.group_mean)} for "
            f'the group — <span class="drop">worse by {format_score(mode.drop)}</span> '
            f"({'higher' if mode.higher_is_worse else 'lower'} is worse)"
        )
    return (
        f"accuracy {mode.accuracy:.1%} ({mode.num_correct}/{mode.size}; 95% CI "
        f"{format_interval(mode.accuracy_ci)}) vs "
        f"{mode.group_accuracy:.1%} for the class — "
        f'<span class="drop">−{mode.drop * 100:.1f} points</span>'
    )


def _confirmed_cell(held: dict) -> str:
    """``yes``, or ``no`` with why (runs validated before reasons were stored:
    ``no`` alone)."""
    if held.get("confirmed", held["holds"]):
        return "yes"
    reason = held.get("reason")
    return f"no ({html.escape(reason)})" if reason else "no"


def _table(results):
    held = {}
    if results.validation:
        held = dict(enumerate(results.validation.get("modes", [])))
    with_metrics = any(m.metrics for m in results.failure_modes)
    base = columns_of(results.failure_modes)
    cols = columns(with_metrics, base)
    rows = []
    for i, mode in enumerate(results.failure_modes):
        row = mode_row(mode, with_metrics, base)
        cells = []
        for c in cols:
            text = html.escape(row[c.key])
            if c.key == "class":
                text = f'<a href="#mode-{i}">{text}</a>'
            cells.append(f"<td{'' if c.numeric else ' class=l'}>{text}</td>")
        if with_metrics:
            cells.append(f"<td class=l>{html.escape((mode.metrics or {}).get('caption', ''))}</td>")
        h = held.get(i)
        if h:
            cells += [
                f"<td>{h['size']}</td>",
                f"<td>{_fmt(h['drop'] * 100 if h['size'] else None, '.1f')}</td>",
                f"<td>{format_p(h.get('adjusted_p_value'))}</td>",
                f"<td>{_confirmed_cell(h)}</td>",
            ]
        else:
            cells += ["<td>–</td>"] * 4
        rows.append(f"<tr>{''.join(cells)}</tr>")
    head = "".join(
        f"<th{'' if c.numeric else ' class=l'}>{html.escape(c.label)}</th>" for c in cols
    )
    if with_metrics:
        head += "<th class=l>caption</th>"
    head += "<th>held-out size</th><th>held-out drop</th><th>held-out adj. p</th><th>confirmed</th>"
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


CHART_TITLE = "Failure modes per class (bar: largest drop; label: number of modes)"


def _drop_chart(results, path) -> Optional[str]:
    if not results.failure_modes:
        return None
    import matplotlib.pyplot as plt

    fig = _drop_figure(results)
    fig.savefig(path)
    plt.close(fig)
    return os.path.basename(path)


def _drop_figure(results):
    """The bar chart of the largest drop per class, its title inside the figure."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    groups = sorted({str(m.group) for m in results.failure_modes})
    best = {g: max(m.drop for m in results.failure_modes if str(m.group) == g) for g in groups}
    counts = {g: sum(str(m.group) == g for m in results.failure_modes) for g in groups}
    fig, ax = plt.subplots(figsize=(max(4, 0.6 * len(groups) + 2), 3.2), dpi=110)
    scored = any(hasattr(m, "group_mean") for m in results.failure_modes)
    scale = 1.0 if scored else 100.0  # a score's drop is in its units
    ax.bar(range(len(groups)), [best[g] * scale for g in groups], color="#c62828")
    # Class names are text, never mathtext: a class "$\frac{1$" must not be parsed.
    ax.set_xticks(range(len(groups)), [_plain_text(g) for g in groups])
    for x, g in enumerate(groups):
        ax.text(x, best[g] * scale, f"{counts[g]}", ha="center", va="bottom", fontsize=8)
    ax.set_ylabel("largest amount worse (score)" if scored else "largest accuracy drop (points)")
    plt.setp(ax.get_xticklabels(), rotation=30, ha="right", fontsize=8)
    _fit_title(fig, ax, CHART_TITLE, fontsize=9)
    return fig


def _fit_title(fig, ax, text: str, fontsize: float) -> None:
    """Sets a title that fits the figure's width: centred on the figure (not
    the axes, whose left edge is pushed right by the y label) and broken onto
    more lines where it is too wide. ``tight_layout`` then leaves it room."""
    import textwrap

    fig.tight_layout()
    title = fig.suptitle(text, fontsize=fontsize)
    renderer = fig.canvas.get_renderer()
    fig_width = fig.bbox.width * 0.96
    width = len(text)
    while width > 10 and title.get_window_extent(renderer).width > fig_width:
        width = int(width * 0.85)
        title.set_text("\n".join(textwrap.wrap(text, width)))
    fig.tight_layout()


def _plain_text(text: str) -> str:
    """Escapes the dollar signs that would make matplotlib parse mathtext."""
    return text.replace("$", r"\$")


def _page(results, sections, chart, dataset_name):
    c = results.config
    fields = {"ground truth": c.label_field, "predictions": c.pred_field}
    spec = results.spec
    if spec is not None and spec.is_scored:
        fields["units"] = results.units_description
    params = run_params(results, dataset_name, fields, "searched")
    if results.metrics_info:
        params["CLIP model"] = results.metrics_info.get("model")
        params["caption template"] = results.metrics_info.get("caption_template")
    if results.validation:
        v = results.validation
        params["held-out data"] = (
            f"{v['holdout']}: {v.get('num_confirmed', v['num_holding'])} of {len(v['modes'])} "
            f"modes confirmed ({v.get('procedure', 'definition only')}, "
            f"alpha={v.get('alpha', '–')}); drop correlation r={_fmt(v.get('pearson'), '.2f')}"
        )
    rows = params_table(params)
    chart_html = (
        f'<img src="{chart}" alt="drops per class" style="max-width:100%">' if chart else ""
    )
    return (
        "<!doctype html><html><head><meta charset=utf-8>"
        f"<title>PRIME failure modes: {html.escape(dataset_name)} / {html.escape(results.key)}</title>"
        f"<style>{_CSS}</style></head><body>"
        f"<h1>Where the classifier fails: {len(results.failure_modes)} failure modes</h1>"
        f'<table class="params">{rows}</table>'
        f"<h2>Failure modes</h2>{_table(results)}<h2>Drops per class</h2>{chart_html}"
        f"<h2>Images</h2><p class=muted>Misclassified images are outlined in red, correct ones "
        f"in green.</p>{''.join(sections)}"
        "<p class=muted>Made by fiftyone-prime (PRIME, ICLR 2024).</p></body></html>"
    )
