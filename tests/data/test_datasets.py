"""Bundled data sets: each loads, says where it comes from, and has the published size."""

import os

import pytest

import bayescale
from bayescale.data.datasets import DATASETS


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_each_bundled_data_set_loads_with_provenance(name):
    info = bayescale.dataset_info(name)
    assert info.name == name and info.description
    data = bayescale.load_dataset(name)
    assert len(data) >= 8 and data.source == f"bundled:{name}"
    folder = os.path.dirname(bayescale.data.datasets.__file__)
    assert os.path.isfile(os.path.join(folder, info.file))


def test_chinchilla_has_the_240_epoch_runs():
    assert len(bayescale.load_dataset("chinchilla")) == 240


def test_unknown_name_lists_the_choices():
    with pytest.raises(ValueError, match="chinchilla"):
        bayescale.load_dataset("gpt5")
