#!/usr/bin/python3
"""Run the Python snippets of docs/your-sweep.md exactly as written, the way a user would, so a test can
check that Tureen binds what they produce. Run with Debian's interpreter (python3-torch):

    /usr/bin/python3 scripts/guide/run_guide_snippets.py --out DIR [--guide docs/your-sweep.md]

A snippet is a ```python block preceded by `<!-- guide-snippet: NAME -->`. The snippets use names the
guide leaves to the reader (`MyNet`, the architecture; `train(lr)`, a training run); this script defines
them — a small CNN with BatchNorm, trained for a few steps on random data — then runs the `save` snippet
(which writes sweep/lr=*/checkpoint.pt) and the `export` snippet (which writes sweep/graph.onnx) in DIR.

Prints one JSON document: {"sweep": DIR/sweep, "graph": ..., "checkpoints": [...], "state_dict_keys": [...],
"snippets": [names run]}.
"""

import argparse
import json
import os
import re
import sys

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_GUIDE = os.path.normpath(os.path.join(HERE, "..", "..", "docs", "your-sweep.md"))
SNIPPET = re.compile(r"<!-- guide-snippet: ([\w-]+) -->\s*```python\n(.*?)```", re.S)


class MyNet(nn.Module):
    """What the guide calls "your architecture": a small CNN with BatchNorm on 3x32x32 images."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.head = nn.Linear(8, 10)

    def forward(self, image):
        x = torch.relu(self.bn(self.conv(image)))
        return self.head(x.mean(dim=(2, 3)))


def train(lr):
    """What the guide calls "your training run": a few SGD steps on random data (BatchNorm stats move)."""
    torch.manual_seed(0)
    model = MyNet()
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    for _ in range(3):
        x, y = torch.randn(16, 3, 32, 32), torch.randint(0, 10, (16,))
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    return model.eval()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--guide", default=DEFAULT_GUIDE)
    args = parser.parse_args()
    with open(args.guide, encoding="utf-8") as fh:
        snippets = dict(SNIPPET.findall(fh.read()))
    missing = {"save", "export"} - set(snippets)
    if missing:
        sys.exit(f"{args.guide}: no guide-snippet named {', '.join(sorted(missing))}")
    os.makedirs(args.out, exist_ok=True)
    os.chdir(args.out)
    namespace = {"MyNet": MyNet, "train": train, "__name__": "__guide__"}
    for name in ["save", "export"]:
        exec(compile(snippets[name], f"{args.guide}:{name}", "exec"), namespace)
    sweep = os.path.join(os.getcwd(), "sweep")
    checkpoints = sorted(
        os.path.join(d, f) for d, _, fs in os.walk(sweep) for f in fs if f.endswith(".pt")
    )
    print(json.dumps({"sweep": sweep, "graph": os.path.join(sweep, "graph.onnx"), "checkpoints": checkpoints,
                      "state_dict_keys": list(MyNet().state_dict().keys()), "snippets": ["save", "export"]}))


if __name__ == "__main__":
    main()
