"""What limits the labelling function of a finished run, as JSON.

The labeller of a generative dataset is trained on the VAE's reconstructions of the source digits
(docs/paper.md §1.1). When its accuracy falls short of the paper's 96.8 %, either the reconstructions
have lost the digit's identity or the labeller itself is too small or too briefly trained. This script
separates the two on one run (``results/{dataset}/seed{seed}``): with the run's labeller block and stage
seed (read from its provenance sidecar) it retrains the labeller (a) on the reconstructions, as the
pipeline does, (b) on the original digits, and (c) on the reconstructions with ``--epochs-factor`` times
the epochs; and it measures each on the held-out originals and reconstructions.

    uv run python benchmarks/labeller_limits.py results mnist32 0
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from manifold_xai.data.dataset_store import read_dataset
from manifold_xai.data.splits import TEST, TRAIN
from manifold_xai.models.io import GENERATIVE_CLASSES, load_model
from manifold_xai.runtime import seed_everything
from manifold_xai.training.inference import accuracy, predict_logits, reconstruct
from manifold_xai.training.labeller import fit_labeller, labeller_kwargs


def main(results: Path, dataset: str, seed: int, factor: int) -> dict:
    run = results / dataset / f"seed{seed}"
    record = json.loads((run / "labeller" / "metrics.json.prov.json").read_text())
    labeller, stage_seed = record["params"]["labeller"], record["seeds"]["labeller"]
    source = read_dataset(results / dataset / "source.zarr")
    vae = load_model(run / "manifold" / "model.pt", "cpu", expect=GENERATIVE_CLASSES)
    train_x, train_y, _ = source.part(TRAIN)
    test_x, test_y, _ = source.part(TEST)
    _, train_rec = reconstruct(vae, train_x, "cpu")
    _, test_rec = reconstruct(vae, test_x, "cpu")
    kwargs = labeller_kwargs(labeller, train_x, source.attrs["n_classes"])
    epochs = labeller["epochs"]
    cases = {
        "reconstructions": (train_rec, epochs),
        "originals": (train_x, epochs),
        f"reconstructions, {factor}x epochs": (train_rec, epochs * factor),
    }
    out = {"run": f"{dataset}/seed{seed}", "labeller": labeller, "cases": {}}
    for name, (x, n_epochs) in cases.items():
        start = time.perf_counter()
        seed_everything(stage_seed)
        model, _ = fit_labeller(labeller, kwargs, x, train_y, stage_seed, "cpu", epochs=n_epochs)
        out["cases"][name] = {
            "epochs": n_epochs,
            "train_accuracy": accuracy(predict_logits(model, x, "cpu"), train_y),
            "test_accuracy_originals": accuracy(predict_logits(model, test_x, "cpu"), test_y),
            "test_accuracy_reconstructions": accuracy(
                predict_logits(model, test_rec, "cpu"), test_y
            ),
            "seconds": round(time.perf_counter() - start, 1),
        }
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("dataset")
    parser.add_argument("seed", type=int)
    parser.add_argument("--epochs-factor", type=int, default=4)
    args = parser.parse_args()
    print(json.dumps(main(args.results, args.dataset, args.seed, args.epochs_factor), indent=2))
