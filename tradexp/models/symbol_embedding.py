"""`SymbolEmbedding`: a learned vector per symbol of a universe, appended to every bar of a window.

It sits outside the nets: the window (B, W, F) and the symbol ids (B,) become (B, W, F + N), so all
four nets of `tradexp.models.nets` train unchanged with `n_features = features + N` (the CLI links it).
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

__all__ = ["SymbolEmbedding", "symbol_embedding_width"]


def symbol_embedding_width(features: Sequence[str], symbol_embedding: int | None) -> int:
    """Inputs per bar the net sees: the features plus the embedding width (0 when off).

    The CLI links `model.net.init_args.n_features` to it.
    """
    return len(features) + int(symbol_embedding or 0)


class SymbolEmbedding(nn.Module):
    """`nn.Embedding(n_symbols, dim)` whose vector of each sample's symbol is repeated over the window.

    Args:
        symbols: The universe's symbols, in id order (id i is `symbols[i]`).
        dim: Width N of the vector, >= 1.

    Raises:
        ValueError: For no symbols or a width below 1.
    """

    def __init__(self, symbols: Sequence[str], dim: int) -> None:
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
            raise ValueError(f"`model.symbol_embedding` must be a whole number >= 1 (the vector width), got {dim!r}")
        if not symbols:
            raise ValueError("`model.symbol_embedding` needs the universe's symbols; got none")
        super().__init__()
        self.symbols = [str(s) for s in symbols]
        self.dim = dim
        self.embedding = nn.Embedding(len(self.symbols), dim)

    def forward(self, x: torch.Tensor, symbol_ids: torch.Tensor) -> torch.Tensor:
        """Windows (B, W, F) and ids (B,) -> (B, W, F + N)."""
        vectors = self.embedding(symbol_ids.long())  # (B,) -> (B, N)
        repeated = vectors[:, None, :].expand(-1, x.shape[1], -1)  # (B, N) -> (B, W, N) view, no copy
        return torch.cat([x, repeated.to(x.dtype)], dim=-1)  # (B, W, F + N)
