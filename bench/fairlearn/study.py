#!/usr/bin/python3
"""Splits, base-model scores and Fairlearn's decisions for the side-by-side with our FairnessMitigator.

For every data set and split seed: rows are split 50/25/25 at random into base / fit / held-out; a base model
(sklearn) is trained on the base rows and scores the fit and held-out rows. The scores (rounded to float32, the
type our mitigator reads, and used as such by Fairlearn too, so both sides see the same numbers) are written to

    <out>/<dataset>/split-<k>/fit.csv       Id,Client,Group,Label,Probability
    <out>/<dataset>/split-<k>/heldout.csv   Id,Client,Group,Label,Probability

then Fairlearn's ThresholdOptimizer variants are fitted on the fit rows and decide the held-out rows:

    fairlearn-<variant>.csv   Id,Decision (1/0)
    fairlearn-<variant>.json  fit seconds, refusals, fallbacks
    fairlearn-<variant>.error the message, when Fairlearn refused the whole fit (no .csv then)

and the baseline `base-threshold.csv` (the model's own decision, probability > 0.5). The bench mode
`--fairlearn-study <out>` adds ours-<variant>.csv, compare.py evaluates every decision file the same way.

Fairlearn is imported from FAIRLEARN_PATH (default /work/.cache/fairlearn-0.12); it is not part of this project.
"""
import argparse
import hashlib
import json
import os
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from functools import lru_cache

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

sys.path.insert(0, os.environ.get("FAIRLEARN_PATH", "/work/.cache/fairlearn-0.12"))
import fairlearn  # noqa: E402
from fairlearn.postprocessing import ThresholdOptimizer  # noqa: E402

DATA = os.environ.get("MLX_SHARED_DATA", "/work/shared/data")


# --------------------------------------------------------------------------------------------------- data sets
# Each loader returns (features DataFrame, categorical columns, numeric columns, label bool array,
# group (sensitive Z) str array, client (S) str array). Ids are the row numbers of the loaded frame.

def load_adult():
    cols = ["age", "workclass", "fnlwgt", "education", "education_num", "marital", "occupation", "relationship",
            "race", "sex", "capital_gain", "capital_loss", "hours", "country", "income"]
    train = pd.read_csv(f"{DATA}/adult/adult.data", header=None, names=cols, skipinitialspace=True)
    test = pd.read_csv(f"{DATA}/adult/adult.test", header=None, names=cols, skipinitialspace=True, skiprows=1)
    df = pd.concat([train, test], ignore_index=True).dropna(subset=["income"])
    y = df["income"].str.rstrip(".").eq(">50K").to_numpy()
    # Clients: the employer sector (workclass), a natural "institution" grouping with 6 large values; the rare
    # Without-pay (21 rows) and Never-worked (10) join the unknown '?' (2,799) as Other, so every client has
    # both sexes and both labels in its fit rows. Race would also give 5 groups, but it is a sensitive attribute
    # itself, not a client.
    client = df["workclass"].replace({"?": "Other", "Without-pay": "Other", "Never-worked": "Other"}).to_numpy()
    group = df["sex"].to_numpy()
    cat = ["workclass", "education", "marital", "occupation", "relationship", "race", "sex", "country"]
    num = ["age", "education_num", "capital_gain", "capital_loss", "hours"]  # fnlwgt is a sampling weight, not a feature
    return df[cat + num], cat, num, y, group, client


def load_wvs():
    df = pd.read_csv(f"{DATA}/wvs.csv")
    # Label: the respondent thinks the government does too little about poverty (50 % of rows).
    y = df["poverty"].eq("Too Little").to_numpy()
    return df[["religion", "degree", "country", "gender", "age"]], ["religion", "degree", "country", "gender"], ["age"], \
        y, df["gender"].to_numpy(), df["country"].to_numpy()


def load_titanic():
    df = pd.read_csv(f"{DATA}/titanic.csv")
    y = df["survived"].eq("yes").to_numpy()
    X = pd.DataFrame({"sex": df["sex"], "passengerClass": df["passengerClass"],
                      "age": df["age"].fillna(df["age"].median()), "age_missing": df["age"].isna().astype(float)})
    return X, ["sex", "passengerClass"], ["age", "age_missing"], y, df["sex"].to_numpy(), df["passengerClass"].to_numpy()


DATASETS = {"adult": load_adult, "wvs": load_wvs, "titanic": load_titanic}


@lru_cache(maxsize=None)
def load(dataset):
    return DATASETS[dataset]()


def base_model(kind, cat, num):
    if kind == "lr":
        pre = ColumnTransformer([("cat", OneHotEncoder(handle_unknown="ignore"), cat), ("num", StandardScaler(), num)])
        return make_pipeline(pre, LogisticRegression(max_iter=2000))
    if kind == "hgb":
        pre = ColumnTransformer([("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), cat), ("num", "passthrough", num)])
        return make_pipeline(pre, HistGradientBoostingClassifier(random_state=0))
    raise ValueError(f"unknown model {kind}")


# --------------------------------------------------------------------------------------------------- Fairlearn
class GivenScores(ClassifierMixin, BaseEstimator):
    """A 'prefit' estimator whose predict_proba returns the probability given as the only feature, so Fairlearn
    thresholds exactly the scores our mitigator reads."""

    def fit(self, X, y=None):
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X):
        p = np.asarray(X, dtype=float)[:, 0]
        return np.column_stack([1 - p, p])


def threshold_optimizer(constraints):
    return ThresholdOptimizer(estimator=GivenScores().fit(None), constraints=constraints, objective="accuracy_score",
                              prefit=True, predict_method="predict_proba")


def fairlearn_decide(constraints, fit, held, sensitive, seed):
    """Fits one ThresholdOptimizer on the fit rows with the given sensitive feature (a column function of a frame)
    and decides the held-out rows. Held-out rows of a sensitive value not seen in the fit rows (Fairlearn would
    silently decide 0) get the base threshold instead and are counted."""
    to = threshold_optimizer(constraints)
    clock = time.perf_counter()
    to.fit(fit[["Probability"]].to_numpy(), fit["Label"].astype(int).to_numpy(), sensitive_features=sensitive(fit))
    fit_seconds = time.perf_counter() - clock
    s_held = sensitive(held)
    seen = np.isin(s_held, np.unique(sensitive(fit)))
    decision = (held["Probability"].to_numpy() > 0.5).astype(int)
    if seen.any():
        decision[seen] = to.predict(held[["Probability"]].to_numpy()[seen], sensitive_features=s_held[seen], random_state=seed)
    return decision, int((~seen).sum()), fit_seconds


def run_fairlearn(name, constraints, mode, fit, held, seed, directory):
    info = {"variant": name, "constraints": constraints, "sensitive": mode, "refusals": [], "unseen_rows": 0, "fallback_rows": 0,
            "fit_seconds": 0.0}
    try:
        if mode == "group":
            decision, info["unseen_rows"], info["fit_seconds"] = fairlearn_decide(constraints, fit, held, lambda d: d["Group"].to_numpy(), seed)
        elif mode == "client×group":
            decision, info["unseen_rows"], info["fit_seconds"] = fairlearn_decide(
                constraints, fit, held, lambda d: (d["Client"] + "/" + d["Group"]).to_numpy(), seed)
        elif mode == "per-client":
            # One optimizer per client (DP on Group within the client). A client Fairlearn refuses keeps the base
            # threshold for its held-out rows; the refusal is recorded. Clients absent from the fit rows likewise.
            decision = (held["Probability"].to_numpy() > 0.5).astype(int)
            for client in np.unique(held["Client"]):
                rows = (held["Client"] == client).to_numpy()
                fit_rows = fit[fit["Client"] == client]
                if len(fit_rows) == 0:
                    info["refusals"].append({"client": client, "message": "client not in the fit rows"})
                    info["fallback_rows"] += int(rows.sum())
                    continue
                try:
                    d, unseen, seconds = fairlearn_decide(constraints, fit_rows, held[rows], lambda d: d["Group"].to_numpy(), seed)
                    decision[rows] = d
                    info["unseen_rows"] += unseen
                    info["fit_seconds"] += seconds
                except Exception as e:  # noqa: BLE001 -- Fairlearn's refusal, recorded verbatim
                    info["refusals"].append({"client": client, "message": f"{type(e).__name__}: {e}"})
                    info["fallback_rows"] += int(rows.sum())
        else:
            raise ValueError(mode)
    except Exception as e:  # noqa: BLE001
        info["error"] = f"{type(e).__name__}: {e}"
        with open(os.path.join(directory, f"fairlearn-{name}.error"), "w") as f:
            f.write(info["error"] + "\n")
        with open(os.path.join(directory, f"fairlearn-{name}.json"), "w") as f:
            json.dump(info, f, indent=1)
        return
    write_decisions(os.path.join(directory, f"fairlearn-{name}.csv"), held["Id"], decision)
    with open(os.path.join(directory, f"fairlearn-{name}.json"), "w") as f:
        json.dump(info, f, indent=1)


# The Fairlearn side, in one place: (file name, constraints, sensitive feature).
#   dp-group          demographic parity on Z: "global parity"
#   dp-client×group   demographic parity on the cells Client×Group: the closest to our "global + local"
#                     (stricter: it also equalises rates across clients, which ours does not ask)
#   dp-per-client     one optimizer per client, DP on Z within it: "local parity"
#   equalized-odds, tpr-parity on Z: for the coming EqualizedOdds / EqualOpportunity constraints
FAIRLEARN_VARIANTS = [
    ("dp-group", "demographic_parity", "group"),
    ("dp-client×group", "demographic_parity", "client×group"),
    ("dp-per-client", "demographic_parity", "per-client"),
    ("equalized-odds", "equalized_odds", "group"),
    ("tpr-parity", "true_positive_rate_parity", "group"),
]


# --------------------------------------------------------------------------------------------------- splits
def write_rows(path, frame):
    frame.to_csv(path, index=False, columns=["Id", "Client", "Group", "Label", "Probability"], float_format="%.9g")


def write_decisions(path, ids, decision):
    pd.DataFrame({"Id": np.asarray(ids), "Decision": np.asarray(decision).astype(int)}).to_csv(path, index=False)


def stamp(dataset, model, seed):
    """What a split's files depend on: this script, Fairlearn, scikit-learn, the data file and the split. A split
    folder whose study-split.json holds the same stamp is reused (only our mitigator changes between runs)."""
    fairlearn_dir = os.path.dirname(fairlearn.__file__)
    commit_file = os.path.join(os.path.dirname(fairlearn_dir), "COMMIT")
    return {"script": hashlib.sha256(open(__file__, "rb").read()).hexdigest()[:16], "fairlearn": fairlearn.__version__,
            "fairlearn_commit": open(commit_file).read().strip() if os.path.exists(commit_file) else "unknown",
            "sklearn": __import__("sklearn").__version__, "numpy": np.__version__, "pandas": pd.__version__,
            "data": DATA, "dataset": dataset, "model": model, "seed": seed}


def split_dir(out, dataset, model, seed):
    return os.path.join(out, dataset if model == "lr" else f"{dataset}-{model}", f"split-{seed}")


def is_current(out, dataset, model, seed):
    path = os.path.join(split_dir(out, dataset, model, seed), "study-split.json")
    try:
        return json.load(open(path)) == stamp(dataset, model, seed)
    except (OSError, ValueError):
        return False


def one_split(args):
    dataset, model, seed, out = args
    X, cat, num, y, group, client = load(dataset)
    n = len(y)
    order = np.random.default_rng(seed).permutation(n)
    base, fit_idx, held_idx = order[: n // 2], order[n // 2: n // 2 + n // 4], order[n // 2 + n // 4:]
    clf = base_model(model, cat, num).fit(X.iloc[base], y[base])

    def frame(idx):
        # float32 is what our mitigator reads (a Single); Fairlearn gets the same float32 values.
        p = clf.predict_proba(X.iloc[idx])[:, 1].astype(np.float32).astype(np.float64)
        return pd.DataFrame({"Id": idx, "Client": client[idx].astype(str), "Group": group[idx].astype(str),
                             "Label": np.where(y[idx], "true", "false"), "Probability": p}).reset_index(drop=True)

    fit, held = frame(fit_idx), frame(held_idx)
    for col in ("Client", "Group"):
        bad = [v for v in set(fit[col]) | set(held[col]) if "," in v or '"' in v]
        if bad:
            raise ValueError(f"{dataset}: {col} values {bad} hold a comma or quote")
    directory = split_dir(out, dataset, model, seed)
    os.makedirs(directory, exist_ok=True)
    for stale in os.listdir(directory):  # a rerun never mixes old decisions in
        os.remove(os.path.join(directory, stale))
    write_rows(os.path.join(directory, "fit.csv"), fit)
    write_rows(os.path.join(directory, "heldout.csv"), held)
    write_decisions(os.path.join(directory, "base-threshold.csv"), held["Id"], held["Probability"] > 0.5)
    fit = fit.assign(Label=fit["Label"].eq("true"))
    held = held.assign(Label=held["Label"].eq("true"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for variant, constraints, mode in FAIRLEARN_VARIANTS:
            run_fairlearn(variant, constraints, mode, fit, held, seed, directory)
    with open(os.path.join(directory, "study-split.json"), "w") as f:  # last: a split cut short is redone
        json.dump(stamp(dataset, model, seed), f, indent=1)
    return directory


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--datasets", default="adult,wvs,titanic")
    ap.add_argument("--models", default="lr", help="lr and/or hgb (HistGradientBoosting), comma separated")
    ap.add_argument("--splits", type=int, default=30, help="seeds 0..splits-1")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--force", action="store_true", help="redo every split, even those whose files are current")
    a = ap.parse_args()
    if fairlearn.__version__ != "0.12.0":
        print(f"warning: Fairlearn {fairlearn.__version__} from {fairlearn.__file__}, the study expects 0.12.0", file=sys.stderr)
    models = a.models.split(",")
    all_jobs = [(d, m, s, a.out) for d in a.datasets.split(",") for m in models for s in range(a.splits)]
    jobs = [j for j in all_jobs if a.force or not is_current(a.out, j[0], j[1], j[2])]
    clock = time.perf_counter()
    if jobs:
        with ProcessPoolExecutor(max_workers=a.jobs) as pool:
            for _ in pool.map(one_split, jobs):
                pass
    first = stamp("", "", 0)
    meta = {k: first[k] for k in ("fairlearn", "fairlearn_commit", "sklearn", "numpy", "pandas")}
    meta.update(fairlearn_path=os.path.dirname(fairlearn.__file__), datasets=a.datasets, models=a.models, splits=a.splits,
                folders=sorted({os.path.basename(os.path.dirname(split_dir(a.out, d, m, 0))) for d, m, _, _ in all_jobs}),
                seconds=time.perf_counter() - clock, splits_made=len(jobs), splits_reused=len(all_jobs) - len(jobs))
    with open(os.path.join(a.out, "study.json"), "w") as f:
        json.dump(meta, f, indent=1)
    print(f"study.py: {len(jobs)} splits made in {meta['seconds']:.0f} s, {len(all_jobs) - len(jobs)} reused "
          f"(Fairlearn {fairlearn.__version__}, scikit-learn {meta['sklearn']})")


if __name__ == "__main__":
    main()
