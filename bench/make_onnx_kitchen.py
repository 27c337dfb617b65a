"""A synthetic kitchen for bench/responsiveness.mjs and bench/greedy-steps.mjs: RUNS ONNX models of an MLP
(x[N, D] -> MatMul -> Relu -> MatMul -> Relu -> MatMul -> logits[N, 10]) fine-tuned "around" one base
(base + small noise per run, so soups are meaningful) and a held-out set labelled by the base model.
Run: /usr/bin/python3 bench/make_onnx_kitchen.py OUT_DIR RUNS HIDDEN  (HIDDEN=3072: ~50 MB per model)
"""
import json
import os
import struct
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out, runs, hidden = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
D, C, N = 1024, 10, 256
rng = np.random.default_rng(16)
base = {
    "w1": rng.standard_normal((D, hidden)).astype(np.float32) / np.sqrt(D),
    "w2": rng.standard_normal((hidden, hidden)).astype(np.float32) / np.sqrt(hidden),
    "w3": rng.standard_normal((hidden, C)).astype(np.float32) / np.sqrt(hidden),
}


def forward(w, x):
    h = np.maximum(x @ w["w1"], 0)
    h = np.maximum(h @ w["w2"], 0)
    return h @ w["w3"]


def model(w):
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["h1"]),
        helper.make_node("Relu", ["h1"], ["r1"]),
        helper.make_node("MatMul", ["r1", "w2"], ["h2"]),
        helper.make_node("Relu", ["h2"], ["r2"]),
        helper.make_node("MatMul", ["r2", "w3"], ["logits"]),
    ]
    graph = helper.make_graph(
        nodes,
        "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", D])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["n", C])],
        [numpy_helper.from_array(v, k) for k, v in w.items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


os.makedirs(f"{out}/data", exist_ok=True)
for i in range(runs):
    w = {k: (v + rng.standard_normal(v.shape).astype(np.float32) * np.float32(0.02 * (1 + i % 3) / np.sqrt(v.shape[0]))) for k, v in base.items()}
    os.makedirs(f"{out}/sweep/run{i:02d}", exist_ok=True)
    onnx.save(model(w), f"{out}/sweep/run{i:02d}/model.onnx")

x = rng.standard_normal((N, D)).astype(np.float32)
labels = forward(base, x).argmax(1).astype(np.int64)
flip = rng.random(N) < 0.3
labels[flip] = rng.integers(0, C, flip.sum())
header = {
    "__metadata__": {"tureen.name": "holdout", "tureen.role": "holdout"},
    "x": {"dtype": "F32", "shape": [N, D], "data_offsets": [0, x.nbytes]},
    "labels": {"dtype": "I64", "shape": [N], "data_offsets": [x.nbytes, x.nbytes + labels.nbytes]},
}
text = json.dumps(header).encode()
text += b" " * ((8 - (len(text) + 8) % 8) % 8)
with open(f"{out}/data/holdout.safetensors", "wb") as f:
    f.write(struct.pack("<Q", len(text)) + text + x.tobytes() + labels.tobytes())
