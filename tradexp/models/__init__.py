"""Plain nets and the one LightningModule that trains them."""

from tradexp.models.module import DirectionalAccuracy, TradingModule, load_trading_module, net_name
from tradexp.models.nets import NETS, CNNLSTMNet, GRUNet, LSTMNet, MLPNet

__all__ = ["CNNLSTMNet", "DirectionalAccuracy", "GRUNet", "LSTMNet", "MLPNet", "NETS", "TradingModule", "load_trading_module", "net_name"]
