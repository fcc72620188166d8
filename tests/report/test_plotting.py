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
