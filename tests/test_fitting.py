"""The training batches fed to Keras's fit: one endless stream whose batch ``i`` is a pure
function of ``i`` (order and shifts seeded by its data epoch), numbered per phase as before."""

import numpy as np

from varbind.model.inputs import WindowBatch
from varbind.training.fitting import _window_dataset_class
from varbind.training.models import input_specs
from varbind.training.training_data import SplitData

N, BATCH = 70, 16  # 5 batches an epoch, the last one partial


def split(n: int = N) -> SplitData:
    """``n`` random windows whose first label column holds the window's index."""
    seq = np.random.default_rng(0).integers(0, 4, size=(n, 30)).astype(np.uint8)
    labels = np.zeros((n, 2), dtype=np.uint8)
    labels[:, 0] = np.arange(n)
    return SplitData(WindowBatch(seq=seq), labels)


def stream(shuffle: bool = True, shift: int = 3):
    specs = input_specs("multiresbind", ("sequence",), 30)
    return _window_dataset_class()(specs, split(), BATCH, shuffle, 7, shift)


def indices(ds, batches) -> list[int]:
    return [int(v) for i in batches for v in ds[i][1][:, 0]]


def test_each_epoch_of_the_stream_holds_every_window_once_in_a_new_order():
    ds = stream()
    assert ds.num_batches is None and len(ds) == 5  # endless; 5 steps an epoch
    first, second = indices(ds, range(5)), indices(ds, range(5, 10))
    assert sorted(first) == sorted(second) == list(range(N))
    assert first != second


def test_a_batch_is_the_same_whenever_it_is_read():
    ds = stream()
    early = ds[7]
    for i in (0, 12, 3):  # other epochs read in between, as a prefetching iterator would
        ds[i]
    late = ds[7]
    np.testing.assert_array_equal(early[0][0], late[0][0])
    np.testing.assert_array_equal(early[1], late[1])


def test_phases_number_their_data_epochs_as_keras_epoch_ends_did():
    first, extension = stream(), stream()
    first.start_phase(0, 0)  # the first phase reads data epochs 1, 2, ...
    extension.start_phase(3, 1)  # an extension after 3 epochs: data epochs 5, 6, ...
    np.testing.assert_array_equal(first[(5 - 1) * 5][0][0], extension[0][0][0])
    assert indices(first, range(5)) != indices(stream(), range(5))  # data epoch 1, not 0


def test_the_validation_batches_are_finite_and_in_order():
    ds = stream(shuffle=False, shift=0)
    assert ds.num_batches == len(ds) == 5
    assert indices(ds, range(5)) == list(range(N))
