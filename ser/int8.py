"""The CPU int8 fast path of pre-LayerNorm Transformer blocks: int8 weights and activations in
the projections (integer matrix products), attention in a float compute dtype."""

import torch
import torch.nn.functional as F
from torch import nn

PLAIN = torch.contiguous_format


class Int8Linear(nn.Module):
    """A Linear layer as int8 products: weights quantised per output channel, activations per
    row as they come, so a row's output never depends on the other rows in its batch."""

    def __init__(self, linear: nn.Linear) -> None:
        super().__init__()
        weight = linear.weight.detach().float()
        scale = weight.abs().amax(dim=1).clamp(min=1e-12) / 127
        self.register_buffer(
            "weight_t", (weight / scale[:, None]).round().to(torch.int8).t().contiguous()
        )
        self.register_buffer("weight_scale", scale)
        self.register_buffer("bias", linear.bias.detach().float())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = x.reshape(-1, x.shape[-1]).float()  # bf16 rounding could push a row past 127
        # amax and amin apart: far faster on the CPU than abs().amax() or aminmax().
        peak = torch.maximum(rows.amax(dim=1), rows.amin(dim=1).neg()).clamp_(min=1e-12)
        quantised = (rows * (127 / peak)[:, None]).round_().to(torch.int8)
        products = torch._int_mm(quantised, self.weight_t).float()
        scale = (peak / 127)[:, None] * self.weight_scale
        return torch.addcmul(self.bias, products, scale).reshape(*x.shape[:-1], -1)


class Int8EncoderLayer(nn.Module):
    """nn.TransformerEncoderLayer (norm_first, GELU, no dropout) with Int8Linear projections
    and attention scores and mixing in `attention_dtype` (softmax in fp32)."""

    def __init__(self, layer: nn.TransformerEncoderLayer, attention_dtype: torch.dtype) -> None:
        super().__init__()
        attention = layer.self_attn
        width, self.heads = attention.embed_dim, attention.num_heads
        # The queries' 1 / sqrt(head width) folded into their projection.
        scale = torch.ones(3 * width, 1)
        scale[:width] = (width // self.heads) ** -0.5
        qkv = nn.Linear(width, 3 * width)
        qkv.weight = nn.Parameter(attention.in_proj_weight.detach() * scale)
        qkv.bias = nn.Parameter(attention.in_proj_bias.detach() * scale[:, 0])
        self.qkv, self.out = Int8Linear(qkv), Int8Linear(attention.out_proj)
        self.linear1, self.linear2 = Int8Linear(layer.linear1), Int8Linear(layer.linear2)
        self.norm1, self.norm2 = layer.norm1, layer.norm2
        self.attention_dtype = attention_dtype

    def attend(self, x: torch.Tensor) -> torch.Tensor:
        """Multi-head self-attention of (B, T, width) `x`, fp32 out."""
        batch, length, width = x.shape
        qkv = self.qkv(x).view(batch, length, 3, self.heads, width // self.heads)
        # One copy into (3, B, heads, T, head width): each matrix product reads plain strides.
        q, k, v = qkv.permute(2, 0, 3, 1, 4).to(self.attention_dtype, memory_format=PLAIN)
        # The softmax to fp32: its bf16-out kernel is slower on the CPU.
        mixed = (q @ k.transpose(-1, -2)).softmax(dim=-1, dtype=torch.float32).to(v.dtype) @ v
        mixed = mixed.transpose(1, 2).to(torch.float32, memory_format=PLAIN)
        return self.out(mixed.reshape(batch, length, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.float()  # the residual stream stays fp32
        x = x + self.attend(self.norm1(x))
        return x + self.linear2(F.gelu(self.linear1(self.norm2(x))))
