"""dlib's face ResNet (dlib_face_recognition_resnet_model_v1) run in numpy over OpenBLAS.

Same weights, read from the model file that face-recognition-models ships, same arithmetic:
the network is the one of dlib's ``dnn_face_recognition_ex.cpp`` (a 29-convolution ResNet on
a 150x150 RGB chip, 128-d output). dlib-bin's CPU convolution runs at ~7 GFLOP/s here (77 ms
per chip); an im2col matrix product in OpenBLAS runs the same ~0.5 GFLOP several times
faster. ``tests/matching/face/test_resnet.py`` holds its output to dlib's own, so templates,
thresholds and the calibration stay those of dlib's model.

File format (dlib/serialize.h, dlib/dnn/layers.h): integers are a length byte (bit 7 = sign)
then little-endian bytes; strings are an integer length then bytes; tensors are version 2,
four integer dimensions, then raw little-endian float32. Layers appear in forward order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import as_strided

from matching.exceptions import TemplateError

CHIP = 150
# Residual blocks after the stem, in forward order: (filters, downsamples). From dlib's
# example: alevel4 = 3 x ares<32>, alevel3 = ares_down<64> + 3 x ares<64>, alevel2 =
# ares_down<128> + 2 x ares<128>, alevel1 = ares_down<256> + 2 x ares<256>, alevel0 =
# ares_down<256>.
BLOCKS = ([(32, False)] * 3 + [(64, True)] + [(64, False)] * 3 + [(128, True)]
          + [(128, False)] * 2 + [(256, True)] + [(256, False)] * 2 + [(256, True)])


@dataclass(frozen=True)
class _Conv:
    """A convolution with the following affine layer folded in (NHWC weights)."""

    weights: np.ndarray  # (kh * kw * C, F), rows ordered (kh, kw, C)
    bias: np.ndarray  # (F,)
    size: int
    stride: int
    pad: int


class _Reader:
    """Sequential reader of dlib's serialisation primitives."""

    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def integer(self) -> int:
        """Read one dlib packed integer."""
        if self.pos >= len(self.data):
            raise TemplateError("the face model file is truncated")
        head = self.data[self.pos]
        size, negative = head & 0x0F, bool(head & 0x80)
        raw = self.data[self.pos + 1:self.pos + 1 + size]
        self.pos += 1 + size
        value = int.from_bytes(raw, "little")
        return -value if negative else value

    def find(self, name: str) -> bool:
        """Move past the next serialised string ``name``; False when there is none."""
        token = bytes([1, len(name)]) + name.encode("ascii")
        at = self.data.find(token, self.pos)
        if at < 0:
            return False
        self.pos = at + len(token)
        return True

    def tensor(self) -> np.ndarray:
        """Read one dlib tensor (version 2) as a flat float32 array."""
        if self.integer() != 2:
            raise TemplateError("unsupported dlib tensor version in the face model")
        count = int(np.prod([self.integer() for _ in range(4)]))
        end = self.pos + 4 * count
        if end > len(self.data):
            raise TemplateError("the face model file is truncated")
        values = np.frombuffer(self.data[self.pos:end], dtype="<f4").astype(np.float32)
        self.pos = end
        return values

    def floating(self) -> float:
        """Read one dlib float (mantissa and exponent as packed integers)."""
        mantissa = self.integer()
        return mantissa * 2.0 ** self.integer()


@dataclass(frozen=True)
class ResNetWeights:
    """Everything the forward pass needs, read from the model file."""

    means: np.ndarray  # input_rgb_image's per-channel means (R, G, B)
    convs: list[_Conv]
    fc: np.ndarray  # (256, 128)


def load(path: str) -> ResNetWeights:
    """Read dlib_face_recognition_resnet_model_v1.dat; raise TemplateError if it differs."""
    with open(path, "rb") as fh:
        reader = _Reader(fh.read())
    if not reader.find("input_rgb_image_sized"):
        raise TemplateError("not a dlib face recognition ResNet file")
    means = np.array([reader.floating() for _ in range(3)], dtype=np.float32)
    convs = []
    while reader.find("con_4"):
        params = reader.tensor()
        filters, rows, cols, stride, _, pad, _ = (reader.integer() for _ in range(7))
        if not reader.find("affine_"):
            raise TemplateError("a convolution without its affine layer in the face model")
        affine = reader.tensor()
        convs.append(_fold(params, affine, filters, rows, stride, pad))
    if not reader.find("fc_2"):
        raise TemplateError("the face model has no fully connected layer")
    outputs, inputs = reader.integer(), reader.integer()
    fc = reader.tensor()[:inputs * outputs].reshape(inputs, outputs)
    weights = ResNetWeights(means=means, convs=convs, fc=fc)
    _check_shape(weights)
    return weights


def _fold(params: np.ndarray, affine: np.ndarray, filters: int, size: int, stride: int,
          pad: int) -> _Conv:
    """Return a convolution with gamma * (conv + b) + beta folded into its weights."""
    channels = (params.size - filters) // max(1, filters * size * size)
    if channels < 1 or params.size != filters * (channels * size * size + 1) \
            or affine.size != 2 * filters:
        raise TemplateError("a convolution of the face model has inconsistent sizes")
    w = params[:filters * channels * size * size].reshape(filters, channels, size, size)
    b = params[filters * channels * size * size:]
    gamma, beta = affine[:filters], affine[filters:2 * filters]
    w = (w * gamma[:, None, None, None]).transpose(2, 3, 1, 0).reshape(-1, filters)
    return _Conv(np.ascontiguousarray(w, dtype=np.float32),
                 (b * gamma + beta).astype(np.float32), size, stride, pad)


def _check_shape(weights: ResNetWeights) -> None:
    """Raise TemplateError unless the file holds the architecture this module runs."""
    want = [(32, 7, 2)] + [(n, 3, 2 if down and i == 0 else 1)
                           for n, down in BLOCKS for i in range(2)]
    got = [(c.bias.size, c.size, c.stride) for c in weights.convs]
    if got != want or weights.fc.shape != (256, 128):
        raise TemplateError("the face model file is not dlib's ResNet v1 architecture")


def _windows(x: np.ndarray, size: int, stride: int) -> np.ndarray:
    """Return the read-only (N, Ho, Wo, size, size, C) view of NHWC ``x``'s windows."""
    n, h, w, c = x.shape
    s_n, s_h, s_w, s_c = x.strides
    shape = (n, (h - size) // stride + 1, (w - size) // stride + 1, size, size, c)
    return as_strided(x, shape, (s_n, s_h * stride, s_w * stride, s_h, s_w, s_c),
                      writeable=False)


def _conv(x: np.ndarray, conv: _Conv, *, relu: bool = False) -> np.ndarray:
    """Return the convolution of NHWC ``x`` (im2col, then one matrix product), rectified
    when ``relu``."""
    if conv.pad:
        p = conv.pad
        n, h, w, c = x.shape
        padded = np.zeros((n, h + 2 * p, w + 2 * p, c), np.float32)
        padded[:, p:p + h, p:p + w] = x
        x = padded
    windows = _windows(x, conv.size, conv.stride)
    n, ho, wo = windows.shape[:3]
    out = windows.reshape(n * ho * wo, -1) @ conv.weights
    out += conv.bias
    if relu:
        np.maximum(out, 0, out=out)
    return out.reshape(n, ho, wo, -1)


def _add(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Return a + b aligned at index 0, zero-filled where sizes differ (dlib's add_prev).

    When the shapes agree the sum is written into ``a`` (a block's own fresh output).
    """
    if a.shape == b.shape:
        a += b  # a is the block's fresh output
        return a
    shape = tuple(max(s, t) for s, t in zip(a.shape, b.shape, strict=True))
    out = np.zeros(shape, np.float32)
    out[:, :a.shape[1], :a.shape[2], :a.shape[3]] += a
    out[:, :b.shape[1], :b.shape[2], :b.shape[3]] += b
    return out


def _max_pool(x: np.ndarray, size: int, stride: int) -> np.ndarray:
    """Return unpadded max pooling of NHWC ``x``."""
    windows = _windows(x, size, stride)
    out = windows[:, :, :, 0, 0].copy()
    for i in range(size):
        for j in range(size):
            np.maximum(out, windows[:, :, :, i, j], out=out)
    return out


def _avg_pool_2x2(x: np.ndarray) -> np.ndarray:
    """Return unpadded 2x2, stride 2 average pooling of NHWC ``x``."""
    windows = _windows(x, 2, 2)
    out = windows[:, :, :, 0, 0] + windows[:, :, :, 0, 1]
    out += windows[:, :, :, 1, 0]
    out += windows[:, :, :, 1, 1]
    out *= np.float32(0.25)
    return out


def embed(weights: ResNetWeights, chips: np.ndarray) -> np.ndarray:
    """Return the (N, 128) embeddings of N 150x150 RGB uint8 chips (dlib's raw output)."""
    chips = np.asarray(chips)
    if chips.ndim == 3:
        chips = chips[None]
    if chips.shape[1:] != (CHIP, CHIP, 3) or chips.dtype != np.uint8:
        raise TemplateError("face chips must be Nx150x150x3 uint8 RGB")
    x = (chips.astype(np.float32) - weights.means) / np.float32(256.0)
    stem, *rest = weights.convs
    x = _max_pool(_conv(x, stem, relu=True), 3, 2)
    for (_, down), first, second in zip(BLOCKS, rest[0::2], rest[1::2], strict=True):
        y = _conv(_conv(x, first, relu=True), second)
        skip = _avg_pool_2x2(x) if down else x
        x = _add(y, skip)
        np.maximum(x, 0, out=x)
    return x.mean(axis=(1, 2)) @ weights.fc

