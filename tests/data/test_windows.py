"""`WindowDataset`: a batch copies its own windows and nothing more."""

from __future__ import annotations

import tracemalloc

import numpy as np

from tradexp.data.windows import WindowDataset


def _dataset(n: int = 40_000, f: int = 8, window: int = 64) -> WindowDataset:
    rng = np.random.default_rng(0)
    features = rng.standard_normal((n, f)).astype("float32")  # (N, F)
    targets = rng.standard_normal(n).astype("float32")  # (N,)
    return WindowDataset(features, targets, np.arange(window - 1, n), window)


def test_a_batch_allocates_its_windows_only_not_the_whole_window_view():
    dataset = _dataset()  # every window at once would be 40k x 64 x 8 float32 = 82 MB
    indices = np.arange(0, 12_800, 100)  # 128 samples: 128 x 64 x 8 float32 = 262 KB
    tracemalloc.start()
    try:
        x, _ = dataset[indices]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert x.shape == (128, 64, 8)
    assert peak < 4 * 2**20, f"one batch allocated {peak / 2**20:.0f} MiB (a copy of every window?)"


def test_windows_are_writable_copies_of_the_right_rows_for_a_batch_and_a_single_index():
    dataset = _dataset(n=300, f=3, window=5)
    batch = dataset.windows(np.array([0, 7]))
    single = dataset.windows(7)
    np.testing.assert_array_equal(batch[1], dataset.features[7:12])  # sample 7 ends at row 11
    np.testing.assert_array_equal(single, dataset.features[7:12])
    for copy in (batch, single):
        assert copy.flags.writeable and copy.flags.c_contiguous and not np.shares_memory(copy, dataset.features)
    x, y = dataset[7]
    assert x.shape == (5, 3) and float(y) == float(dataset.targets[11])
