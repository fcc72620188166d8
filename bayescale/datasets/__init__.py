"""Real scaling-law data shipped with bayescale (provenance in ``PROVENANCE.md``)."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd

from bayescale.data import ScalingData

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
        (Figure 4) digitised by Besiroglu et al. 2024.
    full : bool, default False
        Return every row. By default the documented subset is returned: for
        ``"chinchilla"`` the 5 highest-loss runs are excluded (240 runs), as in
        Besiroglu et al. 2024.
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
    drop = 0 if full else info.default_exclude_highest_loss
    if drop:
        loss = frame[info.columns["loss_col"]].to_numpy()
        # stable sort so ties are broken by file order, deterministically
        order = np.argsort(-loss, kind="stable")
        frame = frame.drop(index=frame.index[order[:drop]])
    frame.index = frame.index + 2  # CSV line numbers, as from_csv reports them
    return ScalingData.from_dataframe(
        frame, **info.columns, **kwargs, source=f"bundled:{name}", row_word="line"
    )
