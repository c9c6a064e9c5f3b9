"""The BiLSTM that the NER encoder and the BiLSTM text classifier share: pure PyTorch, no spaCy or thinc."""
from functools import lru_cache

import torch
from torch import nn

INFERENCE_PRECISIONS = ("float32", "bfloat16", "auto")


@lru_cache(maxsize=None)
def has_native_bfloat16(device_type: str) -> bool:
    """Whether the hardware computes bfloat16 products natively. Elsewhere bfloat16 is
    emulated and slower than float32."""
    if device_type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if device_type == "cpu":
        probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
        return any(getattr(torch.cpu, probe, lambda: False)() for probe in probes)
    return False


def check_inference_precision(precision: str) -> str:
    if precision not in INFERENCE_PRECISIONS:
        raise ValueError(
            f"inference_precision must be one of {', '.join(INFERENCE_PRECISIONS)}, got {precision!r}"
        )
    return precision


class BiLSTM(nn.Module):
    """Stacked bidirectional LSTM over right-padded, time-major batches.

    Each direction is a unidirectional `nn.LSTM` over a dense padded tensor; the backward
    direction reads every sequence reversed within its own length, so padding always comes
    after the real tokens and never leaks into them. On CPU this is faster than
    `nn.LSTM(bidirectional=True)` over a PackedSequence, which spends its time copying.
    """

    def __init__(
        self, width: int, depth: int, dropout: float, inference_precision: str = "float32"
    ) -> None:
        super().__init__()
        if width % 2:
            raise ValueError(f"BiLSTM width must be even (two directions), got {width}")
        self.inference_precision = check_inference_precision(inference_precision)
        self.forward_layers = nn.ModuleList(nn.LSTM(width, width // 2) for _ in range(depth))
        self.backward_layers = nn.ModuleList(nn.LSTM(width, width // 2) for _ in range(depth))
        self.dropout = nn.Dropout(dropout)

    def uses_bfloat16(self, device_type: str) -> bool:
        """Inference only: training always runs in float32."""
        if self.training or self.inference_precision == "float32":
            return False
        return self.inference_precision == "bfloat16" or has_native_bfloat16(device_type)

    def forward(self, padded: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        device_type = padded.device.type
        if not self.uses_bfloat16(device_type):
            return self.read_both_ways(padded, lengths)
        with torch.autocast(device_type, dtype=torch.bfloat16):
            return self.read_both_ways(padded, lengths).float()

    def read_both_ways(self, padded: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        max_len, n_seqs, _ = padded.shape
        steps = torch.arange(max_len, device=padded.device).unsqueeze(1)
        lengths = lengths.to(padded.device).unsqueeze(0)
        # Position t of a sequence of length L maps to L-1-t; padding maps to itself.
        reverse = torch.where(steps < lengths, lengths - 1 - steps, steps)
        hidden = padded
        for i, (fwd, bwd) in enumerate(zip(self.forward_layers, self.backward_layers)):
            if i:
                hidden = self.dropout(hidden)
            index = reverse.unsqueeze(2).expand(-1, -1, hidden.shape[2])
            left_to_right, _ = fwd(hidden)
            right_to_left, _ = bwd(hidden.gather(0, index))
            index = reverse.unsqueeze(2).expand(-1, -1, right_to_left.shape[2])
            hidden = torch.cat([left_to_right, right_to_left.gather(0, index)], dim=2)
        return hidden
