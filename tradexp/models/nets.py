"""Plain `nn.Module` nets: (B, W, F) windows in, one logit or value per sample out.

`n_features` and `window` come from the datamodule (linked by the CLI); the rest is architecture.
Each net records its constructor arguments in `init_args` so a checkpoint can rebuild it.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from tradexp.ranges import HalfOpenUnitInterval, PositiveInt, check_ranges, plain

__all__ = ["MLPNet", "LSTMNet", "GRUNet", "CNNLSTMNet", "NETS"]


def _check_widths(name: str, values: list[int]) -> None:
    """A non-empty list of whole numbers >= 1 (the element type says >= 1 to the parser; Python callers get it here)."""
    if not values or min(values) < 1:
        raise ValueError(f"`model.net.init_args.{name}` must be a non-empty list of whole numbers >= 1, got {list(values)}")


def _activation(name: str) -> nn.Module:
    return {"relu": nn.ReLU(), "gelu": nn.GELU(), "tanh": nn.Tanh()}[name]


class MLPNet(nn.Module):
    """Multi-layer perceptron on the flattened window or on the last bar's features.

    Args:
        n_features: Features per bar (set from the data).
        window: Bars per window (set from the data).
        hidden_sizes: Width of each hidden layer.
        dropout: Dropout after each hidden layer.
        activation: `relu`, `gelu` or `tanh`.
        input_mode: `flatten` uses the whole window, `last` only the last bar.
    """

    def __init__(
        self,
        n_features: PositiveInt = 1,
        window: PositiveInt = 1,
        hidden_sizes: list[PositiveInt] = [64, 32],
        dropout: HalfOpenUnitInterval = 0.1,
        activation: Literal["relu", "gelu", "tanh"] = "relu",
        input_mode: Literal["flatten", "last"] = "flatten",
    ) -> None:
        check_ranges(MLPNet.__init__, locals(), "model.net.init_args.")
        _check_widths("hidden_sizes", hidden_sizes)
        super().__init__()
        self.init_args = plain(dict(n_features=n_features, window=window, hidden_sizes=list(hidden_sizes), dropout=dropout, activation=activation, input_mode=input_mode))
        self.input_mode = input_mode
        width = n_features * window if input_mode == "flatten" else n_features
        layers: list[nn.Module] = []
        for size in hidden_sizes:
            layers += [nn.Linear(width, size), _activation(activation), nn.Dropout(dropout)]
            width = size
        layers.append(nn.Linear(width, 1))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.flatten(1) if self.input_mode == "flatten" else x[:, -1]  # (B, W, F) -> (B, W*F) or (B, F)
        return self.layers(x).squeeze(-1)  # (B, 1) -> (B,)


class _RecurrentNet(nn.Module):
    cell: type[nn.RNNBase]

    # One signature for LSTMNet and GRUNet (documented by _recurrent_doc; jsonargparse reads the inherited __init__).
    def __init__(
        self,
        n_features: PositiveInt = 1,
        window: PositiveInt = 1,
        hidden_size: PositiveInt = 64,
        num_layers: PositiveInt = 1,
        dropout: HalfOpenUnitInterval = 0.1,
        bidirectional: bool = False,
    ) -> None:
        check_ranges(_RecurrentNet.__init__, locals(), "model.net.init_args.")
        super().__init__()
        self.init_args = plain(dict(n_features=n_features, window=window, hidden_size=hidden_size, num_layers=num_layers, dropout=dropout, bidirectional=bidirectional))
        self.rnn = self.cell(n_features, hidden_size, num_layers=num_layers, batch_first=True, dropout=dropout if num_layers > 1 else 0.0, bidirectional=bidirectional)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(hidden_size * (2 if bidirectional else 1), 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x)  # (B, W, F) -> (B, W, H * directions)
        return self.head(out[:, -1]).squeeze(-1)  # last step (B, H*) -> (B,)


def _recurrent_doc(cell: str) -> str:
    """The docstring LSTMNet and GRUNet share (LightningCLI's `--help` reads it), naming their cell."""
    return f"""{cell} over the window; the last step's hidden state feeds a linear head.

    Args:
        n_features: Features per bar (set from the data).
        window: Bars per window (set from the data).
        hidden_size: {cell} hidden units.
        num_layers: Stacked {cell} layers.
        dropout: Dropout between layers and before the head.
        bidirectional: Run the {cell} in both directions over the window (still causal: the window ends at t).
    """


class LSTMNet(_RecurrentNet):
    __doc__ = _recurrent_doc("LSTM")
    cell = nn.LSTM


class GRUNet(_RecurrentNet):
    __doc__ = _recurrent_doc("GRU")
    cell = nn.GRU


class CNNLSTMNet(nn.Module):
    """1-D convolutions over time extract local patterns, then an LSTM reads their sequence.

    Args:
        n_features: Features per bar (set from the data).
        window: Bars per window (set from the data).
        conv_channels: Output channels of each convolution layer.
        kernel_sizes: Kernel size (in bars) of each convolution layer; same length as `conv_channels`.
        hidden_size: LSTM hidden units.
        num_layers: Stacked LSTM layers.
        dropout: Dropout after the convolutions and before the head.
    """

    def __init__(
        self,
        n_features: PositiveInt = 1,
        window: PositiveInt = 1,
        conv_channels: list[PositiveInt] = [32, 32],
        kernel_sizes: list[PositiveInt] = [5, 3],
        hidden_size: PositiveInt = 64,
        num_layers: PositiveInt = 1,
        dropout: HalfOpenUnitInterval = 0.1,
    ) -> None:
        check_ranges(CNNLSTMNet.__init__, locals(), "model.net.init_args.")
        _check_widths("conv_channels", conv_channels)
        _check_widths("kernel_sizes", kernel_sizes)
        if len(conv_channels) != len(kernel_sizes):
            raise ValueError(f"`model.net.init_args.conv_channels` {conv_channels} and `kernel_sizes` {kernel_sizes} must be of equal length")
        super().__init__()
        self.init_args = plain(
            dict(
                n_features=n_features,
                window=window,
                conv_channels=list(conv_channels),
                kernel_sizes=list(kernel_sizes),
                hidden_size=hidden_size,
                num_layers=num_layers,
                dropout=dropout,
            )
        )
        layers: list[nn.Module] = []
        channels = n_features
        for out_channels, kernel in zip(conv_channels, kernel_sizes):
            # left padding only: the output at step t sees steps <= t
            layers += [nn.ConstantPad1d((kernel - 1, 0), 0.0), nn.Conv1d(channels, out_channels, kernel), nn.ReLU()]
            channels = out_channels
        self.conv = nn.Sequential(*layers, nn.Dropout(dropout))
        self.lstm = nn.LSTM(channels, hidden_size, num_layers=num_layers, batch_first=True, dropout=dropout if num_layers > 1 else 0.0)
        self.head = nn.Linear(hidden_size, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.conv(x.transpose(1, 2))  # (B, W, F) -> (B, F, W) -> (B, C, W)
        out, _ = self.lstm(z.transpose(1, 2))  # (B, W, C) -> (B, W, H)
        return self.head(out[:, -1]).squeeze(-1)  # (B, H) -> (B,)


NETS: dict[str, type[nn.Module]] = {"mlp": MLPNet, "lstm": LSTMNet, "gru": GRUNet, "cnn_lstm": CNNLSTMNet}
