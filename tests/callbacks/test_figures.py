"""The callbacks' pyplot-free figures: drawn on an Agg canvas, so measuring text costs no full render."""

from __future__ import annotations

import json
import subprocess
import sys

_DRAW_32_FEATURE_HEATMAP = r"""
import json, resource
import numpy as np
from callbacks.data_distribution import _draw_correlation
names = [f"log_return_{i}" for i in range(32)]
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
fig = _draw_correlation(names, np.random.default_rng(0).uniform(-1, 1, (32, 32)))
drawn = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"grew_mb": (drawn - before) / 1024, "canvas": type(fig.canvas).__name__}))
"""


def test_a_32_feature_correlation_heatmap_is_measured_without_rendering_the_figure_per_label():
    # On matplotlib's bare FigureCanvasBase, seaborn's tick-label overlap check rendered the whole
    # 15-inch figure into a fresh buffer per label: +540 MB peak RSS (the universe fit's peak).
    out = subprocess.run([sys.executable, "-c", _DRAW_32_FEATURE_HEATMAP], capture_output=True, text=True, check=True)
    measured = json.loads(out.stdout.strip().splitlines()[-1])
    assert measured["grew_mb"] < 150, measured
    assert measured["canvas"] == "FigureCanvasAgg"
