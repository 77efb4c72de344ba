"""Rule train_labeller: the labelling function c(x), trained on VAE reconstructions of the source images."""

from manifold_xai.jobs import run_job


def main(job):
    from manifold_xai.data.dataset_store import read_dataset
    from manifold_xai.data.splits import TEST, TRAIN
    from manifold_xai.models.io import GENERATIVE_CLASSES, load_model, save_model
    from manifold_xai.store import write_json
    from manifold_xai.training.inference import accuracy, predict_logits, reconstruct
    from manifold_xai.training.labeller import fit_labeller, labeller_kwargs

    p = job.params["labeller"]
    source = read_dataset(job.input.source)
    vae = load_model(job.input.manifold, job.device, expect=GENERATIVE_CLASSES)
    train_x, train_y, _ = source.part(TRAIN)
    test_x, test_y, _ = source.part(TEST)
    _, train_rec = reconstruct(vae, train_x, job.device)
    _, test_rec = reconstruct(vae, test_x, job.device)
    seed = job.seed("labeller")
    kwargs = labeller_kwargs(p, train_x, source.attrs["n_classes"])
    model, history = fit_labeller(p, kwargs, train_rec, train_y, seed, job.device)
    save_model(job.output.model, p["arch"], kwargs, model)
    job.metrics = {
        "test_accuracy_reconstructions": accuracy(
            predict_logits(model, test_rec, job.device), test_y
        ),
        "test_accuracy_originals": accuracy(predict_logits(model, test_x, job.device), test_y),
    }
    write_json(job.output.metrics, {"history": history, **job.metrics})


run_job(snakemake, main)
