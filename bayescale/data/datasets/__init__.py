"""Real scaling-law data shipped with bayescale (provenance in ``PROVENANCE.md``)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd

from bayescale.data.scaling_data import ScalingData

__all__ = ["DATASETS", "dataset_info", "load_dataset"]


@dataclass(frozen=True)
class DatasetInfo:
    """What a bundled data set is, where it came from, and how it is read."""

    name: str
    file: str
    description: str
    citation: str
    columns: dict[str, str]
    default_exclude_highest_loss: int = 0
    default_note: str = ""
    extra_cols: dict[str, str] = field(default_factory=dict)
    #: ``prepare(frame, full) -> frame``: derived columns and the documented default subset
    prepare: Callable[[pd.DataFrame, bool], pd.DataFrame] | None = None
    licence: str = ""


#: ln(50257): the loss of a uniform guess over the GPT-2 vocabulary the datablations runs use.
UNIFORM_GPT2_LOSS = math.log(50257)
#: A run whose loss exceeds that of a run with the same N and U_D and fewer tokens by more
#: than this (nats) overfitted or diverged.
OVERFIT_MARGIN = 0.05


def _prepare_datablations(frame: pd.DataFrame, full: bool) -> pd.DataFrame:
    """Unique tokens from the run name's epochs; drop diverged and overfitted runs.

    The file's ``tokens_per_epoch`` column is 1.5e9 for every row, but the model names
    (``{params}{tokens}{unique}``, e.g. ``14m900b100m``) and ``token_num / epochs`` agree
    on the unique tokens actually used (1e8 to 1.78e11), so U_D = token_num / epochs.
    """
    frame = frame.copy()
    frame["U_D"] = frame["token_num"] / frame["epochs"]
    if full:
        return frame
    diverged = frame["openLM_loss"] > UNIFORM_GPT2_LOSS
    # best loss among runs of the same N and U_D with fewer tokens (NaN for the first)
    order = frame.sort_values(["num_params", "U_D", "token_num"], kind="stable")
    before = order.groupby(["num_params", "U_D"])["openLM_loss"].transform(
        lambda s: s.cummin().shift(1)
    )
    overfit = (order["openLM_loss"] > before + OVERFIT_MARGIN).reindex(frame.index)
    return frame[~(diverged | overfit)]


def _prepare_misfitting(frame: pd.DataFrame, full: bool) -> pd.DataFrame:
    """Keep the best learning rate of each (N, D) sweep: the run a scaling study would use."""
    if full:
        return frame
    loss = pd.to_numeric(frame["loss"])
    best = loss.groupby([frame["N"], frame["D"]]).transform("min")
    keep = frame[loss == best]
    return keep[~keep.duplicated(["N", "D"])]


DATASETS: dict[str, DatasetInfo] = {
    "chinchilla": DatasetInfo(
        name="chinchilla",
        file="chinchilla_hoffmann2022_epoch.csv",
        description=(
            "245 runs digitised from Hoffmann et al. 2022, Figure 4, by Besiroglu et al. 2024 "
            "(N = 'Model Size', C = 'Training FLOP', D = C / 6N)."
        ),
        citation=(
            "Hoffmann et al. 2022, Training Compute-Optimal Large Language Models, "
            "arXiv:2203.15556; Besiroglu et al. 2024, Chinchilla Scaling: A replication "
            "attempt, arXiv:2404.10102"
        ),
        columns={"n_col": "Model Size", "c_col": "Training FLOP", "loss_col": "loss"},
        default_exclude_highest_loss=5,
        default_note="the 5 highest-loss runs are excluded, as in Besiroglu et al. 2024",
        licence="none declared; measurements read off a published figure, cite both papers",
    ),
    "datablations": DatasetInfo(
        name="datablations",
        file="datablations_contour_losses_colpret.csv",
        description=(
            "Data-constrained runs of Muennighoff et al. 2023 (C4, GPT-2 tokenizer): 229 runs, "
            "N 7e6-8.7e9, D 1e8-9e11 tokens, U_D 1e8-1.8e11 unique tokens (U_D = token_num / "
            "epochs), as aggregated by Choshen et al. 2024 (ColPret)."
        ),
        citation=(
            "Muennighoff et al. 2023, Scaling Data-Constrained Language Models, "
            "arXiv:2305.16264; Choshen, Zhang and Andreas 2024, A Hitchhiker's Guide to Scaling "
            "Law Estimation, arXiv:2410.11840"
        ),
        columns={"n_col": "num_params", "d_col": "token_num", "loss_col": "openLM_loss"},
        extra_cols={"U_D": "U_D"},
        prepare=_prepare_datablations,
        default_note=(
            "runs that diverged (loss above ln 50257) or overfitted (loss more than 0.05 "
            "nats above a run of the same N and U_D with fewer tokens) are excluded"
        ),
        licence="MIT (ColPret); upstream runs Apache-2.0 (huggingface/datablations)",
    ),
    "misfitting": DatasetInfo(
        name="misfitting",
        file="misfitting_open_lm_last_ckpt.csv",
        description=(
            "Final checkpoints of the open_lm runs of Li, Kudugunta and Zettlemoyer 2025 "
            "((Mis)Fitting): 261 runs, 11 sizes N 5.7e7-1.2e9 (with embeddings), "
            "D 1e8-2.1e10 tokens, C4 evaluation loss, several learning rates per (N, D)."
        ),
        citation=(
            "Li, Kudugunta and Zettlemoyer 2025, (Mis)Fitting: A Survey of Scaling Laws, "
            "ICLR 2025, arXiv:2502.18969"
        ),
        columns={"n_col": "N", "d_col": "D", "loss_col": "loss"},
        prepare=_prepare_misfitting,
        default_note="the best learning rate of each (N, D) is kept (81 runs)",
        licence="none declared by the authors; shipped for research use with attribution",
    ),
}


def dataset_info(name: str) -> DatasetInfo:
    """Return the description, citation and reading rules of a bundled data set."""
    try:
        return DATASETS[name]
    except KeyError:
        raise ValueError(
            f"unknown data set {name!r}; available: {', '.join(sorted(DATASETS))}"
        ) from None


def load_dataset(name: str = "chinchilla", *, full: bool = False, **kwargs: Any) -> ScalingData:
    """Load a bundled data set as validated :class:`~bayescale.ScalingData`.

    Parameters
    ----------
    name : str, default "chinchilla"
        One of :data:`DATASETS`. ``"chinchilla"``: the 245 runs of Hoffmann et al. 2022
        (Figure 4) digitised by Besiroglu et al. 2024. ``"datablations"``: the
        data-constrained runs of Muennighoff et al. 2023 with their unique tokens ``U_D``
        (for ``law="data_constrained"``). ``"misfitting"``: the open_lm runs of Li et al.
        2025.
    full : bool, default False
        Return every row. By default the documented subset is returned: for
        ``"chinchilla"`` the 5 highest-loss runs are excluded (240 runs), as in
        Besiroglu et al. 2024; for ``"datablations"`` diverged and overfitted runs are
        excluded (189 of 229); for ``"misfitting"`` the best learning rate per (N, D) is
        kept (81 of 261).
    **kwargs
        Passed to :meth:`ScalingData.from_dataframe` (e.g. ``flops_per_param_token``).

    Returns
    -------
    ScalingData

    Examples
    --------
    >>> import bayescale
    >>> bayescale.load_dataset("chinchilla").n_runs
    240
    >>> bayescale.load_dataset("chinchilla", full=True).n_runs
    245
    """
    info = dataset_info(name)
    with resources.files(__package__).joinpath(info.file).open("r") as fh:
        frame = pd.read_csv(fh)
    if info.prepare is not None:
        frame = info.prepare(frame, full)
    drop = 0 if full else info.default_exclude_highest_loss
    if drop:
        loss = frame[info.columns["loss_col"]].to_numpy()
        # stable sort so ties are broken by file order, deterministically
        order = np.argsort(-loss, kind="stable")
        frame = frame.drop(index=frame.index[order[:drop]])
    frame.index = frame.index + 2  # CSV line numbers, as from_csv reports them
    options: dict[str, Any] = {**info.columns, "source": f"bundled:{name}", "row_word": "line"}
    if info.extra_cols:
        options["extra_cols"] = dict(info.extra_cols)
    options.update(kwargs)  # the user's column choices win (e.g. n_col="N_no_emb")
    return ScalingData.from_dataframe(frame, **options)
