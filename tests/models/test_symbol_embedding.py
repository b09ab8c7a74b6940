"""`model.symbol_embedding`: a learned per-symbol vector on every bar, for all four nets, saved in the checkpoint."""

from __future__ import annotations

import lightning as L
import pytest
import torch

from tests.conftest import CONFIGS, TINY
from tradexp.api import override_args
from tradexp.data import BarsDataModule, SyntheticMarket
from tradexp.errors import ConfigError
from tradexp.lightning_cli import TradexpCLI
from tradexp.models import NETS, TradingModule, load_trading_module
from tradexp.models.symbol_embedding import SymbolEmbedding

_WIDTH = 3


def _universe(n_symbols: int = 3) -> BarsDataModule:
    return BarsDataModule(synthetic=SyntheticMarket(n_bars=300, n_symbols=n_symbols), window=8, batch_size=64)


def _trainer(tmp_path) -> L.Trainer:
    return L.Trainer(
        max_epochs=1, logger=False, enable_progress_bar=False, enable_model_summary=False, enable_checkpointing=False,
        default_root_dir=tmp_path, limit_train_batches=2, limit_val_batches=1,
    )  # fmt: skip


def test_embedding_appends_the_symbol_vector_to_every_bar():
    layer = SymbolEmbedding(["A", "B"], 2)
    x = torch.zeros(3, 5, 4)  # (B, W, F)
    out = layer(x, torch.tensor([0, 1, 0]))
    assert out.shape == (3, 5, 6)
    torch.testing.assert_close(out[0, :, 4:], layer.embedding.weight[0].expand(5, 2))  # the same vector on each bar
    torch.testing.assert_close(out[0], out[2])
    assert not torch.equal(out[0], out[1])


@pytest.mark.parametrize("name", sorted(NETS))
def test_every_net_trains_with_it_and_the_checkpoint_rebuilds_it(name, tmp_path):
    torch.manual_seed(0)
    dm = _universe()
    dm.setup()
    model = TradingModule(net=NETS[name](n_features=dm.n_features + _WIDTH, window=dm.window), lr=1e-2, symbol_embedding=_WIDTH)
    trainer = _trainer(tmp_path)
    trainer.fit(model, datamodule=dm)
    x, y, ids = next(iter(dm.train_dataloader()))  # the model asked for symbol ids
    assert x.shape[-1] == dm.n_features and ids.dtype == torch.int64 and set(ids.tolist()) <= {0, 1, 2}
    assert model.hparams["symbols"] == dm.symbols
    path = tmp_path / "model.ckpt"
    trainer.save_checkpoint(path)
    reloaded = load_trading_module(path)
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(reloaded.predict_scores(x, ids), model.predict_scores(x, ids))
        assert not torch.equal(model.predict_scores(x, ids), model.predict_scores(x, (ids + 1) % 3))  # the symbol matters
    with pytest.raises(ValueError, match="has a symbol embedding: pass the symbol ids"):
        reloaded.predict_scores(x)


def test_off_by_default_batches_stay_x_y(tmp_path):
    dm = _universe()
    model = TradingModule(net=NETS["mlp"](n_features=len(dm.features), window=dm.window))
    _trainer(tmp_path).fit(model, datamodule=dm)
    assert model.symbol_encoder is None and len(next(iter(dm.train_dataloader()))) == 2


def test_refused_on_a_single_series_and_with_a_net_of_the_wrong_width(tmp_path):
    single = BarsDataModule(synthetic=SyntheticMarket(n_bars=300), window=8)
    model = TradingModule(net=NETS["mlp"](n_features=len(single.features) + 2, window=8), symbol_embedding=2)
    with pytest.raises(ConfigError, match=r"`model.symbol_embedding` \(2\) needs a universe"):
        _trainer(tmp_path).fit(model, datamodule=single)
    dm = _universe()
    narrow = TradingModule(net=NETS["mlp"](n_features=len(dm.features), window=8), symbol_embedding=2)
    with pytest.raises(ConfigError, match=r"needs `model.net.init_args.n_features` = 9 features \+ 2 = 11, got 9"):
        _trainer(tmp_path).fit(narrow, datamodule=dm)
    with pytest.raises(ValueError, match=r"`model.symbol_embedding` must be >= 1, got 0"):
        TradingModule(net=NETS["mlp"](), symbol_embedding=0)


def test_cli_links_the_net_width_and_refuses_a_single_series():
    args = ["--config", str(CONFIGS / "gru.yaml"), *override_args({**TINY, "data.synthetic.n_symbols": 3}), "--model.symbol_embedding", "4"]
    cli = TradexpCLI(args=args, run=False)
    assert cli.model.net.init_args["n_features"] == cli.datamodule.n_features + 4
    with pytest.raises(ConfigError, match=r"model.symbol_embedding: 4 received; null for a single series"):
        TradexpCLI(args=["--config", str(CONFIGS / "gru.yaml"), *override_args(TINY), "--model.symbol_embedding", "4"], run=False)
