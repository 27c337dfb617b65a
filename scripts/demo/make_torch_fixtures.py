#!/usr/bin/python3
"""Small torch.onnx.export fixtures for Tureen's checkpoint engine, showing how real exports name and
transform weights. Run by hand with Debian's interpreter (not in CI):

    /usr/bin/python3 scripts/demo/make_torch_fixtures.py [--out tests/fixtures/torch-exports]

Three pairs of ONNX files, each pair = the same architecture with two different initialisations:

  cnn-bn-eval-{1,2}.onnx      tiny CNN with BatchNorm, exported from eval mode with
                              do_constant_folding=False: torch folds each BatchNorm into the preceding
                              Conv anyway, so the Conv initializers get generated names (onnx::Conv_NN)
                              and hold folded weights; averaging them is NOT averaging the models.
  cnn-bn-preserve-{1,2}.onnx  the same CNNs exported with training=TrainingMode.PRESERVE (model in eval
                              mode): BatchNormalization nodes survive, initializers are the state-dict
                              keys including running_mean/running_var; averaging them is averaging the
                              models.
  mlp-folded-{1,2}.onnx       tiny MLP on [N,3,8] exported with do_constant_folding=True: the Linear
                              weights applied to 3-D inputs are transposed and renamed onnx::MatMul_NN;
                              the last Linear (2-D input) stays a Gemm named by its state-dict key.

Each pair has a sibling <name>.expected.json (shape below). Numbers come from PyTorch in float32.

    {
      "schema": "tureen/torch-export-fixture@1",
      "generator": "scripts/demo/make_torch_fixtures.py",
      "torch_version": str, "opset": int,
      "export": {"training": "EVAL" | "PRESERVE", "model_mode": "eval", "do_constant_folding": bool},
      "what": str,                              # what the export does to the weights
      "files": [str, str],                      # the two ONNX files (same folder)
      "input_name": "x", "output_name": "y",
      "input": {"shape": [...], "data": [flat float32 values]},
      "state_dict_keys": [str],                 # the PyTorch state dict's keys, in order
      "initializers": {file: [{"name", "shape", "dtype"}]},   # as written in each ONNX file
      "initializer_names_equal_state_dict_keys": bool,   # ignoring num_batches_tracked (never exported)
      "outputs": {file: [[float]]},             # each copy's own output on the input
      "state_dict_average_output": [[float]],   # output of the float32 average of the two state dicts
                                                # (integer buffers such as num_batches_tracked copied
                                                # from copy 1: they do not affect eval outputs)
      "initializer_average_output": [[float]],  # output of the graph with the float32 average of the two
                                                # files' initializers, computed in PyTorch by rebuilding
                                                # the exported graph's computation
      "initializer_average_equals_state_dict_average": bool,   # max abs diff <= 1e-6
      "max_abs_diff_initializer_vs_state_dict_average": float
    }
"""

import argparse
import json
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from onnx import numpy_helper  # noqa: E402

torch.set_num_threads(1)
OPSET = 17


class TinyCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 6, 3, stride=2, padding=1)
        self.bn2 = nn.BatchNorm2d(6)
        self.fc = nn.Linear(6, 3)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        return self.fc(x.mean(dim=(2, 3)))


class TinyMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(8, 16)
        self.fc2 = nn.Linear(16, 16)
        self.head = nn.Linear(16, 4)

    def forward(self, x):
        x = F.relu(self.fc2(F.relu(self.fc1(x))))
        return self.head(x.mean(dim=1))


def make_cnn(seed):
    torch.manual_seed(seed)
    m = TinyCNN()
    with torch.no_grad():
        for bn in (m.bn1, m.bn2):
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.normal_(0.0, 0.2)
        # Real running statistics: a few training-mode passes over random data.
        m.train()
        for _ in range(5):
            m(torch.randn(16, 1, 8, 8) * 1.5 + 0.3)
    return m.eval()


def make_mlp(seed):
    torch.manual_seed(seed)
    return TinyMLP().eval()


def export(model, example, path, training, folding):
    model.eval()
    torch.onnx.export(model, example, path, input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}}, opset_version=OPSET,
                      do_constant_folding=folding, export_params=True, training=training)


def average_state_dicts(a, b):
    out = {}
    for k, va in a.items():
        if va.is_floating_point():
            out[k] = (va.float() + b[k].float()) / 2.0
        else:
            out[k] = va.clone()
    return out


def onnx_weights(path):
    m = onnx.load(path)
    return m, {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}


def run_folded_cnn(graph, weights, x):
    """The eval export's computation: Conv(+folded BN) -> Relu -> Conv -> Relu -> mean -> Gemm."""
    convs = [n for n in graph.node if n.op_type == "Conv"]
    gemm = next(n for n in graph.node if n.op_type == "Gemm")
    t = {k: torch.from_numpy(np.array(v)) for k, v in weights.items()}
    h = F.relu(F.conv2d(x, t[convs[0].input[1]], t[convs[0].input[2]], padding=1))
    h = F.relu(F.conv2d(h, t[convs[1].input[1]], t[convs[1].input[2]], stride=2, padding=1))
    return F.linear(h.mean(dim=(2, 3)), t[gemm.input[1]], t[gemm.input[2]])


def run_preserve_cnn(weights, x):
    m = TinyCNN().eval()
    state = m.state_dict()
    for k in state:
        if k in weights:
            state[k] = torch.from_numpy(np.array(weights[k]))
    m.load_state_dict(state)
    with torch.no_grad():
        return m(x)


def run_folded_mlp(graph, weights, x):
    """MatMul(x, W_t) + b for the 3-D layers (W_t stored transposed), Gemm(transB=1) for the head."""
    t = {k: torch.from_numpy(np.array(v)) for k, v in weights.items()}
    matmuls = [n for n in graph.node if n.op_type == "MatMul"]
    adds = {n.input[1] if n.input[1] in t else n.input[0]: n for n in graph.node if n.op_type == "Add"}
    add_bias = [k for k in adds if k in t]
    gemm = next(n for n in graph.node if n.op_type == "Gemm")
    h = x
    for mm, bias in zip(matmuls, add_bias):
        h = F.relu(torch.matmul(h, t[mm.input[1]]) + t[bias])
    return F.linear(h.mean(dim=1), t[gemm.input[1]], t[gemm.input[2]])


def describe_initializers(model):
    return [{"name": i.name, "shape": list(i.dims), "dtype": onnx.TensorProto.DataType.Name(i.data_type)}
            for i in model.graph.initializer]


def rows(t):
    return [[float(v) for v in r] for r in t.detach().numpy().astype(np.float32)]


def make_pair(out, stem, factory, example, training, folding, what, runner):
    files = [f"{stem}-1.onnx", f"{stem}-2.onnx"]
    models = [factory(11), factory(22)]
    for m, f in zip(models, files):
        export(m, example, os.path.join(out, f), training, folding)
    keys = list(models[0].state_dict())
    loaded = [onnx_weights(os.path.join(out, f)) for f in files]
    avg_init = {k: (loaded[0][1][k].astype(np.float32) + loaded[1][1][k].astype(np.float32)) / np.float32(2)
                if loaded[0][1][k].dtype.kind == "f" else loaded[0][1][k] for k in loaded[0][1]}
    avg_model = factory(0)
    avg_model.load_state_dict(average_state_dicts(models[0].state_dict(), models[1].state_dict()))
    with torch.no_grad():
        sd_avg_out = avg_model(example)
        init_avg_out = runner(loaded[0][0].graph, avg_init, example)
        # The rebuilt computation must reproduce each file's own model before its average means anything.
        for (m, w), model in zip(loaded, models):
            own = runner(m.graph, w, example)
            assert torch.allclose(own, model(example), atol=1e-5), f"{stem}: rebuilt graph differs from torch"
    diff = float((init_avg_out - sd_avg_out).abs().max())
    names = [i.name for i in loaded[0][0].graph.initializer]
    exportable = [k for k in keys if not k.endswith("num_batches_tracked")]
    doc = {
        "schema": "tureen/torch-export-fixture@1",
        "generator": "scripts/demo/make_torch_fixtures.py",
        "torch_version": torch.__version__,
        "opset": OPSET,
        "export": {"training": training.name, "model_mode": "eval", "do_constant_folding": folding},
        "what": what,
        "files": files,
        "input_name": "x",
        "output_name": "y",
        "input": {"shape": list(example.shape), "data": [float(v) for v in example.numpy().ravel()]},
        "state_dict_keys": keys,
        "initializers": {f: describe_initializers(m) for f, (m, _) in zip(files, loaded)},
        "initializer_names_equal_state_dict_keys": sorted(names) == sorted(exportable),
        "outputs": {f: rows(m(example)) for f, m in zip(files, models)},
        "state_dict_average_output": rows(sd_avg_out),
        "initializer_average_output": rows(init_avg_out),
        "initializer_average_equals_state_dict_average": diff <= 1e-6,
        "max_abs_diff_initializer_vs_state_dict_average": diff,
    }
    with open(os.path.join(out, f"{stem}.expected.json"), "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    sizes = [os.path.getsize(os.path.join(out, f)) for f in files]
    print(f"{stem}: initializers {names}; averaging the exported initializers vs the state dicts: max abs "
          f"diff {diff:.3g}; file sizes {sizes} bytes")


def main():
    ap = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--out", default=os.path.join(here, "..", "..", "tests", "fixtures", "torch-exports"))
    out = os.path.abspath(ap.parse_args().out)
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(1234)
    image = torch.randn(2, 1, 8, 8)
    tokens = torch.randn(2, 3, 8)
    eval_mode, preserve = torch.onnx.TrainingMode.EVAL, torch.onnx.TrainingMode.PRESERVE
    make_pair(out, "cnn-bn-eval", make_cnn, image, eval_mode, False,
              "eval-mode export folds BatchNorm into Conv even with do_constant_folding=False: Conv "
              "initializers are renamed (onnx::Conv_NN) and hold folded weights; bn*.* are gone",
              run_folded_cnn)
    make_pair(out, "cnn-bn-preserve", make_cnn, image, preserve, False,
              "TrainingMode.PRESERVE export of an eval-mode model keeps BatchNormalization; initializers are "
              "the state-dict keys (num_batches_tracked is not exported)",
              lambda graph, w, x: run_preserve_cnn(w, x))
    make_pair(out, "mlp-folded", make_mlp, tokens, eval_mode, True,
              "do_constant_folding=True transposes the weights of Linear layers applied to 3-D inputs and "
              "renames them onnx::MatMul_NN; the 2-D head stays a Gemm named head.weight/head.bias",
              run_folded_mlp)


if __name__ == "__main__":
    main()
