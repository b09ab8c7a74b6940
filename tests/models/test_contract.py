"""One contract for all four architectures: shape, a short fit, and a checkpoint that reloads exactly."""

from __future__ import annotations

import lightning as L
import pytest
import torch

from tradexp.data import BarsDataModule, SyntheticMarket
from tradexp.models import NETS, TradingModule, load_trading_module


@pytest.mark.parametrize("name", sorted(NETS))
@pytest.mark.parametrize("task", ["classification", "regression"])
def test_architecture_contract(name, task, tmp_path):
    torch.manual_seed(0)
    dm = BarsDataModule(synthetic=SyntheticMarket(n_bars=500), window=8, batch_size=64, task=task)
    dm.setup()
    net = NETS[name](n_features=dm.n_features, window=dm.window)
    x, _ = dm._datasets["train"][list(range(5))]
    assert net(x).shape == (5,)  # (B, W, F) -> (B,)

    model = TradingModule(net=net, task=task, lr=1e-2)
    trainer = L.Trainer(max_epochs=1, logger=False, enable_progress_bar=False, enable_model_summary=False, default_root_dir=tmp_path, limit_train_batches=3)
    before = [p.detach().clone() for p in model.parameters()]
    trainer.fit(model, datamodule=dm)
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters())), "a fit step must change the weights"
    path = tmp_path / "model.ckpt"
    trainer.save_checkpoint(path)

    reloaded = load_trading_module(path)
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(reloaded.predict_scores(x), model.predict_scores(x))
    assert reloaded.hparams["net"]["class_path"] == f"tradexp.models.{NETS[name].__name__}"  # as configs name it
    checkpoint = torch.load(path, weights_only=True)
    assert "scaler" in checkpoint["BarsDataModule"]  # the scaler travels with the model


def test_checkpoint_with_pickled_payload_is_refused(tmp_path):
    class Payload:
        def __reduce__(self):
            return (print, ("pwned",))

    path = tmp_path / "evil.ckpt"
    torch.save({"hyper_parameters": {"net": {"name": "mlp", "init_args": {}}}, "state_dict": {}, "x": Payload()}, path)
    with pytest.raises(Exception, match="Weights only load failed|Unsupported global"):
        load_trading_module(path)


def test_unknown_net_in_checkpoint_is_refused(tmp_path):
    path = tmp_path / "other.ckpt"
    torch.save({"hyper_parameters": {"net": {"name": "os.system", "init_args": {}}}, "state_dict": {}}, path)
    with pytest.raises(ValueError, match=r"names net `os.system`; known: \['cnn_lstm', 'gru', 'lstm', 'mlp'\]"):
        load_trading_module(path)


def test_train_loss_is_the_sample_weighted_mean_of_the_epoch_steps(tmp_path):
    """`train/loss` (summed per step, logged once an epoch) is each step's loss weighted by its batch size."""

    class StepLosses(L.Callback):
        def __init__(self) -> None:
            self.sums, self.sizes = [], []

        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
            self.sums.append(float(outputs["loss"]) * len(batch[1]))
            self.sizes.append(len(batch[1]))

    torch.manual_seed(0)
    dm = BarsDataModule(synthetic=SyntheticMarket(n_bars=300), window=8, batch_size=48)
    dm.setup()
    model = TradingModule(net=NETS["mlp"](n_features=dm.n_features, window=dm.window), lr=1e-2)
    steps = StepLosses()
    trainer = L.Trainer(
        max_epochs=1,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
        default_root_dir=tmp_path,
        limit_val_batches=0,
        callbacks=[steps],
    )
    trainer.fit(model, datamodule=dm)
    assert len(set(steps.sizes)) == 2  # a short last batch, so the weighting matters
    assert float(trainer.callback_metrics["train/loss"]) == pytest.approx(sum(steps.sums) / sum(steps.sizes), rel=1e-5)
    assert not any("_train" in name or "_current_fx" in name for name in model.state_dict())
