"""Each figure renders with the Agg backend and holds the artists it promises."""

import subprocess
import sys

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from _synthetic import synthetic_result
from matplotlib.collections import PathCollection, PolyCollection
from matplotlib.figure import Figure

from bayescale.report import plotting


@pytest.fixture(scope="module")
def result():
    return synthetic_result(S=64, seed=20)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def polys(ax):
    return [c for c in ax.collections if isinstance(c, PolyCollection)]


def scatters(ax):
    return [c for c in ax.collections if isinstance(c, PathCollection)]


def legend_texts(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def rendered(fig):
    fig.canvas.draw()  # Agg: fails if anything cannot be drawn
    width, height = fig.canvas.get_width_height()
    return width > 100 and height > 100


def test_importing_bayescale_does_not_import_matplotlib():
    code = (
        "import sys, bayescale, bayescale.report.plotting, bayescale.decisions, "
        "bayescale.data.units;"
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported'"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_plot_data(result):
    fig = Figure()
    ax = fig.subplots()
    assert plotting.plot_data(result, ax=ax, n_curves=4) is ax
    (points,) = scatters(ax)
    assert len(points.get_offsets()) == len(result.data)
    assert len(ax.lines) == 4 and len(polys(ax)) == 4  # law median and band per size
    assert len(fig.axes) == 2  # the N colour bar
    assert ax.get_xscale() == "log" and rendered(fig)


def test_plot_isoflops(result):
    budgets = [1e20, 1e22, 1e24]
    ax = plotting.plot_isoflops(result, budgets)
    labels = legend_texts(ax)
    assert [t for t in labels if t.startswith("C = ")] == [
        "C = 1.0e20",
        "C = 1.0e22",
        "C = 1.0e24",
    ]
    assert "Bayes-optimal N" in labels
    assert len(polys(ax)) == 3
    assert len(ax.containers) == 3  # the optimum with its interval, one per budget
    stars = [ln for ln in ax.lines if ln.get_marker() == "*" and len(ln.get_xdata())]
    assert len(stars) == 3
    assert scatters(ax)  # runs near 1e20 FLOPs drawn on its profile
    # each optimum's size annotated as people say it (issue 15)
    assert all(a.get_text()[-1] in "KMBT" for a in ax.texts) and len(ax.texts) == 3
    assert rendered(ax.figure)


def test_plot_frontier_with_and_without_references(result):
    ax = plotting.plot_frontier(result)
    labels = legend_texts(ax)
    for ref in plotting.REFERENCE_FITS.values():
        assert ref["label"] in labels
    assert {"N_opt (parameters)", "D_opt (tokens)", "fitted runs"} <= set(labels)
    assert len(polys(ax)) == 2
    x = ax.lines[0].get_xdata()
    assert x.min() == pytest.approx(1e18) and x.max() == pytest.approx(1e27)
    assert rendered(ax.figure)
    ax = plotting.plot_frontier(result, references=None, ax=plt.subplots()[1])
    assert not any("et al." in t for t in legend_texts(ax))
    with pytest.raises(ValueError, match="unknown reference 'chinchilla'"):
        plotting.plot_frontier(result, references=["chinchilla"])


def test_reference_lines_match_published_values():
    N, _ = plotting.reference_allocation("hoffmann", 5.76e23)
    assert float(N) == pytest.approx(4.04e10, rel=2e-3)  # Hoffmann et al.'s "40B"
    N, D = plotting.reference_allocation("kaplan", 8.64e19)  # one PF-day
    assert float(N) == pytest.approx(1.3e9) and float(D) == pytest.approx(8.64e19 / 6 / 1.3e9)


def test_plot_tokens_per_param(result):
    ax = plotting.plot_tokens_per_param(result)
    labels = legend_texts(ax)
    assert "D_opt / N_opt" in labels and "20 tokens/param" in labels
    assert len(polys(ax)) == 1 and rendered(ax.figure)


def test_plot_regret(result):
    ax = plotting.plot_regret(result, "70B/1.4T")
    labels = legend_texts(ax)
    assert {"plan 70B/1.4T", "expected regret"} <= set(labels)
    # the Bayes-optimal size reads as people say it (issue 15)
    (bayes,) = [t for t in labels if t.startswith("Bayes-optimal N = ")]
    assert bayes[-1] in "KMBT"
    plan_line = next(ln for ln in ax.lines if ln.get_label() == "plan 70B/1.4T")
    assert np.allclose(plan_line.get_xdata(), 7e10)
    median = next(ln for ln in ax.lines if ln.get_label().startswith("median regret"))
    assert np.all(median.get_ydata() >= 0) and ax.get_ylim()[0] == 0
    assert rendered(ax.figure)
    with pytest.raises(ValueError, match="draws one plan"):
        plotting.plot_regret(result, ["70B/1.4T", "1B/20B"])


def test_plot_residuals(result):
    fig = Figure()
    axes = fig.subplots(1, 2)
    out = plotting.plot_residuals(result, ax=axes)
    assert list(out) == list(axes)
    for a in out:
        (points,) = scatters(a)
        assert len(points.get_offsets()) == len(result.data)
        assert any(np.allclose(ln.get_ydata(), 0) for ln in a.lines)  # the zero line
    assert rendered(fig)
    with pytest.raises(ValueError, match="needs two Axes"):
        plotting.plot_residuals(result, ax=fig.subplots(1, 3))


def test_plot_pair(result):
    fig = plotting.plot_pair(result)
    assert isinstance(fig, matplotlib.figure.Figure)
    with_points = [a for a in fig.axes if scatters(a)]
    assert len(with_points) == 10  # lower triangle of 5 parameters
    labels = {t.get_text() for a in fig.axes for t in (a.xaxis.label, a.yaxis.label)}
    assert {"E", "A", "B", "alpha", "beta"} <= labels
    assert rendered(fig)
    with pytest.raises(ValueError, match=r"no parameter\(s\) \['gamma'\]"):
        plotting.plot_pair(result, ["gamma"])


def test_tick_labels_in_the_units_people_say():
    assert [plotting.tick_count(x) for x in (1e8, 1e9, 2.5e9, 8.21e10, 1.4e12, 20, 1e15)] == [
        "100M", "1B", "2.5B", "82.1B", "1.4T", "20", "1e+15"
    ]  # fmt: skip
    assert [plotting.tick_flops(x) for x in (1e24, 3e21, 5.76e23, 9.96e23, 1e18)] == [
        "1e24", "3e21", "5.8e23", "1e24", "1e18"
    ]  # fmt: skip


def _labels(axis):
    """(tick value, label) of every labelled tick in view of a drawn axis, major and minor."""
    lo, hi = sorted(axis.get_view_interval())
    at = 0 if axis.axis_name == "x" else 1
    texts = [*axis.get_majorticklabels(), *axis.get_minorticklabels()]
    out = [(float(t.get_position()[at]), t.get_text()) for t in texts if t.get_text()]
    return [(v, t) for v, t in out if lo <= v <= hi]


@pytest.mark.parametrize(
    ("draw", "axes"),
    [
        (lambda r, ax: plotting.plot_frontier(r, ax=ax), {"x": "flops", "y": "count"}),
        (lambda r, ax: plotting.plot_tokens_per_param(r, ax=ax), {"x": "flops", "y": "count"}),
        (lambda r, ax: plotting.plot_data(r, ax=ax), {"x": "flops", "bar": "count"}),
        (lambda r, ax: plotting.plot_isoflops(r, [1e20, 1e22], ax=ax), {"x": "count"}),
        (lambda r, ax: plotting.plot_regret(r, "2B/40B", ax=ax), {"x": "count"}),
    ],
)
def test_log_axes_read_in_sizes_and_flops(result, draw, axes):
    fig = Figure(figsize=(7.0, 4.8), layout="constrained")
    ax = fig.subplots()
    draw(result, ax)
    fig.canvas.draw()  # the labels are what the rendered figure shows
    label = {"flops": plotting.tick_flops, "count": plotting.tick_count}
    for where, kind in axes.items():
        axis = {"x": ax.xaxis, "y": ax.yaxis}.get(where) or fig.axes[1].yaxis  # the colour bar
        shown = _labels(axis)
        assert shown, where
        for value, text in shown:
            assert text == label[kind](value), (where, value, text)
            assert "$" not in text and "10^" not in text  # no mathtext powers of ten
        texts = {t for _, t in shown}
        if kind == "count":
            assert any(t[-1] in "KMBT" for t in texts) or where == "y", texts
        else:
            assert all("e" in t for t in texts), texts


def test_residual_and_plan_axes_read_in_sizes(result):
    fig = Figure(figsize=(11.0, 4.2), layout="constrained")
    plotting.plot_residuals(result, ax=fig.subplots(1, 2, sharey=True))
    fig.canvas.draw()
    panels, bars = fig.axes[:2], fig.axes[2:]
    for axis in [a.xaxis for a in panels] + [b.yaxis for b in bars]:
        shown = _labels(axis)
        assert shown and all(t == plotting.tick_count(v) for v, t in shown)
        assert {t[-1] for _, t in shown} <= set("KMBT")
