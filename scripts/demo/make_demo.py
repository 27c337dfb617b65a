#!/usr/bin/python3
"""Generate Tureen's demo kitchens: the model-soups experiment in miniature, twice.

Run by hand with Debian's interpreter (not in CI):

    /usr/bin/python3 scripts/demo/make_demo.py [--kitchen demo] [--out resources/demo]
    /usr/bin/python3 scripts/demo/make_demo.py --kitchen soup [--out resources/demo-soup]

--kitchen demo (resources/demo, "a sweep that does not soup"): a tiny Vision Transformer is pretrained on
6 of the 10 Fashion-MNIST classes (the "base"), then fine-tuned 15 times from that same base on all 10
classes with a sweep of large learning rates (6e-4 to 2e-2).

--kitchen soup (resources/demo-soup, the paper's regime, the app's default demo): the same network is
pretrained on all 10 classes of the 48,000 training images that are neither held out nor fine-tuning
data, its head is replaced by a linear probe on the fine-tuning set (LP-FT), and that model (the "base")
is fine-tuned 15 times with learning rates 3e-5 to 1e-3. reference.json gains a "pretraining" block.

In both, runs 01-12 are exported as ONNX files, runs 13-15 as safetensors state dicts that
share one graph.onnx. Eval sets (holdout, id test, five shifts) are written as uint8 safetensors with a
transform. PyTorch computes reference numbers for every model, the uniform soup, the greedy soup and the
logit ensemble, so Tureen's own numbers can be cross-checked.

Output layout (relative to --out):

    README.md
    reference.json
    base/model.onnx
    sweep/run-NN_lr=..._wd=..._ls=..._ep=..._aug=on|off/{model.onnx,hparams.json}        (runs 01-12)
    sweep-safetensors/graph.onnx                                                       (base weights)
    sweep-safetensors/run-NN_.../{model.safetensors,hparams.json}                      (runs 13-15)
    data/{holdout,test,shift-rotate,shift-noise,shift-blur,shift-contrast,shift-zoom}.safetensors

reference.json shape ("schema": "tureen/demo-reference@1"):

    {
      "schema": "tureen/demo-reference@1",
      "generator": "scripts/demo/make_demo.py",
      "versions": {"torch": str, "onnx": str, "numpy": str, "opset": int},
      "transform": {"image": {"scale": float, "mean": [float], "std": [float], "channel_axis": 1}},
      "input_preprocessing": str,              # how the float32 input was computed from uint8
      "metric_definitions": {name: str},       # top1, top5, nll, ece, soup averaging, ensemble
      "eval_sets": {set_name: {"path": "data/<set>.safetensors", "role": "holdout|id|shift",
                               "n": int, "sha256": str, "description": str}},
      "models": {model_path: {                 # model_path relative to the demo folder, e.g.
                                               # "base/model.onnx", "sweep/run-01_.../model.onnx",
                                               # "sweep-safetensors/run-13_.../model.safetensors"
          "kind": "base" | "onnx" | "safetensors",
          "sha256": str,
          "hparams": {...} | null,             # the run's hparams.json (null for the base)
          "sets": {set_name: {"n", "correct", "top1", "top5", "nll", "ece"}},
          "holdout_logits_first8": [[10 floats] x 8]}},
      "uniform_soup": {"ingredients": [model_path], "sets": {...}, "holdout_logits_first8": [...]},
      "uniform_soup_without_high_lr": {same shape, "excluded": [model_path], "rule": str},
      "greedy_soup": {"rule": str,
                      "order": [{"path", "holdout_correct"}],   # candidates in the order they were tried
                      "steps": [{"candidate", "holdout_correct", "accepted", "ingredients"}],
                      "ingredients": [model_path], "sets": {...}, "holdout_logits_first8": [...]},
      "ensemble": {"members": [model_path], "forward_passes_per_image": int, "sets": {...},
                   "holdout_logits_first8": [...]},
      "best_single": {"path": model_path, "rule": str, "sets": {...}},
      "paired_differences": {"greedy_soup" | "uniform_soup" | "ensemble": {set_name: {
          "diff": float,                       # its top-1 minus the best single's, same images
          "std": float,                        # paired standard deviation of that difference
          "b": int, "c": int}}},               # images only it / only the best single gets right
      "findings": [str],                       # the paper's findings, checked on these numbers
      "pretraining": {                         # --kitchen soup only
          "images": int, "classes": [int], "seed": int, "hparams": {...}, "final_train_loss": float,
          "linear_probe": {"fit_on", "method", "l2", "max_iter", "iterations", "final_loss",
                           "finetune_set_top1"},
          "sets_with_pretraining_head": {set_name: {...}},  # the backbone with its discarded head
          "eval_sets_identical_to_demo": bool | null},      # same sha256 as resources/demo's sets
      "checks": {"tensor_count": int,
                 "initializer_names_equal_state_dict_keys": bool, "generated_initializer_names": [str],
                 "non_float_initializers": [str], "onnx_graphs_identical_except_weights": bool,
                 "onnx_vs_state_dict_average_max_abs_diff": float,
                 "uniform_soup_float64_vs_float32_max_abs_weight_diff": float,
                 "uniform_soup_float64_same_correct_counts": bool},
      "timing_seconds": {...}
    }

Every top1/top5 is a fraction in [0, 1]; correct is the top-1 correct count.
"""

import argparse
import gzip
import hashlib
import json
import math
import os
import shutil
import struct
import sys
import textwrap
import time

# One BLAS thread: the machine is shared, and single-threaded runs are reproducible.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from onnx import numpy_helper  # noqa: E402

torch.set_num_threads(1)

FASHION_DIR = "/usr/share/datasets/fashion-mnist"
CLASS_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
PRETRAIN_CLASSES = [0, 1, 2, 3, 4, 5]
SPLIT_SEED = 2022
TEST_SUBSET_SEED = 2023
PRETRAIN_SEED = 0
N_HOLDOUT = 2000
N_FINETUNE = 10000
N_TEST = 2000
OPSET = 17
SCALE = 1.0 / 255.0
ECE_BINS = 15
BATCH = 128
HIGH_LR = 1e-2  # runs with lr >= this are the deliberately too-high ones

# Fine-tuning sweep. Runs 01-12 are exported as ONNX, 13-15 as safetensors + shared graph.onnx.
SWEEP = [
    # run, lr, weight_decay, label_smoothing, epochs, augment
    (1, 6e-4, 0.05, 0.0, 6, False),
    (2, 6e-4, 0.1, 0.1, 7, True),
    (3, 1e-3, 0.05, 0.1, 5, False),
    (4, 1e-3, 0.2, 0.0, 6, True),
    (5, 1.5e-3, 0.1, 0.0, 5, False),
    (6, 1.5e-3, 0.05, 0.1, 4, False),
    (7, 2e-3, 0.0, 0.0, 5, False),
    (8, 2e-3, 0.1, 0.1, 6, True),
    (9, 3e-3, 0.05, 0.0, 4, False),
    (10, 3e-3, 0.2, 0.1, 5, False),
    (11, 2e-2, 0.05, 0.0, 5, False),
    (12, 1.5e-2, 0.1, 0.1, 4, True),
    (13, 8e-4, 0.1, 0.0, 5, False),
    (14, 2.5e-3, 0.05, 0.1, 5, False),
    (15, 4e-3, 0.1, 0.0, 4, True),
]
N_ONNX_RUNS = 12

PRETRAIN = dict(lr=1e-3, weight_decay=0.05, label_smoothing=0.0, epochs=6, augment=True)

# ---- The second kitchen, resources/demo-soup: the regime in which the paper says soups work.
# Fixed before any soup was computed (see write_soup_readme for the reasons):
# - backbone pretrained on all 10 classes of the 48,000 training images that are neither held out nor
#   fine-tuning data (more data, more steps than the 6-class base above), its pretraining head discarded;
# - the head initialised by a linear probe on the fine-tuning set (LP-FT; the analogue of CLIP's zero-shot
#   head), so every run starts from one model whose head is already good;
# - 15 full fine-tunes from that model, learning rates 3e-5 to 1e-3 (about 20x lower than the sweep
#   above; the two runs at lr >= 7e-4 are deliberately a bit too high), 2-4 epochs, weight decay, label
#   smoothing, augmentation and data order (seed) varied.
SOUP_PRETRAIN = dict(lr=1e-3, weight_decay=0.05, label_smoothing=0.0, epochs=8, augment=True)
SOUP_PRETRAIN_SEED = 1
SOUP_PRETRAIN_CLASSES = list(range(10))
LINEAR_PROBE_L2 = 1e-3  # L2 penalty 0.5 * c * |W|^2 on the probe's weights (not the bias)
LINEAR_PROBE_MAX_ITER = 300
SOUP_HIGH_LR = 7e-4  # runs with lr >= this are the deliberately too-high ones
SOUP_SWEEP = [
    # run, lr, weight_decay, label_smoothing, epochs, augment
    (1, 3e-5, 0.05, 0.0, 4, False),
    (2, 3e-5, 0.1, 0.1, 3, True),
    (3, 5e-5, 0.0, 0.0, 3, False),
    (4, 5e-5, 0.05, 0.1, 4, True),
    (5, 1e-4, 0.1, 0.0, 3, False),
    (6, 1e-4, 0.01, 0.1, 2, False),
    (7, 1.5e-4, 0.05, 0.0, 3, True),
    (8, 2e-4, 0.1, 0.1, 3, False),
    (9, 2e-4, 0.0, 0.0, 2, True),
    (10, 3e-4, 0.05, 0.1, 3, False),
    (11, 1e-3, 0.05, 0.0, 3, False),
    (12, 7e-4, 0.1, 0.1, 2, True),
    (13, 8e-5, 0.1, 0.0, 3, False),
    (14, 1.2e-4, 0.05, 0.1, 4, False),
    (15, 4e-4, 0.1, 0.0, 2, True),
]

SHIFT_DESCRIPTIONS = {
    "shift-rotate": "the id test images rotated by a random angle of 15-25 degrees, either direction (bilinear)",
    "shift-noise": "the id test images plus Gaussian noise, sigma 0.15 of the intensity range, clipped",
    "shift-blur": "the id test images blurred with a Gaussian kernel, sigma 1.2 pixels",
    "shift-contrast": "the id test images with contrast reduced to 40 % around each image's mean",
    "shift-zoom": "the id test images scaled by 0.7-0.85 or 1.2-1.35 and translated by up to 3 pixels",
}


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ---------------------------------------------------------------- data


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, count = struct.unpack(">II", data[:8])
    if magic == 2051:
        rows, cols = struct.unpack(">II", data[8:16])
        return np.frombuffer(data, dtype=np.uint8, offset=16).reshape(count, 1, rows, cols).copy()
    if magic == 2049:
        return np.frombuffer(data, dtype=np.uint8, offset=8).astype(np.int64)
    raise ValueError(f"{path}: unknown idx magic {magic}")


def load_fashion():
    return (read_idx(f"{FASHION_DIR}/train-images-idx3-ubyte.gz"),
            read_idx(f"{FASHION_DIR}/train-labels-idx1-ubyte.gz"),
            read_idx(f"{FASHION_DIR}/t10k-images-idx3-ubyte.gz"),
            read_idx(f"{FASHION_DIR}/t10k-labels-idx1-ubyte.gz"))


def to_uint8(x01):
    return np.clip(np.round(x01.numpy() * 255.0), 0, 255).astype(np.uint8)


def affine_warp(x01, theta, mode):
    grid = F.affine_grid(theta, list(x01.shape), align_corners=False)
    return F.grid_sample(x01, grid, mode=mode, padding_mode="zeros", align_corners=False)


def make_shift(name, images_u8, seed):
    """Build one distribution shift from uint8 images; returns uint8 images of the same shape."""
    g = torch.Generator().manual_seed(seed)
    x = torch.from_numpy(images_u8).float() / 255.0
    n = x.shape[0]
    if name == "shift-rotate":
        angle = (15.0 + 10.0 * torch.rand(n, generator=g)) * torch.where(
            torch.rand(n, generator=g) < 0.5, -1.0, 1.0)
        rad = angle * math.pi / 180.0
        theta = torch.zeros(n, 2, 3)
        theta[:, 0, 0] = torch.cos(rad)
        theta[:, 0, 1] = -torch.sin(rad)
        theta[:, 1, 0] = torch.sin(rad)
        theta[:, 1, 1] = torch.cos(rad)
        y = affine_warp(x, theta, "bilinear")
    elif name == "shift-noise":
        y = (x + 0.15 * torch.randn(x.shape, generator=g)).clamp(0, 1)
    elif name == "shift-blur":
        sigma, radius = 1.2, 4
        t = torch.arange(-radius, radius + 1, dtype=torch.float32)
        k1 = torch.exp(-(t ** 2) / (2 * sigma ** 2))
        k1 = k1 / k1.sum()
        kernel = (k1[:, None] * k1[None, :])[None, None]
        y = F.conv2d(x, kernel, padding=radius)
    elif name == "shift-contrast":
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        y = (mean + 0.4 * (x - mean)).clamp(0, 1)
    elif name == "shift-zoom":
        zoom_out = torch.rand(n, generator=g) < 0.5
        s = torch.where(zoom_out, 0.7 + 0.15 * torch.rand(n, generator=g),
                        1.2 + 0.15 * torch.rand(n, generator=g))
        shift = (torch.rand(n, 2, generator=g) * 6.0 - 3.0) * (2.0 / 28.0)
        theta = torch.zeros(n, 2, 3)
        # theta maps output to input coordinates: scaling the image by s divides the coordinates by s.
        theta[:, 0, 0] = 1.0 / s
        theta[:, 1, 1] = 1.0 / s
        theta[:, :, 2] = -shift / s[:, None]
        y = affine_warp(x, theta, "bilinear")
    else:
        raise ValueError(name)
    return to_uint8(y)


# ---------------------------------------------------------------- safetensors

ST_DTYPES = {np.dtype("float32"): "F32", np.dtype("uint8"): "U8", np.dtype("int64"): "I64"}
ST_NUMPY = {v: k for k, v in ST_DTYPES.items()}


def write_safetensors(path, tensors, metadata=None):
    """tensors: ordered dict name -> numpy array (written in that order)."""
    header = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    blobs, offset = [], 0
    for name, arr in tensors.items():
        arr = np.ascontiguousarray(arr)
        if arr.dtype not in ST_DTYPES:
            raise ValueError(f"{path}: {name} has unsupported dtype {arr.dtype}")
        blob = arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": ST_DTYPES[arr.dtype], "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    head = json.dumps(header, separators=(",", ":")).encode("utf-8")
    head += b" " * ((8 - len(head) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for blob in blobs:
            f.write(blob)
    os.replace(tmp, path)


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", {})
    base = 8 + n
    out = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        dtype = ST_NUMPY[info["dtype"]].newbyteorder("<")
        out[name] = np.frombuffer(data[base + begin:base + end], dtype=dtype).reshape(info["shape"])
    return out, metadata


# ---------------------------------------------------------------- model


class Attention(nn.Module):
    """Multi-head self-attention from plain Linear/matmul/softmax ops, so the ONNX export keeps each
    parameter as one initializer named by its state-dict key."""

    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        n, t, d = x.shape
        qkv = self.qkv(x).reshape(n, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = torch.softmax(torch.matmul(q, k.transpose(-2, -1)) * self.scale, dim=-1)
        return self.proj(torch.matmul(attn, v).transpose(1, 2).reshape(n, t, d))


class Block(nn.Module):
    def __init__(self, dim, heads, mlp_dim):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, mlp_dim)
        self.fc2 = nn.Linear(mlp_dim, dim)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.fc2(F.gelu(self.fc1(self.norm2(x))))


class TinyViT(nn.Module):
    def __init__(self, dim=64, depth=3, heads=4, mlp_dim=128, patch=7, classes=10):
        super().__init__()
        tokens = (28 // patch) ** 2 + 1
        self.patch_embed = nn.Conv2d(1, dim, kernel_size=patch, stride=patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.randn(1, tokens, dim) * 0.02)
        self.blocks = nn.ModuleList([Block(dim, heads, mlp_dim) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, classes)

    def forward(self, image):
        x = self.patch_embed(image).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x)[:, 0])


ARCH = dict(dim=64, depth=3, heads=4, mlp_dim=128, patch=7, classes=10)


# ---------------------------------------------------------------- training


class Normaliser:
    def __init__(self, mean, std):
        self.scale = torch.tensor(SCALE, dtype=torch.float32)
        self.mean = torch.tensor(mean, dtype=torch.float32)
        self.std = torch.tensor(std, dtype=torch.float32)

    def from_uint8(self, u8):
        """Exactly Tureen's transform: (float32(x) * scale - mean) / std, all in float32."""
        return (torch.from_numpy(u8).float() * self.scale - self.mean) / self.std

    def from_unit(self, x01):
        return (x01 - self.mean) / self.std


def augment_batch(x01, g):
    """Random horizontal flip and integer translation by up to 2 pixels (nearest, zero fill)."""
    n = x01.shape[0]
    flip = torch.where(torch.rand(n, generator=g) < 0.5, -1.0, 1.0)
    shift = torch.randint(-2, 3, (n, 2), generator=g).float() * (2.0 / 28.0)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = flip
    theta[:, 1, 1] = 1.0
    theta[:, :, 2] = shift
    return affine_warp(x01, theta, "nearest")


def train(model, images_u8, labels, norm, *, lr, weight_decay, label_smoothing, epochs, augment, seed):
    """AdamW, batch 128, linear warm-up over the first 10 % of steps then cosine decay to 0,
    gradient norm clipped at 1. Returns the mean training loss of the last epoch."""
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    x_all = torch.from_numpy(images_u8).float() / 255.0
    y_all = torch.from_numpy(labels)
    n = x_all.shape[0]
    steps_per_epoch = math.ceil(n / BATCH)
    total = steps_per_epoch * epochs
    warmup = max(1, total // 10)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)

    def factor(step):
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1.0 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)
    model.train()
    last_loss = float("nan")
    for _ in range(epochs):
        perm = torch.randperm(n, generator=g)
        loss_sum, count = 0.0, 0
        for i in range(0, n, BATCH):
            idx = perm[i:i + BATCH]
            x = x_all[idx]
            if augment:
                x = augment_batch(x, g)
            loss = F.cross_entropy(model(norm.from_unit(x)), y_all[idx], label_smoothing=label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            loss_sum += loss.item() * idx.numel()
            count += idx.numel()
        last_loss = loss_sum / count
    model.eval()
    return last_loss


def backbone_features(model, x):
    """The class token after the final LayerNorm: the head's input (TinyViT.forward without the head)."""
    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, x.shape[0], 500):
            t = model.patch_embed(x[i:i + 500]).flatten(2).transpose(1, 2)
            t = torch.cat([model.cls_token.expand(t.shape[0], -1, -1), t], dim=1) + model.pos_embed
            for block in model.blocks:
                t = block(t)
            out.append(model.norm(t)[:, 0])
    return torch.cat(out)


def linear_probe(model, images_u8, labels, norm):
    """LP-FT's first step: replace the model's head by multinomial logistic regression fitted on the frozen
    features of the given images (full batch, L-BFGS from zero, L2 penalty on the weights). Returns the
    probe's final training loss, training top-1 and L-BFGS iteration count."""
    x = norm.from_uint8(images_u8)
    feats = backbone_features(model, x)
    y = torch.from_numpy(labels)
    weight = torch.zeros(model.head.out_features, feats.shape[1], requires_grad=True)
    bias = torch.zeros(model.head.out_features, requires_grad=True)
    opt = torch.optim.LBFGS([weight, bias], lr=1.0, max_iter=LINEAR_PROBE_MAX_ITER, history_size=20,
                            tolerance_grad=1e-6, tolerance_change=1e-9, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(feats @ weight.T + bias, y) + 0.5 * LINEAR_PROBE_L2 * (weight ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        model.head.weight.copy_(weight)
        model.head.bias.copy_(bias)
        logits = model.head(feats)
        loss = float(F.cross_entropy(logits, y) + 0.5 * LINEAR_PROBE_L2 * (weight ** 2).sum())
        # The probe's head on these features must be what the whole model computes.
        assert torch.allclose(logits, model(x), atol=1e-5), "backbone_features differs from TinyViT.forward"
    iterations = int(opt.state[opt._params[0]]["n_iter"])
    return {"loss": loss, "train_top1": float((logits.argmax(1) == y).float().mean()), "iterations": iterations}


# ---------------------------------------------------------------- export


def export_onnx(model, path):
    model.eval()
    torch.onnx.export(
        model, torch.zeros(2, 1, 28, 28), path,
        input_names=["image"], output_names=["logits"],
        dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}},
        opset_version=OPSET, do_constant_folding=False, export_params=True,
        training=torch.onnx.TrainingMode.EVAL)


def onnx_initializers(path):
    m = onnx.load(path)
    return {init.name: numpy_helper.to_array(init) for init in m.graph.initializer}


def onnx_skeleton(path):
    """The model's bytes with every initializer's data removed: equal skeletons mean equal graphs."""
    m = onnx.load(path)
    for init in m.graph.initializer:
        init.ClearField("raw_data")
        init.ClearField("float_data")
    return m.SerializeToString()


def state_dict_numpy(model):
    return {k: v.detach().cpu().numpy().astype(np.float32, copy=True) for k, v in model.state_dict().items()}


# ---------------------------------------------------------------- evaluation


def logits_of(model, x):
    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, x.shape[0], 500):
            out.append(model(x[i:i + 500]))
    return torch.cat(out).numpy().astype(np.float32)


def model_from_state(state):
    m = TinyViT(**ARCH)
    m.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in state.items()})
    return m.eval()


def metrics(logits, labels):
    """top1/top5/NLL/ECE of float32 logits, computed in float64."""
    z = logits.astype(np.float64)
    n = z.shape[0]
    z = z - z.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    p = np.exp(logp)
    pred = np.argmax(logits, axis=1)
    correct = pred == labels
    top5 = np.argsort(-logits, axis=1, kind="stable")[:, :5]
    top5_hit = (top5 == labels[:, None]).any(axis=1)
    nll = float(-logp[np.arange(n), labels].mean())
    conf = p.max(axis=1)
    edges = np.linspace(0.0, 1.0, ECE_BINS + 1)
    ece = 0.0
    for b in range(ECE_BINS):
        in_bin = (conf > edges[b]) & (conf <= edges[b + 1])
        if in_bin.any():
            ece += in_bin.sum() / n * abs(correct[in_bin].mean() - conf[in_bin].mean())
    return {"n": int(n), "correct": int(correct.sum()), "top1": float(correct.mean()),
            "top5": float(top5_hit.mean()), "nll": nll, "ece": float(ece)}


def first8(logits):
    return [[float(v) for v in row] for row in logits[:8]]


def average_float32(states):
    """Uniform average: float32 sum in the given order, then one float32 division by N."""
    acc = {k: v.astype(np.float32, copy=True) for k, v in states[0].items()}
    for s in states[1:]:
        for k in acc:
            acc[k] += s[k]
    n = np.float32(len(states))
    return {k: v / n for k, v in acc.items()}


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ---------------------------------------------------------------- naming


def fmt_lr(v):
    mant, exp = f"{v:.1e}".split("e")
    mant = mant.rstrip("0").rstrip(".")
    return f"{mant}e{int(exp)}"


def fmt_num(v):
    return f"{v:g}"


def run_name(run, lr, wd, ls, ep, aug):
    return f"run-{run:02d}_lr={fmt_lr(lr)}_wd={fmt_num(wd)}_ls={fmt_num(ls)}_ep={ep}_aug={'on' if aug else 'off'}"


# ---------------------------------------------------------------- README


def plural(n, word):
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def pct(m):
    return f"{100.0 * m['top1']:.2f}"


def results_sections(ref, shift_names, sweep_rows, high_lr, folder):
    """The README's sections from "Sweep" to the end, shared by both kitchens."""
    sets_order = ["holdout", "test"] + shift_names
    n_runs = len(sweep_rows)
    lines = []
    add = lines.append
    add("")
    add("## Sweep")
    add("")
    add("| run | form | lr | wd | label smoothing | epochs | augment | final train loss | holdout top-1 | test top-1 | mean shift top-1 |")
    add("|---|---|---|---|---|---|---|---|---|---|---|")
    for row in sweep_rows:
        m = ref["models"][row["path"]]["sets"]
        mean_shift = np.mean([m[s]["top1"] for s in shift_names]) * 100.0
        h = row["hparams"]
        add(f"| {row['run']:02d} | {row['form']} | {fmt_lr(h['lr'])} | {fmt_num(h['weight_decay'])} | "
            f"{fmt_num(h['label_smoothing'])} | {h['epochs']} | {'on' if h['augment'] else 'off'} | "
            f"{h['final_train_loss']:.4f} | {pct(m['holdout'])} | {pct(m['test'])} | {mean_shift:.2f} |")
    base = ref["models"]["base/model.onnx"]["sets"]
    add(f"| base | onnx | | | | | | | {pct(base['holdout'])} | {pct(base['test'])} | "
        f"{np.mean([base[s]['top1'] for s in shift_names]) * 100.0:.2f} |")
    add("")
    add("## Results (PyTorch)")
    add("")
    add("Top-1 accuracy in percent, computed by the generator in PyTorch (float32 weights and logits).")
    add("Best single = the sweep run with the highest held-out accuracy (the paper's choice). Uniform soup =")
    add(f"the average of all {n_runs} runs. Greedy soup = the paper's Recipe 1 (below). Ensemble = the mean")
    add(f"of the {n_runs} runs' logits.")
    add("")
    header = "| model | forward passes | " + " | ".join(sets_order) + " | mean shift |"
    add(header)
    add("|---" * (len(sets_order) + 3) + "|")
    rows = [
        ("base (initialisation)", 1, ref["models"]["base/model.onnx"]["sets"]),
        (f"best single ({ref['best_single']['path'].split('/')[1][:6]})", 1, ref["best_single"]["sets"]),
        (f"uniform soup ({len(ref['uniform_soup']['ingredients'])} runs)", 1, ref["uniform_soup"]["sets"]),
        (f"uniform soup without lr >= {fmt_lr(high_lr)} ({len(ref['uniform_soup_without_high_lr']['ingredients'])} runs)", 1,
         ref["uniform_soup_without_high_lr"]["sets"]),
        (f"greedy soup ({plural(len(ref['greedy_soup']['ingredients']), 'run')})", 1, ref["greedy_soup"]["sets"]),
        (f"ensemble ({len(ref['ensemble']['members'])} runs)", len(ref["ensemble"]["members"]), ref["ensemble"]["sets"]),
    ]
    for label, passes, s in rows:
        mean_shift = np.mean([s[x]["top1"] for x in shift_names]) * 100.0
        add(f"| {label} | {passes} | " + " | ".join(pct(s[x]) for x in sets_order) + f" | {mean_shift:.2f} |")
    add("")
    add("Greedy soup steps (candidates sorted by held-out correct count, descending, ties by path ascending;")
    add("start from the best; keep a candidate when the held-out correct count of the uniform average of the")
    add("kept runs plus the candidate is not lower, `>=`):")
    add("")
    add("| step | candidate | held-out correct of soup with it | kept |")
    add("|---|---|---|---|")
    g = ref["greedy_soup"]
    add(f"| start | `{g['order'][0]['path']}` | {g['order'][0]['holdout_correct']} | yes |")
    for i, step in enumerate(g["steps"], start=1):
        add(f"| {i} | `{step['candidate']}` | {step['holdout_correct']} | {'yes' if step['accepted'] else 'no'} |")
    add("")
    n = N_TEST
    p = ref["best_single"]["sets"]["test"]["top1"]
    std1 = math.sqrt(p * (1 - p) / n) * 100.0
    add(f"**Noise.** With N = {n} and accuracy near {100 * p:.0f} %, the binomial standard deviation of one accuracy")
    add(f"is sqrt(p(1-p)/N) = {std1:.2f} points, so a difference of two independent estimates has a standard")
    add(f"deviation of about {std1 * math.sqrt(2):.2f} points: a 1-point difference is about 1 sigma, not conclusive")
    add("by itself. The sets here are paired (same images for every model), which makes differences less")
    add("noisy than that; the paired standard deviation of a difference is sqrt(b + c - (b - c)^2 / N) / N,")
    add("with b and c the images only one of the two models gets right:")
    add("")
    for label, key in [("greedy soup vs best single", "greedy_soup"), ("uniform soup vs best single", "uniform_soup"),
                       ("ensemble vs best single", "ensemble")]:
        parts = []
        for s in ["holdout", "test"]:
            d = ref["paired_differences"][key][s]
            parts.append(f"{s} {100 * d['diff']:+.2f} ± {100 * d['std']:.2f} points (b={d['b']}, c={d['c']})")
        add(f"- {label}: " + "; ".join(parts))
    add("")
    add("**Do the paper's findings hold here?**")
    add("")
    for line in ref["findings"]:
        add(f"- {line}")
    add("")
    add(f"**Averaging exactness.** The generator averages the {n_runs} runs twice: once from the PyTorch state")
    add("dicts, once from the initializers read back from the exported ONNX files and the written safetensors")
    add(f"files. The maximum absolute difference is {ref['checks']['onnx_vs_state_dict_average_max_abs_diff']:g}:"
        " for this export, averaging the exported weights is averaging the models.")
    add(f"A float64 average differs from the float32 one by at most "
        f"{ref['checks']['uniform_soup_float64_vs_float32_max_abs_weight_diff']:.3g} per weight, and gives "
        + ("the same" if ref["checks"]["uniform_soup_float64_same_correct_counts"] else "different")
        + " correct counts on every set.")
    add("")
    add("## reference.json")
    add("")
    add("Shape (all accuracies are fractions; `correct` is the top-1 correct count; model paths are relative")
    add("to this folder):")
    add("")
    add("```")
    doc = sys.modules[__name__].__doc__
    add(textwrap.dedent(doc[doc.index("reference.json shape"):].split("\n", 1)[1]).strip())
    add("```")
    add("")
    add("Metric definitions (also in the file): top-1 = argmax of the logits equals the label; top-5 = the")
    add("label is among the 5 largest logits; NLL = mean of -log softmax(logits)[label]; ECE = 15 equal-width")
    add("bins over the top softmax probability (bin b holds confidences in (b/15, (b+1)/15]), sum over bins of")
    add("(bin count / N) * |accuracy in bin - mean confidence in bin|. Metrics are computed in float64 from")
    add("float32 logits. The input is `(float32(x) * float32(1/255) - float32(mean)) / float32(std)`.")
    add("Soups average in float32: sum in the listed order, then divide by the count.")
    add("")
    add("## Tureen's own numbers")
    add("")
    add(f"The same comparison computed by `tureen compare {folder}` goes here; Tureen's numbers are")
    add("cross-checked against reference.json by the test suite.")
    add("")
    add("## Licence")
    add("")
    add("Fashion-MNIST is by Zalando Research (Han Xiao, Kashif Rasul, Roland Vollgraf, \"Fashion-MNIST: a")
    add("Novel Image Dataset for Benchmarking Machine Learning Algorithms\", arXiv 1708.07747) and is")
    add("released under the MIT licence. The eval sets here are subsets of it (some transformed); the models")
    add("were trained on it by the generator.")
    add("")
    return lines


def layout_section(ref, n_runs):
    """The README's "What is here" section, shared by both kitchens."""
    lines = []
    add = lines.append
    add("## What is here")
    add("")
    add("| path | what |")
    add("|---|---|")
    add("| `base/model.onnx` | the pretrained model every run was fine-tuned from (folder name `base` marks it as the family's base) |")
    add(f"| `sweep/run-NN_.../model.onnx` + `hparams.json` | fine-tuning runs 01-{N_ONNX_RUNS:02d}, full ONNX files |")
    add("| `sweep-safetensors/graph.onnx` | the family's shared graph (the same export; its embedded weights are the base's) |")
    add(f"| `sweep-safetensors/run-NN_.../model.safetensors` + `hparams.json` | runs {N_ONNX_RUNS + 1:02d}-{n_runs:02d}, F32 state dicts whose keys are graph.onnx's initializer names |")
    add("| `data/*.safetensors` | eval sets: `image` uint8 [N,1,28,28], `labels` int64 [N], metadata `tureen.name`, `tureen.role`, `tureen.transform` |")
    add("| `reference.json` | PyTorch's numbers for every model, soup and ensemble on every eval set (for tests) |")
    add("")
    add(f"All {len(ref['models'])} models (base + {n_runs} runs) form one averaging family: the same graph, "
        f"the same {ref['checks']['tensor_count']} tensor names,")
    add("shapes and dtype (float32). ONNX runs and safetensors runs can be souped together.")
    add("")
    return lines


def model_paragraph(ref, param_count):
    """The README's description of the network and its export, shared by both kitchens."""
    lines = []
    add = lines.append
    add(f"**Model.** A tiny Vision Transformer, {param_count:,} parameters: 7x7 patch embedding (Conv2d 1->64,")
    add("stride 7, 16 patches), class token and learned position embedding (17 tokens), 3 pre-norm blocks")
    add("(LayerNorm, 4-head self-attention written with Linear/matmul/softmax, LayerNorm, GELU MLP 64->128->64),")
    add("final LayerNorm on the class token, Linear head to 10 logits. No BatchNorm. ONNX: input `image`")
    add(f"float32 [batch,1,28,28] (already normalised), output `logits` float32 [batch,10], opset {OPSET},")
    add(f"exported from eval mode with `do_constant_folding=False`, so the {ref['checks']['tensor_count']} "
        "initializers are exactly the")
    add("state-dict keys (`patch_embed.weight`, `cls_token`, `pos_embed`, `blocks.0.attn.qkv.weight`, ...,")
    add("`head.bias`) with no generated `onnx::` names; there are no integer initializers.")
    add("")
    return lines


def write_readme(path, ref, sets, shift_names, sweep_rows, timing, param_count, norm_stats, split_info):
    lines = []
    add = lines.append
    best, uni = ref["best_single"]["sets"], ref["uniform_soup"]["sets"]
    add("# Demo kitchen: a sweep that does not soup")
    add("")
    add("A small but real model-soups experiment (Wortsman et al., ICML 2022, arXiv 2203.05482) in")
    add("miniature, outside the regime where the paper says soups work: the base was pretrained on six of the")
    add("ten classes, the head for the other four starts untrained, and the learning rates are large. Its")
    kept = len(ref["greedy_soup"]["ingredients"])
    add(f"greedy soup keeps {'only the best run' if kept == 1 else plural(kept, 'run')} and its uniform soup is "
        f"{100 * (best['test']['top1'] - uni['test']['top1']):.1f} points below the best single run on test")
    add("(the findings below say why). Tureen ships it as the advisor's example of a sweep that does not soup,")
    add("beside the default demo kitchen `resources/demo-soup`, the same task in the paper's regime. It is also")
    add("data Tureen's tests and benchmarks run on. Everything here was produced by")
    add("`scripts/demo/make_demo.py` with PyTorch; do not edit the files by hand (regenerate instead, see")
    add("`scripts/demo/README.md`).")
    add("")
    lines += layout_section(ref, len(sweep_rows))
    add("## How it was generated")
    add("")
    add("```")
    add("/usr/bin/python3 scripts/demo/make_demo.py")
    add("```")
    add("")
    add(f"Run time: {timing['total']:.0f} s wall clock, {timing['cpu']:.0f} s of CPU time, on this project's "
        "2-core machine shared with other work, one thread "
        f"(pretraining {timing['pretrain']:.0f} s, sweep {timing['sweep']:.0f} s, reference evaluation "
        f"{timing['evaluate']:.0f} s); torch {torch.__version__}, onnx {onnx.__version__}, OpenBLAS.")
    add(f"Seeds: data split {SPLIT_SEED}, test subset {TEST_SUBSET_SEED}, shifts {TEST_SUBSET_SEED}+k, "
        f"pretraining {PRETRAIN_SEED}, run NN uses seed 100+NN (data order, augmentation).")
    add("")
    add("**Data.** Fashion-MNIST (28x28 grey images, 10 classes). The 60,000 training images are shuffled")
    add(f"with seed {SPLIT_SEED}: the first {N_HOLDOUT} are the held-out set (used by neither pretraining nor")
    add(f"fine-tuning), the next {N_FINETUNE} are the fine-tuning set (all 10 classes), and of the remaining")
    add(f"{split_info['rest']} the {split_info['pretrain']} images of classes 0-5")
    add(f"({', '.join(CLASS_NAMES[c] for c in PRETRAIN_CLASSES)}) are the pretraining set. The id test set is")
    add(f"{N_TEST} of the 10,000 official test images (seed {TEST_SUBSET_SEED}); every shift set is those same")
    add(f"{N_TEST} images transformed, so all comparisons across sets are paired:")
    add("")
    for name in shift_names:
        add(f"- `{name}`: {SHIFT_DESCRIPTIONS[name]}.")
    add("")
    add("Images are stored as uint8 with the transform `{\"image\": {\"scale\": 1/255, \"mean\": "
        f"[{norm_stats[0]}], \"std\": [{norm_stats[1]}], \"channel_axis\": 1}}}}` (mean and std of the")
    add("pretraining images, rounded to 4 decimals), i.e. the model input is `(float32(x) * scale - mean) / std`.")
    add("")
    add("**Why pretrain on 6 classes.** The paper's base is a zero-shot CLIP model: good features, not yet")
    add("good at the target task. Here the base has learned features from six classes and has never seen")
    add("Shirt, Sneaker, Bag or Ankle boot, so it is clearly worse than any fine-tuned run (its accuracy on")
    add("the four unseen classes is zero), yet fine-tuning starts from useful features and all runs share")
    add("the same starting point, which is what makes their weights averageable. Averageable is not enough:")
    add("with an untrained head and learning rates this large the runs end too far apart for their average to")
    add("beat the best of them (`resources/demo-soup` changes exactly these, as the paper's regime suggests).")
    add("")
    lines += model_paragraph(ref, param_count)
    add(f"**Training.** Pretraining: AdamW lr {PRETRAIN['lr']:g}, weight decay {PRETRAIN['weight_decay']:g},")
    add(f"{PRETRAIN['epochs']} epochs, augmentation on. Every run: AdamW, batch {BATCH}, linear warm-up over 10 %")
    add("of the steps then cosine decay to 0, gradient norm clipped at 1, augmentation = random horizontal")
    lrs = [r[1] for r in SWEEP]
    add(f"flip and translation by up to 2 pixels. The sweep varies learning rate ({fmt_lr(min(lrs))} to "
        f"{fmt_lr(max(lrs))}, {math.log10(max(lrs) / min(lrs)):.1f} orders of")
    add(f"magnitude; lr >= {fmt_lr(HIGH_LR)} is deliberately too high), weight decay, label smoothing, epochs and")
    add("augmentation. `final_train_loss` in hparams.json is the mean training loss over the last epoch.")
    lines += results_sections(ref, shift_names, sweep_rows, HIGH_LR, "resources/demo")
    with open(path, "w") as f:
        f.write("\n".join(lines))


def soups_won(ref):
    """The issue's test: the greedy soup kept several runs and beat the best single model on held-out."""
    greedy = ref["greedy_soup"]
    return len(greedy["ingredients"]) > 1 and greedy["sets"]["holdout"]["correct"] > \
        ref["best_single"]["sets"]["holdout"]["correct"]


def soup_outcome(ref, shift_names):
    """The README's verdict on the soup kitchen, from this run's numbers: whether the greedy soup kept several
    runs and beat the best single model on held-out, and, if not, what the numbers say about why."""

    def top1(sets, name):
        return 100.0 * sets[name]["top1"]

    def mean_shift(sets):
        return 100.0 * float(np.mean([sets[s]["top1"] for s in shift_names]))

    greedy, uni, ens = ref["greedy_soup"], ref["uniform_soup"], ref["ensemble"]
    best_path = ref["best_single"]["path"]
    best = ref["best_single"]["sets"]
    base = ref["models"]["base/model.onnx"]["sets"]
    runs = {p: ref["models"][p] for p in uni["ingredients"]}
    kept = len(greedy["ingredients"])
    g_h, b_h = greedy["sets"]["holdout"]["correct"], best["holdout"]["correct"]
    worked = soups_won(ref)
    hold = sorted(top1(m["sets"], "holdout") for m in runs.values())
    above_base = [p for p, m in runs.items() if m["sets"]["holdout"]["correct"] > base["holdout"]["correct"]]
    best_hp = runs[best_path]["hparams"]
    lines = []
    add = lines.append
    add("## Outcome")
    add("")
    if worked:
        add(f"Soups work here as the paper reports: the greedy soup kept {kept} of {len(runs)} runs and scores "
            f"{top1(greedy['sets'], 'holdout'):.2f} on held-out against the best single run's "
            f"{top1(best, 'holdout'):.2f} ({g_h - b_h:+d} images of {greedy['sets']['holdout']['n']}); test "
            f"{top1(greedy['sets'], 'test'):.2f} vs {top1(best, 'test'):.2f}, mean shift "
            f"{mean_shift(greedy['sets']):.2f} vs {mean_shift(best):.2f}. The tables below have every run and the "
            "paired significance of each difference.")
        add("")
        return lines
    add("**Soups did not beat the best single model here either.** The regime above was run once, as fixed.")
    add(f"The greedy soup kept {'only the best run' if kept == 1 else plural(kept, 'run')} "
        f"({g_h} held-out correct against the best single run's {b_h});")
    add(f"the uniform soup ({top1(uni['sets'], 'holdout'):.2f} held-out, {top1(uni['sets'], 'test'):.2f} test) and "
        f"the {len(runs)}-run ensemble ({top1(ens['sets'], 'holdout'):.2f}, {top1(ens['sets'], 'test'):.2f}) are")
    add(f"below the best single run ({top1(best, 'holdout'):.2f}, {top1(best, 'test'):.2f}). As the issue asked, "
        "the seeds, the split and the")
    add("regime were not changed afterwards to get another result. What the numbers say:")
    add("")
    add(f"- **The runs stayed in one basin.** The uniform soup scores what the logit ensemble scores "
        f"({top1(uni['sets'], 'holdout'):.2f} vs")
    add(f"  {top1(ens['sets'], 'holdout'):.2f} held-out, {top1(uni['sets'], 'test'):.2f} vs "
        f"{top1(ens['sets'], 'test'):.2f} test) at 1/{len(runs)} of the cost, where `resources/demo`'s uniform soup "
        "fell")
    add("  far below its ensemble. Averaging these weights is about as good as averaging their outputs, which")
    add("  is the paper's mechanism; that part of the regime worked.")
    add(f"- **But fine-tuning had almost nothing to add to the base.** The linear-probed base scores "
        f"{top1(base, 'holdout'):.2f} held-out;")
    add(f"  the {len(runs)} runs score {hold[0]:.2f} to {hold[-1]:.2f}, and only {len(above_base)} of them beat "
        "the base on held-out. The backbone")
    add(f"  had already seen the same ten classes on {ref['pretraining']['images']:,} images, "
        f"{ref['pretraining']['images'] / N_FINETUNE:.1f} times the fine-tuning set, so there is no")
    add("  gap like CLIP's between zero-shot and fine-tuned accuracy for the runs to close. A soup keeps what")
    add("  the runs gained; here they gained about nothing, and even the ensemble, which needs no shared basin,")
    add("  is below the best run.")
    add(f"- **The best single run has the largest learning rate**: `{best_path.split('/')[1][:6]}`, lr "
        f"{fmt_lr(best_hp['lr'])} (the top of the")
    add(f"  range, meant as a bit too high), {top1(best, 'holdout'):.2f} held-out and "
        f"{mean_shift(best):.2f} mean shift against the base's {mean_shift(base):.2f}.")
    add("  Averaging it with runs whose accuracy stayed near the base's pulls it back towards them, so every")
    add("  candidate the greedy recipe tried lowered the held-out count.")
    add("")
    add("So this kitchen shows the paper's condition (one basin: soup = ensemble) without the paper's gain,")
    add("and `resources/demo` shows neither. A miniature with a real pretraining-to-task gap (a backbone")
    add("pretrained on other data than the task's, fine-tuned far enough to matter but not out of the basin)")
    add("is what the paper's regime needs; it was not tried here because trying regimes until soups win is the")
    add("seed shopping the issue rules out.")
    add("")
    return lines


def write_soup_readme(path, ref, shift_names, sweep_rows, timing, param_count, norm_stats, split_info):
    pre = ref["pretraining"]
    probe = pre["linear_probe"]
    lrs = [r[1] for r in SOUP_SWEEP]
    old_lrs = [r[1] for r in SWEEP]
    lines = []
    add = lines.append
    add("# Demo kitchen: an LP-FT sweep in the paper's regime")
    add("")
    add("The model-soups experiment (Wortsman et al., ICML 2022, arXiv 2203.05482) in miniature, in the")
    add("regime where the paper says soups work: one strong pretrained model with a good head, fine-tuned many")
    add("times with small learning rates. This is the kitchen Tureen opens first. Its sibling `resources/demo`")
    add("is the same task with a weak base, an untrained head and large learning rates: a sweep that does not")
    if soups_won(ref):
        add("soup. Here the greedy soup beats the best single run (see Outcome).")
    else:
        add("soup. Here the soups do not beat the best single run either; the Outcome section says what the")
        add("numbers show about why.")
    add("Everything here was produced by `scripts/demo/make_demo.py --kitchen soup` with PyTorch; do not")
    add("edit the files by hand (regenerate instead, see `scripts/demo/README.md`).")
    add("")
    lines += layout_section(ref, len(sweep_rows))
    add("## The regime, and why")
    add("")
    add("Fixed in the generator before any soup was computed, from what the literature says about when weight")
    add("averaging works; the generator was then run once, and the numbers below are that run's. (Before that")
    add("run the code path was smoke-tested once with every training cut to 700 images, to catch crashes; its")
    add("numbers mean nothing and nothing was changed after it.)")
    add("")
    add(f"- **A better pretrained backbone.** Pretrained on all 10 classes of the {pre['images']:,} training")
    add(f"  images that are neither held out nor fine-tuning data, {SOUP_PRETRAIN['epochs']} epochs "
        f"({math.ceil(pre['images'] / BATCH) * SOUP_PRETRAIN['epochs']:,} steps); `resources/demo`'s")
    add(f"  base saw {split_info['pretrain']:,} images of 6 classes for {PRETRAIN['epochs']} epochs "
        f"({math.ceil(split_info['pretrain'] / BATCH) * PRETRAIN['epochs']:,} steps). The paper starts from")
    add("  CLIP, pretrained on broad data that covers the target concepts; the old base had never seen four of")
    add("  the ten classes. The pretraining head is discarded.")
    add("- **The head initialised by a linear probe (LP-FT).** Before any fine-tuning, the head is replaced by")
    add("  multinomial logistic regression fitted on the frozen features of the fine-tuning set. This is the")
    add("  analogue of CLIP's zero-shot head: every run starts from one model whose head is already good, so")
    add("  early gradients do not have to repair a random head by distorting the features (Kumar et al., ICLR")
    add("  2022, LP-FT). WiSE-FT (Wortsman et al., CVPR 2022) and Model Ratatouille (Ramé et al., ICML 2023)")
    add("  fine-tune from such a head; runs that start from different head initialisations do not average well.")
    add(f"- **Small learning rates.** {fmt_lr(min(lrs))} to {fmt_lr(max(lrs))} (a factor of "
        f"{max(lrs) / min(lrs):.0f}), about {min(old_lrs) / min(lrs):.0f} times lower than")
    add(f"  `resources/demo`'s {fmt_lr(min(old_lrs))} to {fmt_lr(max(old_lrs))}; the pretraining peak was "
        f"{fmt_lr(SOUP_PRETRAIN['lr'])}. Fine-tuning well below the pretraining")
    add("  rate keeps the runs in the pretrained basin, which is the paper's explanation of why their average is")
    add(f"  good. The {sum(1 for v in lrs if v >= SOUP_HIGH_LR)} runs with lr >= {fmt_lr(SOUP_HIGH_LR)} are "
        "deliberately a bit too high (near the pretraining rate), as")
    add("  the paper's sweeps also contain runs the greedy soup should reject.")
    add("- **Everything else varied as in the paper's random search**: weight decay (0 to 0.1), label smoothing")
    add("  (0 or 0.1), epochs (2 to 4), augmentation (on/off) and data order (run NN uses seed 100+NN).")
    add(f"- **{len(sweep_rows)} fine-tunes** from the one starting point in `base/` (backbone + linear-probe head).")
    same = pre.get("eval_sets_identical_to_demo")
    add("- **The same eval sets as `resources/demo`**: held-out, id test and the five paired shifts, "
        + ("byte for byte" if same else "built by the same code"))
    add("  " + ("(the same sha256, checked by the generator)" if same else
                "(the generator could not confirm equal sha256)")
        + ", transform included, so the two kitchens are compared on the same images.")
    add("")
    lines += soup_outcome(ref, shift_names)
    add("## How it was generated")
    add("")
    add("```")
    add("/usr/bin/python3 scripts/demo/make_demo.py --kitchen soup")
    add("```")
    add("")
    add(f"Run time: {timing['total']:.0f} s wall clock, {timing['cpu']:.0f} s of CPU time, on this project's "
        "2-core machine shared with other work, one thread "
        f"(pretraining {timing['pretrain']:.0f} s, linear probe {timing['linear_probe']:.0f} s, sweep "
        f"{timing['sweep']:.0f} s, reference evaluation {timing['evaluate']:.0f} s); torch {torch.__version__}, "
        f"onnx {onnx.__version__}, OpenBLAS.")
    add(f"Seeds: data split {SPLIT_SEED}, test subset {TEST_SUBSET_SEED}, shifts {TEST_SUBSET_SEED}+k, "
        f"pretraining {SOUP_PRETRAIN_SEED}, run NN uses seed 100+NN (data order, augmentation).")
    add("")
    add("**Data.** Fashion-MNIST (28x28 grey images, 10 classes). The 60,000 training images are shuffled")
    add(f"with seed {SPLIT_SEED}: the first {N_HOLDOUT} are the held-out set (used by neither pretraining nor")
    add(f"fine-tuning), the next {N_FINETUNE} are the fine-tuning set (all 10 classes, also the linear probe's")
    add(f"data), and the remaining {split_info['rest']:,} are the pretraining set. The id test set is {N_TEST} of the")
    add(f"10,000 official test images (seed {TEST_SUBSET_SEED}); every shift set is those same {N_TEST} images")
    add("transformed, so all comparisons across sets are paired:")
    add("")
    for name in shift_names:
        add(f"- `{name}`: {SHIFT_DESCRIPTIONS[name]}.")
    add("")
    add("Images are stored as uint8 with the transform `{\"image\": {\"scale\": 1/255, \"mean\": "
        f"[{norm_stats[0]}], \"std\": [{norm_stats[1]}], \"channel_axis\": 1}}}}`, `resources/demo`'s")
    add("normalisation (mean and std of that kitchen's pretraining images, rounded to 4 decimals), kept so the")
    add("eval set files are identical; the model input is `(float32(x) * scale - mean) / std`.")
    add("")
    lines += model_paragraph(ref, param_count)
    with_head = pre["sets_with_pretraining_head"]
    base = ref["models"]["base/model.onnx"]["sets"]
    add(f"**Training.** Pretraining: AdamW lr {SOUP_PRETRAIN['lr']:g}, weight decay "
        f"{SOUP_PRETRAIN['weight_decay']:g}, batch {BATCH}, {SOUP_PRETRAIN['epochs']} epochs, augmentation on,")
    add(f"final training loss {pre['final_train_loss']:.4f}. Linear probe: multinomial logistic regression on")
    add("the frozen class-token features of the fine-tuning set, full-batch L-BFGS (strong Wolfe) from zero,")
    add(f"L2 penalty 0.5 * {fmt_num(probe['l2'])} * |W|^2 on the weights, {probe['iterations']} iterations, "
        f"{100 * probe['finetune_set_top1']:.2f} % top-1 on the")
    add(f"fine-tuning set. With the discarded pretraining head the backbone scores {pct(with_head['holdout'])} "
        f"held-out / {pct(with_head['test'])}")
    add(f"test; with the probe's head (the `base/` model) {pct(base['holdout'])} / {pct(base['test'])}. "
        "Every run: full")
    add(f"fine-tuning of all weights from `base/`, AdamW, batch {BATCH}, linear warm-up over 10 % of the steps then")
    add("cosine decay to 0, gradient norm clipped at 1, augmentation = random horizontal flip and translation by")
    add("up to 2 pixels. `final_train_loss` in hparams.json is the mean training loss over the last epoch.")
    lines += results_sections(ref, shift_names, sweep_rows, SOUP_HIGH_LR, "resources/demo-soup")
    with open(path, "w") as f:
        f.write("\n".join(lines))


# ---------------------------------------------------------------- main


def same_eval_sets_as_demo(eval_sets_ref):
    """Whether every eval set file has the sha256 resources/demo/reference.json records (None without it)."""
    demo_ref = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "resources", "demo",
                            "reference.json")
    if not os.path.exists(demo_ref):
        return None
    with open(demo_ref) as f:
        demo_sets = json.load(f)["eval_sets"]
    return all(demo_sets.get(k, {}).get("sha256") == v["sha256"] for k, v in eval_sets_ref.items())


def paper_findings(ref, shift_names, high_lr=HIGH_LR):
    """The paper's findings, checked on this run's numbers (one sentence each)."""

    def mean_shift(sets):
        return 100.0 * float(np.mean([sets[s]["top1"] for s in shift_names]))

    def top1(sets, name):
        return 100.0 * sets[name]["top1"]

    best = ref["best_single"]["sets"]
    greedy, uni = ref["greedy_soup"], ref["uniform_soup"]
    good, ens = ref["uniform_soup_without_high_lr"], ref["ensemble"]
    n_runs = len(uni["ingredients"])
    g_h, b_h = greedy["sets"]["holdout"]["correct"], best["holdout"]["correct"]
    findings = [
        f"Greedy soup >= best single on held-out: {'yes' if g_h >= b_h else 'no'} ({g_h} vs {b_h} correct of "
        f"{greedy['sets']['holdout']['n']}; guaranteed by the recipe, which starts from the best single model). "
        f"On test: {top1(greedy['sets'], 'test'):.2f} vs {top1(best, 'test'):.2f}; mean shift: "
        f"{mean_shift(greedy['sets']):.2f} vs {mean_shift(best):.2f}."]
    kept = len(greedy["ingredients"])
    if kept == 1:
        start = greedy["order"][0]["holdout_correct"]
        own = {o["path"]: o["holdout_correct"] for o in greedy["order"]}
        misses = [start - step["holdout_correct"] for step in greedy["steps"]]
        near = [start - step["holdout_correct"] for step in greedy["steps"]
                if start - own[step["candidate"]] <= 20]
        findings.append(
            f"The greedy soup kept only the best run: each of the {len(misses)} candidates lowered the held-out "
            f"correct count of the average, by {min(misses)} to {max(misses)} images; the {len(near)} candidates "
            f"within 20 images (1 point) of the best run on their own lowered it by {min(near)} to {max(near)}. "
            f"In this miniature, averaging two good runs lands at or slightly below the better one, not above "
            f"it, so soups gain nothing in-distribution here.")
    else:
        lr_of = {p: ref["models"][p]["hparams"]["lr"] for p in uni["ingredients"]}
        kept_lrs = sorted(lr_of[p] for p in greedy["ingredients"])
        high_kept = [p for p in greedy["ingredients"] if lr_of[p] >= high_lr]
        findings.append(
            f"The greedy soup kept {kept} of {n_runs} runs (learning rates "
            f"{', '.join(fmt_lr(v) for v in kept_lrs)}); {len(high_kept)} of the {len(good['excluded'])} runs with "
            f"lr >= {fmt_lr(high_lr)} among them. Held-out: {g_h} correct against the best single run's {b_h}.")
    u_h, good_h = top1(uni["sets"], "holdout"), top1(good["sets"], "holdout")
    findings.append(
        f"Uniform soup hurt by the bad runs: {'yes' if good_h > u_h else 'no'}. The uniform soup of all "
        f"{n_runs} runs scores {u_h:.2f} on held-out ({top1(uni['sets'], 'test'):.2f} test); without the "
        f"{len(good['excluded'])} runs with lr >= {fmt_lr(high_lr)} it scores {good_h:.2f} "
        f"({top1(good['sets'], 'test'):.2f} test); the best single run scores {top1(best, 'holdout'):.2f}.")
    findings.append(
        f"Ensemble's cost: the ensemble of {n_runs} runs needs {ens['forward_passes_per_image']} forward passes per "
        f"image, the soups one. It scores {top1(ens['sets'], 'holdout'):.2f} held-out / "
        f"{top1(ens['sets'], 'test'):.2f} test / {mean_shift(ens['sets']):.2f} mean shift, against the greedy "
        f"soup's {top1(greedy['sets'], 'holdout'):.2f} / {top1(greedy['sets'], 'test'):.2f} / "
        f"{mean_shift(greedy['sets']):.2f}.")
    findings.append(
        f"Robustness (mean shift top-1): best single {mean_shift(best):.2f}, uniform soup {mean_shift(uni['sets']):.2f}, "
        f"uniform soup without lr >= {fmt_lr(high_lr)} {mean_shift(good['sets']):.2f}, greedy soup "
        f"{mean_shift(greedy['sets']):.2f}, ensemble {mean_shift(ens['sets']):.2f}; on shift-rotate: "
        f"{top1(best, 'shift-rotate'):.2f}, {top1(uni['sets'], 'shift-rotate'):.2f}, "
        f"{top1(good['sets'], 'shift-rotate'):.2f}, {top1(greedy['sets'], 'shift-rotate'):.2f}, "
        f"{top1(ens['sets'], 'shift-rotate'):.2f}.")
    return findings


def paired(a_logits, b_logits, labels):
    """Accuracy difference (a - b) on the same images, with its paired standard deviation."""
    a = np.argmax(a_logits, axis=1) == labels
    b = np.argmax(b_logits, axis=1) == labels
    n = labels.shape[0]
    only_a = int((a & ~b).sum())
    only_b = int((~a & b).sum())
    var = (only_a + only_b - (only_a - only_b) ** 2 / n) / n ** 2
    return {"diff": (only_a - only_b) / n, "std": math.sqrt(max(var, 0.0)), "b": only_a, "c": only_b}


# The two kitchens this script writes: the original sweep ("a sweep that does not soup") and the LP-FT
# sweep in the paper's regime. Both share the data split, eval sets, model, exports and reference numbers.
KITCHENS = {
    "demo": {"folder": "demo", "sweep": SWEEP, "high_lr": HIGH_LR},
    "soup": {"folder": "demo-soup", "sweep": SOUP_SWEEP, "high_lr": SOUP_HIGH_LR},
}


def pretrain_soup_base(tr_x, tr_y, rest, ft_idx, norm, timing):
    """The soup kitchen's base: a backbone pretrained on all 10 classes of the unused training images,
    then its head replaced by a linear probe on the fine-tuning set. Returns (model, reference block)."""
    t0 = time.time()
    pre_idx = rest[np.isin(tr_y[rest], SOUP_PRETRAIN_CLASSES)]
    torch.manual_seed(SOUP_PRETRAIN_SEED)
    model = TinyViT(**ARCH)
    loss = train(model, tr_x[pre_idx], tr_y[pre_idx], norm, seed=SOUP_PRETRAIN_SEED, **SOUP_PRETRAIN)
    timing["pretrain"] = time.time() - t0
    log(f"pretrained backbone on {pre_idx.size} images in {timing['pretrain']:.0f} s: last-epoch loss {loss:.4f}")
    t0 = time.time()
    pretrained_head = {k: v.detach().clone() for k, v in model.head.state_dict().items()}
    probe = linear_probe(model, tr_x[ft_idx], tr_y[ft_idx], norm)
    timing["linear_probe"] = time.time() - t0
    log(f"linear probe: {probe['iterations']} L-BFGS iterations, loss {probe['loss']:.4f}, "
        f"fine-tuning-set top-1 {probe['train_top1']:.4f}")
    block = {
        "images": int(pre_idx.size), "classes": SOUP_PRETRAIN_CLASSES, "seed": SOUP_PRETRAIN_SEED,
        "hparams": dict(SOUP_PRETRAIN, batch_size=BATCH, optimizer="AdamW",
                        schedule="linear warm-up 10 % then cosine to 0", grad_clip_norm=1.0),
        "final_train_loss": round(loss, 6),
        "pretraining_head": {k: v.numpy() for k, v in pretrained_head.items()},
        "linear_probe": {"fit_on": f"the {N_FINETUNE} fine-tuning images, no augmentation",
                         "method": "multinomial logistic regression on the frozen class-token features, "
                                   "full-batch L-BFGS (strong Wolfe) from zero",
                         "l2": LINEAR_PROBE_L2, "max_iter": LINEAR_PROBE_MAX_ITER,
                         "iterations": probe["iterations"], "final_loss": round(probe["loss"], 6),
                         "finetune_set_top1": probe["train_top1"]},
    }
    return model, block


def data_split(tr_y):
    """Indices into the training images: held-out, fine-tuning, the rest, and resources/demo's pretraining
    set (the rest's images of PRETRAIN_CLASSES)."""
    perm = np.random.RandomState(SPLIT_SEED).permutation(tr_y.shape[0])
    hold_idx = perm[:N_HOLDOUT]
    ft_idx = perm[N_HOLDOUT:N_HOLDOUT + N_FINETUNE]
    rest = perm[N_HOLDOUT + N_FINETUNE:]
    return hold_idx, ft_idx, rest, rest[np.isin(tr_y[rest], PRETRAIN_CLASSES)]


def rewrite_readme(kitchen_name, out):
    """Write README.md again from the folder's reference.json, without training: the numbers stay those of
    the run that wrote reference.json, the text is the generator's current text."""
    with open(os.path.join(out, "reference.json")) as f:
        ref = json.load(f)
    sweep_rows = sorted(({"run": int(os.path.basename(os.path.dirname(p))[4:6]), "path": p, "form": m["kind"],
                          "hparams": m["hparams"]} for p, m in ref["models"].items() if m["kind"] != "base"),
                        key=lambda r: r["run"])
    shift_names = [k for k, v in ref["eval_sets"].items() if v["role"] == "shift"]
    _, _, rest, pre_idx = data_split(read_idx(f"{FASHION_DIR}/train-labels-idx1-ubyte.gz"))
    split_info = {"rest": int(rest.shape[0]), "pretrain": int(pre_idx.shape[0])}
    param_count = sum(p.numel() for p in TinyViT(**ARCH).parameters())
    image = ref["transform"]["image"]
    norm_stats = (image["mean"][0], image["std"][0])
    path = os.path.join(out, "README.md")
    if kitchen_name == "demo":
        write_readme(path, ref, None, shift_names, sweep_rows, ref["timing_seconds"], param_count, norm_stats,
                     split_info)
    else:
        write_soup_readme(path, ref, shift_names, sweep_rows, ref["timing_seconds"], param_count, norm_stats,
                          split_info)
    log(f"rewrote {path} from reference.json")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kitchen", choices=sorted(KITCHENS), default="demo",
                    help="demo: resources/demo (the original sweep); soup: resources/demo-soup (LP-FT sweep)")
    ap.add_argument("--out", help="output folder (default resources/<the kitchen's folder>)")
    ap.add_argument("--readme-only", action="store_true",
                    help="only rewrite README.md from the folder's reference.json (no training)")
    args = ap.parse_args()
    kitchen = KITCHENS[args.kitchen]
    sweep_spec, high_lr = kitchen["sweep"], kitchen["high_lr"]
    out = os.path.abspath(args.out or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                                   "resources", kitchen["folder"]))
    if args.readme_only:
        rewrite_readme(args.kitchen, out)
        return
    t_start = time.time()
    timing = {}
    log(f"torch {torch.__version__}, onnx {onnx.__version__}, numpy {np.__version__}; writing {out}")
    for sub in ["base", "sweep", "sweep-safetensors", "data"]:
        shutil.rmtree(os.path.join(out, sub), ignore_errors=True)
        os.makedirs(os.path.join(out, sub))

    # ---- data
    tr_x, tr_y, te_x, te_y = load_fashion()
    hold_idx, ft_idx, rest, pre_idx = data_split(tr_y)
    split_info = {"rest": int(rest.shape[0]), "pretrain": int(pre_idx.shape[0])}
    test_idx = np.sort(np.random.RandomState(TEST_SUBSET_SEED).permutation(te_x.shape[0])[:N_TEST])
    log(f"split: pretrain {pre_idx.size} (classes {PRETRAIN_CLASSES}), finetune {ft_idx.size}, "
        f"holdout {hold_idx.size}, test {test_idx.size}")

    pre01 = tr_x[pre_idx].astype(np.float64) / 255.0
    mean = round(float(pre01.mean()), 4)
    std = round(float(pre01.std()), 4)
    norm = Normaliser([mean], [std])
    transform = {"image": {"scale": SCALE, "mean": [mean], "std": [std], "channel_axis": 1}}
    log(f"normalisation: mean {mean}, std {std}")

    test_images = te_x[test_idx]
    test_labels = te_y[test_idx]
    shift_names = list(SHIFT_DESCRIPTIONS)
    sets = {
        "holdout": ("holdout", tr_x[hold_idx], tr_y[hold_idx],
                    f"{N_HOLDOUT} Fashion-MNIST training images used by neither pretraining nor fine-tuning"),
        "test": ("id", test_images, test_labels,
                 f"{N_TEST} of the official Fashion-MNIST test images (seed {TEST_SUBSET_SEED})"),
    }
    for k, name in enumerate(shift_names, start=1):
        sets[name] = ("shift", make_shift(name, test_images, TEST_SUBSET_SEED + k), test_labels,
                      SHIFT_DESCRIPTIONS[name])
    eval_sets_ref = {}
    for name, (role, images, labels, desc) in sets.items():
        path = os.path.join(out, "data", f"{name}.safetensors")
        write_safetensors(path, {"labels": labels.astype(np.int64), "image": images},
                          {"tureen.name": name, "tureen.role": role,
                           "tureen.transform": json.dumps(transform, separators=(",", ":"))})
        back, meta = read_safetensors(path)
        assert np.array_equal(back["image"], images) and np.array_equal(back["labels"], labels)
        assert meta["tureen.role"] == role
        eval_sets_ref[name] = {"path": f"data/{name}.safetensors", "role": role, "n": int(labels.shape[0]),
                               "sha256": sha256_file(path), "description": desc}
    inputs = {name: norm.from_uint8(images) for name, (_, images, _, _) in sets.items()}
    labels_of = {name: labels for name, (_, _, labels, _) in sets.items()}
    log("eval sets written: " + ", ".join(f"{k} ({v['role']})" for k, v in eval_sets_ref.items()))

    # ---- pretraining
    soup_base = None
    if args.kitchen == "demo":
        t0 = time.time()
        torch.manual_seed(PRETRAIN_SEED)
        base = TinyViT(**ARCH)
        param_count = sum(p.numel() for p in base.parameters())
        log(f"TinyViT {ARCH}: {param_count} parameters, {len(base.state_dict())} tensors")
        loss = train(base, tr_x[pre_idx], tr_y[pre_idx], norm, seed=PRETRAIN_SEED, **PRETRAIN)
        timing["pretrain"] = time.time() - t0
        log(f"pretrained in {timing['pretrain']:.0f} s: last-epoch loss {loss:.4f}")
    else:
        base, soup_base = pretrain_soup_base(tr_x, tr_y, rest, ft_idx, norm, timing)
        param_count = sum(p.numel() for p in base.parameters())
        pretrained_head = soup_base.pop("pretraining_head")
        with_pretraining_head = model_from_state(dict(state_dict_numpy(base), **{
            f"head.{k}": v for k, v in pretrained_head.items()}))
        soup_base["sets_with_pretraining_head"] = {
            s: metrics(logits_of(with_pretraining_head, inputs[s]), labels_of[s]) for s in sets}
    base_state = state_dict_numpy(base)
    base_hold = metrics(logits_of(base, inputs["holdout"]), labels_of["holdout"])
    log(f"base holdout top-1 {base_hold['top1']:.4f}")
    base_path = os.path.join(out, "base", "model.onnx")
    export_onnx(base, base_path)
    export_onnx(base, os.path.join(out, "sweep-safetensors", "graph.onnx"))

    # ---- sweep
    t0 = time.time()
    runs = []  # dicts: run, path (relative), form, hparams, state
    for run, lr, wd, ls, ep, aug in sweep_spec:
        t_run = time.time()
        seed = 100 + run
        model = TinyViT(**ARCH)
        model.load_state_dict(base.state_dict())
        final_loss = train(model, tr_x[ft_idx], tr_y[ft_idx], norm, lr=lr, weight_decay=wd,
                           label_smoothing=ls, epochs=ep, augment=aug, seed=seed)
        hparams = {"lr": lr, "weight_decay": wd, "label_smoothing": ls, "epochs": ep, "augment": aug,
                   "seed": seed, "batch_size": BATCH, "optimizer": "AdamW",
                   "schedule": "linear warm-up 10 % then cosine to 0", "grad_clip_norm": 1.0,
                   "final_train_loss": round(final_loss, 6)}
        name = run_name(run, lr, wd, ls, ep, aug)
        form = "onnx" if run <= N_ONNX_RUNS else "safetensors"
        folder = os.path.join(out, "sweep" if form == "onnx" else "sweep-safetensors", name)
        os.makedirs(folder)
        state = state_dict_numpy(model)
        if form == "onnx":
            export_onnx(model, os.path.join(folder, "model.onnx"))
            rel = f"sweep/{name}/model.onnx"
        else:
            write_safetensors(os.path.join(folder, "model.safetensors"), state, {"format": "pt"})
            rel = f"sweep-safetensors/{name}/model.safetensors"
        with open(os.path.join(folder, "hparams.json"), "w") as f:
            json.dump(hparams, f, indent=2)
            f.write("\n")
        hold = metrics(logits_of(model, inputs["holdout"]), labels_of["holdout"])
        log(f"{name}: {time.time() - t_run:.0f} s, last-epoch loss {final_loss:.4f}, holdout top-1 {hold['top1']:.4f}")
        runs.append({"run": run, "path": rel, "form": form, "hparams": hparams, "state": state})
    timing["sweep"] = time.time() - t0

    # ---- export checks
    t0 = time.time()
    keys = list(base_state)
    onnx_paths = ["base/model.onnx", "sweep-safetensors/graph.onnx"] + [r["path"] for r in runs if r["form"] == "onnx"]
    skeleton = onnx_skeleton(os.path.join(out, onnx_paths[0]))
    graphs_identical = all(onnx_skeleton(os.path.join(out, p)) == skeleton for p in onnx_paths[1:])
    generated = sorted({n for p in onnx_paths for n in onnx_initializers(os.path.join(out, p)) if n not in base_state})
    names_equal = True
    for p in onnx_paths:
        inits = onnx_initializers(os.path.join(out, p))
        if set(inits) != set(keys):
            names_equal = False
            log(f"{p}: initializers differ from state dict keys: only in ONNX {sorted(set(inits) - set(keys))}, "
                f"only in state dict {sorted(set(keys) - set(inits))}")
    m = onnx.load(os.path.join(out, "base", "model.onnx"))
    onnx.checker.check_model(m)
    int_inits = [i.name for i in m.graph.initializer if i.data_type != onnx.TensorProto.FLOAT]
    log(f"ONNX opset {OPSET}: {len(m.graph.initializer)} initializers, names equal state dict keys: {names_equal}; "
        f"generated names: {generated or 'none'}; non-float initializers: {int_inits or 'none'}; "
        f"graphs identical except weights: {graphs_identical}")

    # Read weights back from the files and average them, as Tureen would.
    file_states = []
    for r in runs:
        full = os.path.join(out, r["path"])
        if r["form"] == "onnx":
            inits = onnx_initializers(full)
            for k in keys:
                assert np.array_equal(inits[k], r["state"][k]), f"{r['path']}: {k} differs from the state dict"
            file_states.append({k: inits[k].astype(np.float32) for k in keys})
        else:
            tensors, _ = read_safetensors(full)
            for k in keys:
                assert np.array_equal(tensors[k], r["state"][k]), f"{r['path']}: {k} differs from the state dict"
            file_states.append({k: np.array(tensors[k], dtype=np.float32) for k in keys})
    uniform_state = average_float32([r["state"] for r in runs])
    uniform_from_files = average_float32(file_states)
    avg_diff = max(float(np.abs(uniform_state[k] - uniform_from_files[k]).max()) for k in keys)
    log(f"uniform average of exported weights vs state dicts: max abs diff {avg_diff:g}")
    uniform64 = {k: (sum(r["state"][k].astype(np.float64) for r in runs) / len(runs)) for k in keys}
    diff64 = max(float(np.abs(uniform64[k] - uniform_state[k].astype(np.float64)).max()) for k in keys)
    timing["checks"] = time.time() - t0

    # ---- reference evaluation
    t0 = time.time()
    ref_models = {}
    all_logits = {}

    def evaluate(state):
        model = model_from_state(state)
        logits = {s: logits_of(model, inputs[s]) for s in sets}
        return logits, {s: metrics(logits[s], labels_of[s]) for s in sets}

    for rel, kind, state, hp in [("base/model.onnx", "base", base_state, None)] + \
            [(r["path"], r["form"], r["state"], r["hparams"]) for r in runs]:
        logits, ms = evaluate(state)
        all_logits[rel] = logits
        ref_models[rel] = {"kind": kind, "sha256": sha256_file(os.path.join(out, rel)), "hparams": hp,
                           "sets": ms, "holdout_logits_first8": first8(logits["holdout"])}
    run_paths = [r["path"] for r in runs]
    state_of = {r["path"]: r["state"] for r in runs}

    uni_logits, uni_ms = evaluate(uniform_state)
    uni64_logits, uni64_ms = evaluate({k: v.astype(np.float32) for k, v in uniform64.items()})
    same64 = all(uni64_ms[s]["correct"] == uni_ms[s]["correct"] for s in sets)
    log(f"uniform soup: holdout {uni_ms['holdout']['top1']:.4f}; float64 average max weight diff {diff64:.3g}, "
        f"same correct counts: {same64}")

    good = [r["path"] for r in runs if r["hparams"]["lr"] < high_lr]
    excluded = [p for p in run_paths if p not in good]
    good_logits, good_ms = evaluate(average_float32([state_of[p] for p in good]))

    # Greedy soup, paper's Recipe 1.
    hold_correct = {p: ref_models[p]["sets"]["holdout"]["correct"] for p in run_paths}
    order = sorted(run_paths, key=lambda p: (-hold_correct[p], p))
    kept = [order[0]]
    running_sum = {k: state_of[order[0]][k].astype(np.float32, copy=True) for k in keys}
    current = hold_correct[order[0]]
    steps = []
    for cand in order[1:]:
        k_new = np.float32(len(kept) + 1)
        trial = {k: (running_sum[k] + state_of[cand][k]) / k_new for k in keys}
        c = metrics(logits_of(model_from_state(trial), inputs["holdout"]), labels_of["holdout"])["correct"]
        accepted = c >= current
        if accepted:
            for k in keys:
                running_sum[k] += state_of[cand][k]
            kept.append(cand)
            current = c
        steps.append({"candidate": cand, "holdout_correct": c, "accepted": bool(accepted), "ingredients": list(kept)})
        log(f"greedy: {cand} -> {c} {'kept' if accepted else 'rejected'}")
    greedy_state = {k: running_sum[k] / np.float32(len(kept)) for k in keys}
    greedy_logits, greedy_ms = evaluate(greedy_state)
    assert greedy_ms["holdout"]["correct"] == current

    ens_logits = {s: np.mean([all_logits[p][s].astype(np.float64) for p in run_paths], axis=0) for s in sets}
    ens_ms = {s: metrics(ens_logits[s], labels_of[s]) for s in sets}
    best = order[0]
    timing["evaluate"] = time.time() - t0

    paired_diffs = {}
    for key, lg in [("greedy_soup", greedy_logits), ("uniform_soup", uni_logits), ("ensemble", ens_logits)]:
        paired_diffs[key] = {s: paired(lg[s], all_logits[best][s], labels_of[s]) for s in sets}

    def mean_shift(ms):
        return float(np.mean([ms[s]["top1"] for s in shift_names]))

    best_ms = ref_models[best]["sets"]

    timing["total"] = time.time() - t_start
    timing["cpu"] = time.process_time()
    ref = {
        "schema": "tureen/demo-reference@1",
        "generator": "scripts/demo/make_demo.py",
        "versions": {"torch": torch.__version__, "onnx": onnx.__version__, "numpy": np.__version__, "opset": OPSET},
        "transform": transform,
        "input_preprocessing": "x = (float32(image) * float32(scale) - float32(mean)) / float32(std), in float32",
        "metric_definitions": {
            "top1": "fraction of images whose argmax logit is the label; correct = the count",
            "top5": "fraction of images whose label is among the 5 largest logits",
            "nll": "mean over images of -log softmax(logits)[label], float64 from float32 logits",
            "ece": f"{ECE_BINS} equal-width bins over the top softmax probability, bin b = (b/{ECE_BINS}, (b+1)/{ECE_BINS}]; "
                   "sum over bins of (count/N) * |accuracy - mean confidence|",
            "soup": "float32 average of the state dicts: float32 sum in the listed ingredient order, then one "
                    "float32 division by the count",
            "ensemble": "mean of the members' float32 logits, computed in float64; metrics on that mean",
        },
        "eval_sets": eval_sets_ref,
        "models": ref_models,
        "best_single": {"path": best, "rule": "the sweep run with the highest held-out correct count "
                        "(ties: path ascending)", "sets": best_ms},
        "uniform_soup": {"ingredients": run_paths, "sets": uni_ms, "holdout_logits_first8": first8(uni_logits["holdout"])},
        "uniform_soup_without_high_lr": {
            "rule": f"all sweep runs with lr < {fmt_lr(high_lr)}", "ingredients": good, "excluded": excluded,
            "sets": good_ms, "holdout_logits_first8": first8(good_logits["holdout"])},
        "greedy_soup": {
            "rule": "sort by held-out correct count descending, ties by path ascending; start from the first; "
                    "add a candidate if the held-out correct count of the float32 uniform average of the kept "
                    "runs plus the candidate is >= the current count",
            "order": [{"path": p, "holdout_correct": hold_correct[p]} for p in order],
            "steps": steps, "ingredients": kept, "sets": greedy_ms,
            "holdout_logits_first8": first8(greedy_logits["holdout"])},
        "ensemble": {"members": run_paths, "forward_passes_per_image": len(run_paths), "sets": ens_ms,
                     "holdout_logits_first8": first8(ens_logits["holdout"])},
        "paired_differences": paired_diffs,
        "findings": [],
        "checks": {
            "tensor_count": len(keys),
            "initializer_names_equal_state_dict_keys": names_equal,
            "generated_initializer_names": generated,
            "non_float_initializers": int_inits,
            "onnx_graphs_identical_except_weights": graphs_identical,
            "onnx_vs_state_dict_average_max_abs_diff": avg_diff,
            "uniform_soup_float64_vs_float32_max_abs_weight_diff": diff64,
            "uniform_soup_float64_same_correct_counts": same64,
        },
        "timing_seconds": {k: round(v, 1) for k, v in timing.items()},
    }
    if soup_base is not None:
        soup_base["eval_sets_identical_to_demo"] = same_eval_sets_as_demo(eval_sets_ref)
        ref["pretraining"] = soup_base
    ref["findings"] = paper_findings(ref, shift_names, high_lr)
    for line in ref["findings"]:
        log(line)
    with open(os.path.join(out, "reference.json"), "w") as f:
        json.dump(ref, f, indent=1)
        f.write("\n")
    sweep_rows = [{"run": r["run"], "path": r["path"], "form": r["form"], "hparams": r["hparams"]} for r in runs]
    if args.kitchen == "demo":
        write_readme(os.path.join(out, "README.md"), ref, sets, shift_names, sweep_rows, timing, param_count,
                     (mean, std), split_info)
    else:
        write_soup_readme(os.path.join(out, "README.md"), ref, shift_names, sweep_rows, timing, param_count,
                          (mean, std), split_info)
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(out) for f in fs)
    log(f"done in {timing['total']:.0f} s ({timing['cpu']:.0f} s CPU); {out} holds {size / 1e6:.2f} MB")
    if not (names_equal and graphs_identical and avg_diff == 0.0 and not generated):
        log("CHECK FAILED: see the lines above")
        sys.exit(1)


if __name__ == "__main__":
    main()
