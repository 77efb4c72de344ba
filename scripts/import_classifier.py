"""Rule import_classifier: a researcher's own classifier (``classifier.external``), checked on the run's
data and written as the run's ``external`` classifier; nothing is trained, so the training regimes,
curves, ROAR and sanity checks are absent (stated in ``metrics.json``)."""

from manifold_xai.jobs import run_job

ABSENT = (
    "the classifier was given (classifier.external), not trained: the standard, adversarial and "
    "random-label regimes, the training curves, ROAR and the sanity checks are absent"
)


def main(job):
    from manifold_xai.attribution.plugins import files_of
    from manifold_xai.data.dataset_store import read_dataset
    from manifold_xai.data.splits import TEST, TRAIN
    from manifold_xai.models.external import import_external
    from manifold_xai.models.io import save_payload
    from manifold_xai.store import sha256_path, write_json
    from manifold_xai.training.inference import accuracy, predict_logits

    spec = job.params["external"]
    data = read_dataset(job.input.data)
    test_x, test_y, _ = data.part(TEST)
    train_x, train_y, _ = data.part(TRAIN)
    payload, model = import_external(
        spec, "classifier", test_x, n_classes=int(data.attrs["n_classes"])
    )
    model.to(job.device)
    job.metrics = {
        "regime": "external",
        "trained": False,
        "note": ABSENT,
        "files": {path: sha256_path(path) for path in files_of(spec)},
        "test_accuracy": accuracy(predict_logits(model, test_x, job.device), test_y),
        "train_accuracy": accuracy(predict_logits(model, train_x, job.device), train_y),
    }
    save_payload(job.output.model, payload)
    write_json(job.output.metrics, job.metrics)


run_job(snakemake, main)
