"""python scripts/bench_disk.py [--quick]

Disk a study leaves per HPO trial, with the local checkpoint cleanup off and on, side by side:
the same study (configs/hpo/mlp.yaml with its successive-halving pruner, tiny MLP fits on the
synthetic market: 600 bars, window 8) run twice in fresh folders,

- off: `tracking.keep_local_checkpoints: true`, every checkpoint kept twice (local + artifact store);
- on:  the default: a local copy goes once the run's `checkpoints/` artifacts hold it, and a pruned
       or failed trial keeps no checkpoint at all (`tradexp.tracking.local_checkpoints`).

Printed per trial: bytes and `.ckpt` files under `lightning_logs/` and under the artifact store
(`mlartifacts/`), and their sum. Target: with cleanup on no checkpoint is kept twice (no local
`.ckpt` left once the study ends) and a pruned trial stores none.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_hpo import _in_fresh_folder, _study_config  # noqa: E402  (TINY fits, a fresh folder and stores)
from tradexp.hpo import run_study  # noqa: E402


def _usage(folder: Path) -> dict[str, int]:
    """Bytes and checkpoint count of every file under `folder`."""
    files = [p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()] if folder.is_dir() else []
    return {"bytes": sum(p.stat().st_size for p in files), "ckpts": sum(p.suffix == ".ckpt" for p in files)}


def _study(folder: Path, keep_local: bool, n_trials: int, max_epochs: int, quick: bool) -> dict[str, Any]:
    lean = {"tracking.log_model": False, "trainer.callbacks": []} if quick else {}  # checkpoints only: no model, no reports
    config = _study_config(folder, max_epochs, {"tracking.keep_local_checkpoints": keep_local, **lean}, study_name="disk")
    result = run_study(config, n_trials=n_trials, retrain_best=False, quiet=True)
    return {"local": _usage(folder / "lightning_logs"), "store": _usage(folder / "mlartifacts"), "states": dict(result.states)}


def bench_study(keep_local: bool, n_trials: int, max_epochs: int, quick: bool = False) -> dict[str, Any]:
    """Run one study in a fresh folder; its disk use under `lightning_logs/` and `mlartifacts/`."""
    return _in_fresh_folder(_study, keep_local, n_trials, max_epochs, quick)


def _kb(n: float) -> str:
    return f"{n / 1000:.1f} KB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 trials of 3 epochs, no reporting callbacks (default 8 of 6, all callbacks)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    n_trials, max_epochs = (3, 3) if args.quick else (8, 6)
    print(f"bench_disk ({'quick' if args.quick else 'full'}): {n_trials} trials, max_epochs {max_epochs}, pruner of configs/hpo/mlp.yaml")
    off = bench_study(True, n_trials, max_epochs, args.quick)
    on = bench_study(False, n_trials, max_epochs, args.quick)
    print(f"\n{'per HPO trial':<26}{'cleanup off':>16}{'cleanup on':>16}")
    for label, key in (("lightning_logs/", "local"), ("artifact store", "store")):
        print(f"{label + ' bytes':<26}{_kb(off[key]['bytes'] / n_trials):>16}{_kb(on[key]['bytes'] / n_trials):>16}")
        print(f"{label + ' .ckpt files':<26}{off[key]['ckpts'] / n_trials:>16.2f}{on[key]['ckpts'] / n_trials:>16.2f}")
    total_off = (off["local"]["bytes"] + off["store"]["bytes"]) / n_trials
    total_on = (on["local"]["bytes"] + on["store"]["bytes"]) / n_trials
    print(f"{'total bytes':<26}{_kb(total_off):>16}{_kb(total_on):>16}")
    print(
        f"(trial states: {off['states']} / {on['states']}; .ckpt files in all: off {off['local']['ckpts']} local + {off['store']['ckpts']} stored; on {on['local']['ckpts']} local + {on['store']['ckpts']} stored)"
    )
    ratio = total_on / total_off if total_off else float("nan")
    complete = on["states"].get("COMPLETE", 0)
    once = complete > 0 and on["local"]["ckpts"] == 0 and on["store"]["ckpts"] <= 2 * complete
    print(f"\ncleanup on uses {ratio:.0%} of the disk per trial of cleanup off")
    print(
        f"{'PASS' if once else 'MISS'}  target: no checkpoint kept twice, none for a pruned trial "
        f"({on['local']['ckpts']} local .ckpt, {on['store']['ckpts']} stored for {on['states'].get('COMPLETE', 0)} complete trials)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
