"""The checks of a config that its JSON Schema cannot express: keys that depend on each other (a
dataset's approach and its blocks, ROAR and sanity on a given classifier, attribution methods that
need a manifold, the study's tasks, tangent sources, the denoiser's noise levels, upsampling). Each
returns the messages naming the offending keys; ``manifold_xai.config.validate_config`` raises them.
"""

from __future__ import annotations

from manifold_xai.config_facts import (
    DIRECTED_REGIMES,
    dataset_seeds,
    evaluation_seeds,
    image_shape,
    latent_dim,
    local_pca_k,
    split_sizes,
    tangent_sources,
)
from manifold_xai.shapes import (
    MIN_IMAGE_SIZE,
)


def _evaluation_errors(config: dict, name: str) -> list[str]:
    ds, at, errors = config["datasets"][name], f"datasets.{name}", []
    for block in ("roar", "sanity"):
        if ds[block] is None:
            continue
        if ds["classifier"]["external"] is not None:
            errors.append(
                f"{at}.{block}: retrains or randomises classifiers the pipeline trains; "
                f"{at}.classifier.external is set (remove {block}, or the external classifier)"
            )
        elif "standard" not in ds["classifier"]["regimes"]:
            errors.append(f"{at}.{block}: needs the standard regime in classifier.regimes")
        extra = sorted(
            set(evaluation_seeds(config, name, block)) - set(dataset_seeds(config, name))
        )
        if extra:
            errors.append(f"{at}.{block}.seeds: {extra} are not seeds of {name!r}")
    if ds["roar"] is not None:
        from manifold_xai.attribution.registry import ROAR_REFERENCES

        unknown = [
            m
            for m in ds["roar"]["methods"]
            if m not in ds["attributions"] and m not in ROAR_REFERENCES
        ]
        if unknown:
            errors.append(
                f"{at}.roar.methods: {unknown} are neither configured under {at}.attributions "
                f"({sorted(ds['attributions'])}) nor one of {list(ROAR_REFERENCES)}"
            )
    return errors


def _directed_errors(config: dict, name: str) -> list[str]:
    """The directed adversarial regimes need every training image's tangent basis: a dataset whose
    tangent spaces are matrix-free (no stored basis) cannot train them."""
    from manifold_xai.tangent.space import uses_matrix_free

    ds, at = config["datasets"][name], f"datasets.{name}"
    asked = [r for r in ds["classifier"]["regimes"] if r in DIRECTED_REGIMES]
    errors = []
    if not asked:
        return errors
    shape, k = image_shape(config, name), latent_dim(config, name)
    if shape is not None and k is not None:
        d = shape[0] * shape[1] * shape[2]
        if uses_matrix_free(ds["tangent"], k, d):
            errors.append(
                f"{at}.classifier.regimes: {asked} confine the attack to each training image's "
                f"tangent space, but this dataset has no stored training-image bases (its tangent "
                f"spaces are matrix-free at k·d = {k * d}; set tangent.projection to basis)"
            )
    return errors


def _regime_subset_errors(config: dict, name: str) -> list[str]:
    """``regime_seeds`` and ``regime_methods`` name regimes the dataset runs, its seeds and its
    configured methods."""
    clf, at, errors = config["datasets"][name]["classifier"], f"datasets.{name}.classifier", []
    methods = config["datasets"][name]["attributions"]
    for key in ("regime_seeds", "regime_methods"):
        for regime, chosen in clf[key].items():
            if regime not in clf["regimes"]:
                errors.append(f"{at}.{key}.{regime}: {regime!r} is not in {at}.regimes")
            elif key == "regime_seeds":
                extra = sorted(set(chosen) - set(dataset_seeds(config, name)))
                if extra:
                    errors.append(f"{at}.regime_seeds.{regime}: {extra} are not seeds of {name!r}")
            else:
                unknown = [m for m in chosen if m not in methods]
                if unknown:
                    errors.append(
                        f"{at}.regime_methods.{regime}: {unknown} are not configured under "
                        f"datasets.{name}.attributions ({sorted(methods)})"
                    )
    return errors


def _counterfactual_errors(config: dict, name: str) -> list[str]:
    ds, at = config["datasets"][name], f"datasets.{name}"
    block = ds["evaluation"]["counterfactuals"]
    if block is None:
        return []
    errors, at = [], f"{at}.evaluation.counterfactuals"
    unknown = [m for m in block["methods"] if m not in ds["attributions"]]
    if unknown:
        errors.append(
            f"{at}.methods: {unknown} are not configured under datasets.{name}.attributions "
            f"({sorted(ds['attributions'])})"
        )
    missing = [r for r in block["regimes"] or [] if r not in ds["classifier"]["regimes"]]
    if missing:
        errors.append(f"{at}.regimes: {missing} are not in classifier.regimes")
    for regime in block["regimes"] or ds["classifier"]["regimes"]:
        computed = ds["classifier"]["regime_methods"].get(regime)
        absent = [m for m in block["methods"] if computed is not None and m not in computed]
        if absent:
            errors.append(
                f"{at}.methods: {absent} are not computed for the walked regime {regime!r} "
                f"(classifier.regime_methods.{regime}: {computed})"
            )
    extra = sorted(set(block["seeds"] or []) - set(dataset_seeds(config, name)))
    if extra:
        errors.append(f"{at}.seeds: {extra} are not seeds of {name!r}")
    n_eval = ds["evaluation"]["n_test"]
    if n_eval is not None and block["n_test"] > n_eval:
        errors.append(f"{at}.n_test: {block['n_test']} exceeds evaluation.n_test {n_eval}")
    return errors


def _attribution_errors(config: dict, name: str) -> list[str]:
    """Each method block that cannot run (unknown name, Captum class, import path, parameters), checked
    without importing torch, Captum or a researcher's module (``registry.method_errors(load=False)``)."""
    from manifold_xai.attribution.registry import method_errors

    at = f"datasets.{name}.attributions"
    blocks = config["datasets"][name]["attributions"]
    return [
        f"{at}.{method}: {error}"
        for method, block in blocks.items()
        for error in method_errors(method, block, blocks, load=False)
    ]


def _study_errors(config: dict) -> list[str]:
    study, errors = config.get("study"), []
    if study is None:
        return errors
    names = [t["name"] for t in study["tasks"]]
    if len(set(names)) < len(names):
        errors.append(f"study.tasks: task names must be unique, got {names}")
    for i, task in enumerate(study["tasks"]):
        at, ds = f"study.tasks.{i}", config["datasets"].get(task["dataset"])
        if ds is None:
            errors.append(
                f"{at}.dataset: no dataset {task['dataset']!r} in this config ({sorted(config['datasets'])})"
            )
            continue
        if "standard" not in ds["classifier"]["regimes"]:
            errors.append(f"{at}.dataset: {task['dataset']!r} does not run the standard regime")
        needed = {
            "tangent_vs_orthogonal": ["gradient"],
            "method_pairs": task["methods"],
            "fixed_pair": [task["method_a"], task["method_b"]],
        }[task["protocol"]]
        missing = [m for m in needed if m not in ds["attributions"]]
        if missing:
            errors.append(
                f"{at}: methods {missing} are not configured under datasets.{task['dataset']}.attributions"
            )
    return errors


def external_regimes(config: dict) -> None:
    """A dataset whose classifier is given (``classifier.external``) has the one regime ``external``:
    nothing is trained, so the training regimes are absent, and so are the settings keyed by them
    (``regime_seeds``, ``regime_methods``); the counterfactual walks walk the external run."""
    for ds in config["datasets"].values():
        clf = ds["classifier"]
        if clf["external"] is not None:
            clf["regimes"] = ["external"]
            for key in ("regime_seeds", "regime_methods"):
                clf[key] = {r: v for r, v in clf[key].items() if r == "external"}
            if ds["evaluation"]["counterfactuals"] is not None:
                ds["evaluation"]["counterfactuals"]["regimes"] = None


def cross_field_errors(config: dict) -> list[str]:
    errors = _study_errors(config)
    for name, ds in config["datasets"].items():
        at = f"datasets.{name}"
        if ds["approach"] == "upsampled":
            errors += _upsample_errors(config, name)
            if errors:
                continue
        elif ds["approach"] == "analytic":
            errors += _analytic_errors(config, name)
        else:
            errors += _manifold_errors(config, name)
        if not ds["classifier"]["regimes"] and ds["approach"] != "analytic":
            errors.append(
                f"datasets.{name}.classifier.regimes: empty (tangent spaces only) is for analytic "
                f"ground truths; a {ds['approach']} dataset needs at least one regime"
            )
        errors += _tangent_source_errors(config, name) + _evaluation_errors(config, name)
        clf = ds["classifier"]
        if "external" in clf["regimes"] and clf["external"] is None:
            errors.append(
                f"{at}.classifier.regimes: 'external' is the regime of a classifier given under "
                f"{at}.classifier.external, which is not set"
            )
        else:  # what is keyed by the regimes is checked against regimes that can run
            errors += _directed_errors(config, name) + _counterfactual_errors(config, name)
            errors += _regime_subset_errors(config, name)
        errors += _attribution_errors(config, name) + _sample_size_errors(config, name)
        shape, k = image_shape(config, name), latent_dim(config, name)
        d = None if shape is None else shape[0] * shape[1] * shape[2]
        if d is not None and k is not None and k >= d:
            key = (
                "latent_dim"
                if ds["approach"] == "upsampled" or ds["manifold"]["model"] != "autoencoder"
                else "latent_channels"
            )
            errors.append(
                f"{at}.manifold.{key}: {k} must be smaller than the image dimension {d} "
                f"(latent dimension k; images {shape})"
            )
        trained = ds["classifier"]["external"] is None  # else no checkpoints: no training curves
        unknown = [m for m in ds["evaluation"]["curves"]["methods"] if m not in ds["attributions"]]
        if trained and unknown:
            errors.append(
                f"{at}.evaluation.curves.methods: {unknown} are not configured under "
                f"{at}.attributions ({sorted(ds['attributions'])})"
            )
        n_eval, n_curves = ds["evaluation"]["n_test"], ds["evaluation"]["curves"]["n_test"]
        if trained and n_eval is not None and n_curves > n_eval:
            errors.append(
                f"{at}.evaluation.curves.n_test: {n_curves} exceeds evaluation.n_test {n_eval} "
                f"(the curves project onto the stored tangent spaces)"
            )
        if clf["external"] is not None:
            continue  # nothing is trained: the architecture keys do not apply
        if shape is not None and min(shape[1:]) < MIN_IMAGE_SIZE[clf["arch"]]:
            errors.append(
                f"{at}.classifier.arch: {clf['arch']} needs images of at least "
                f"{MIN_IMAGE_SIZE[clf['arch']]} pixels, the images are {shape[1]}x{shape[2]}"
            )
        if clf["pretrained"] and (
            clf["arch"] != "resnet18" or (shape is not None and shape[0] != 3)
        ):
            errors.append(
                f"{at}.classifier.pretrained: ImageNet weights exist for resnet18 on 3-channel "
                f"images only (arch {clf['arch']}, images {shape})"
            )
    return errors


def _manifold_errors(config: dict, name: str) -> list[str]:
    ds, at = config["datasets"][name], f"datasets.{name}"
    m, shape = ds["manifold"], image_shape(config, name)
    errors = []
    if ds["approach"] == "generative" and m["model"] == "autoencoder":
        errors.append(
            f"{at}.manifold.model: the generative approach samples from a VAE prior; use btcvae "
            f"(or your own decoder: model external)"
        )
    if m["model"] == "btcvae" and shape is not None:
        side = shape[1]
        if shape[1] != shape[2] or side < 8 or side & (side - 1):
            errors.append(
                f"{at}.source.image_size: the Burgess VAE needs square images with a power-of-two "
                f"side >= 8, got {shape[1]}x{shape[2]}"
            )
    if (
        m["model"] == "autoencoder"
        and shape is not None
        and (shape[1] % m["stride"] or shape[2] % m["stride"])
    ):
        errors.append(
            f"{at}.manifold.stride: the image size {shape[1]}x{shape[2]} is not divisible by "
            f"the autoencoder stride {m['stride']}"
        )
    return errors


def _analytic_errors(config: dict, name: str) -> list[str]:
    ds, at = config["datasets"][name], f"datasets.{name}"
    if ds["source"]["kind"] != "torus":
        return [
            f"{at}.approach: analytic needs a source on a known manifold (kind torus), "
            f"got kind {ds['source']['kind']!r}"
        ]
    if not ds["classifier"]["regimes"] and len(tangent_sources(config, name)) < 2:
        return [
            f"{at}.classifier.regimes: empty (tangent spaces only) leaves nothing to run without "
            f"a second tangent source to compare (tangent_sources.sources)"
        ]
    # The β-TCVAE of the `vae` tangent source is trained on the rendered images.
    return _manifold_errors(config, name) if "vae" in tangent_sources(config, name) else []


def _tangent_source_errors(config: dict, name: str) -> list[str]:
    ds, at = config["datasets"][name], f"datasets.{name}.tangent_sources"
    sources, errors = tangent_sources(config, name), []
    if "exact" in sources and ds["approach"] != "analytic":
        errors.append(
            f"{at}.sources: exact tangent spaces exist only for the analytic approach "
            f"(a torus source); {name!r} is {ds['approach']}"
        )
    if "vae" in sources and ds["approach"] == "analytic" and ds["manifold"]["model"] != "btcvae":
        errors.append(
            f"{at}.sources: the vae source of an analytic dataset is a β-TCVAE (manifold.model btcvae)"
        )
    if "local_pca" in sources:
        k, neighbours = local_pca_k(config, name), ds["tangent_sources"]["local_pca"]["neighbours"]
        shape = image_shape(config, name)
        if k is not None and neighbours < k:
            errors.append(
                f"{at}.local_pca.neighbours: {neighbours} neighbours cannot span k = {k} directions"
            )
        if k is not None and shape is not None and k >= shape[0] * shape[1] * shape[2]:
            errors.append(f"{at}.local_pca.k: {k} must be smaller than the image dimension")
    if {"denoiser", "flipd", "denoiser_mle"} & set(sources):  # these read the denoiser's store
        errors += _denoiser_errors(ds["tangent_sources"]["denoiser"], image_shape(config, name), at)
    return errors


def _denoiser_errors(p: dict, shape, at: str) -> list[str]:
    errors = []
    if p["sigma_min"] > p["sigma_max"]:
        errors.append(
            f"{at}.denoiser.sigma_min: {p['sigma_min']} is above sigma_max {p['sigma_max']}"
        )
    elif not p["sigma_min"] <= p["sigma"] <= p["sigma_max"]:
        errors.append(
            f"{at}.denoiser.sigma: {p['sigma']} lies outside the training noise levels "
            f"[{p['sigma_min']}, {p['sigma_max']}]"
        )
    if p["k"] != "auto" and p["k"] > p["max_k"]:
        errors.append(f"{at}.denoiser.k: {p['k']} is above max_k {p['max_k']}")
    if shape is not None:
        if shape[1] % 4 or shape[2] % 4:
            errors.append(
                f"{at}.denoiser: the denoiser needs image sides that are multiples of 4, "
                f"got {shape[1]}×{shape[2]}"
            )
        if p["max_k"] + p["oversample"] > shape[0] * shape[1] * shape[2]:
            errors.append(
                f"{at}.denoiser.max_k: max_k + oversample = {p['max_k'] + p['oversample']} "
                f"exceeds the image dimension"
            )
    return errors


def _upsample_errors(config: dict, name: str) -> list[str]:
    ds, at = config["datasets"][name], f"datasets.{name}"
    base = ds["upsample"]["base"]
    if base not in config["datasets"]:
        return [
            f"{at}.upsample.base: no dataset {base!r} in this config ({sorted(config['datasets'])})"
        ]
    if config["datasets"][base]["approach"] != "generative":
        return [f"{at}.upsample.base: {base!r} must use the generative approach"]
    missing = sorted(set(dataset_seeds(config, name)) - set(dataset_seeds(config, base)))
    if missing:
        return [f"{at}.seeds: seeds {missing} are not seeds of the base dataset {base!r}"]
    base_side = image_shape(config, base)[1]
    if ds["upsample"]["image_size"] <= base_side:
        return [
            f"{at}.upsample.image_size: {ds['upsample']['image_size']} must exceed {base!r}'s {base_side}"
        ]
    return []


def _sample_size_errors(config: dict, name: str) -> list[str]:
    """Sample sizes above what the dataset holds, where the config fixes its size (``split_sizes``):
    refused here rather than clamped in a job."""
    sizes = split_sizes(config, name)
    if sizes is None:
        return []
    ds, at = config["datasets"][name], f"datasets.{name}"
    n_train, n_test = sizes
    asked = [("evaluation.n_test", ds["evaluation"]["n_test"], n_test, "test")]
    if ds["evaluation"]["robustness"] is not None:
        asked.append(
            (
                "evaluation.robustness.n_test",
                ds["evaluation"]["robustness"]["n_test"],
                n_test,
                "test",
            )
        )
    for block in ("roar", "sanity"):
        if ds[block] is not None:
            asked.append((f"{block}.n_test", ds[block].get("n_test"), n_test, "test"))
    if ds["roar"] is not None:
        asked.append(("roar.n_train", ds["roar"].get("n_train"), n_train, "training"))
    random_labels = ds["classifier"].get("random_labels") or {}
    if "random_labels" in ds["classifier"]["regimes"]:
        asked.append(
            ("classifier.random_labels.n_train", random_labels.get("n_train"), n_train, "training")
        )
    return [
        f"{at}.{key}: {value} exceeds the {held} {what} samples {name} holds"
        for key, value, held, what in asked
        if value is not None and value > held
    ]
