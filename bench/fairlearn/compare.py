#!/usr/bin/python3
"""One evaluator for every decision file of the Fairlearn study (ours-*, fairlearn-*, base-threshold).

For every <out>/<dataset>/split-<k>/ it joins each decision file (Id,Decision) to heldout.csv and measures, on the
held-out rows: accuracy; global disparity I(Z;Ŷ), local disparity I(Z;Ŷ|S) and the equalized-odds disparity I(Z;Ŷ|Y)
in bits, plug-in and Miller–Madow bias-corrected; the demographic parity difference (max − min selection rate over
groups), the largest within-client parity gap, and the equalized-odds difference (max of the TPR and FPR
differences over groups). Then, per data set, mean ± sd over splits per variant, and the paired comparisons
(ours vs Fairlearn at the same constraint, ours unconstrained vs the model's 0.5 threshold).

Writes <out>/metrics.csv (one row per split and variant) and <out>/results.md (the tables), and prints the latter.
Does not import Fairlearn.
"""
import argparse
import glob
import json
import math
import os
import subprocess
import sys

import numpy as np
import pandas as pd
from scipy import stats

LN2 = math.log(2)

# Paired comparisons, in one place: (title, ours, theirs, disparity measures that constraint is about).
PAIRINGS = [
    ("unconstrained vs 0.5 threshold", "ours-unconstrained", "base-threshold", ["I_g_mm", "dp_diff"]),
    ("global parity: ours global vs Fairlearn DP on Z", "ours-global", "fairlearn-dp-group", ["I_g_mm", "dp_diff"]),
    ("local parity: ours local vs Fairlearn DP on Z per client", "ours-local", "fairlearn-dp-per-client", ["I_l_mm", "client_gap"]),
    ("global+local: ours vs Fairlearn DP on Client×Z", "ours-global+local", "fairlearn-dp-client×group", ["I_g_mm", "I_l_mm", "dp_diff", "client_gap"]),
    ("equalized odds: ours I(Z;Ŷ|Y) = 0 vs Fairlearn equalized_odds", "ours-equalized-odds", "fairlearn-equalized-odds", ["I_eo_mm", "eo_diff"]),
    ("equal opportunity: ours I(Z;Ŷ|Y=1) = 0 vs Fairlearn TPR parity", "ours-equal-opportunity", "fairlearn-tpr-parity", ["I_eop_mm", "tpr_diff"]),
]

# Order of the variants in the tables; others (new ours-* or fairlearn-* files) follow alphabetically.
ORDER = ["base-threshold", "ours-unconstrained", "ours-global", "fairlearn-dp-group", "ours-local", "fairlearn-dp-per-client",
         "ours-global+local", "fairlearn-dp-client×group", "ours-global-0.002", "ours-global+local-0.002",
         "ours-equalized-odds", "fairlearn-equalized-odds", "ours-equal-opportunity", "fairlearn-tpr-parity"]

# Columns of the main table: (metric, header, scale, decimals).
COLUMNS = [("accuracy", "accuracy %", 100, 2), ("I_g", "I(Z;Ŷ) mbit", 1000, 2), ("I_g_mm", "I(Z;Ŷ) MM mbit", 1000, 2),
           ("I_l", "I(Z;Ŷ|S) mbit", 1000, 2), ("I_l_mm", "I(Z;Ŷ|S) MM mbit", 1000, 2), ("I_eo", "I(Z;Ŷ|Y) mbit", 1000, 2),
           ("I_eo_mm", "I(Z;Ŷ|Y) MM mbit", 1000, 2), ("dp_diff", "DP diff pt", 100, 2), ("client_gap", "max client gap pt", 100, 1),
           ("eo_diff", "EO diff pt", 100, 2), ("I_eop_mm", "I(Z;Ŷ|Y=1) MM mbit", 1000, 2), ("tpr_diff", "TPR diff pt", 100, 2),
           ("fit_ms", "fit ms", 1, 0)]
LABELS = {c[0]: c[1] for c in COLUMNS}


# --------------------------------------------------------------------------------------------------- measures
def entropy(counts):
    """Plug-in and Miller–Madow entropies (bits) of a table of counts."""
    c = np.asarray(counts, dtype=float).ravel()
    c = c[c > 0]
    n = c.sum()
    p = c / n
    h = -(p * np.log(p)).sum()
    return h / LN2, (h + (len(c) - 1) / (2 * n)) / LN2


def conditional_mi(joint):
    """I(Z;Ŷ|S) = H(Z,S) + H(Ŷ,S) − H(Z,Ŷ,S) − H(S) from counts joint[z, ŷ, s], plug-in and with every entropy
    Miller–Madow corrected. With one s this is I(Z;Ŷ)."""
    terms = [(joint.sum(axis=1), 1), (joint.sum(axis=0), 1), (joint, -1), (joint.sum(axis=(0, 1)), -1)]
    hs = [(entropy(t), sign) for t, sign in terms]
    return sum(sign * h[0] for h, sign in hs), sum(sign * h[1] for h, sign in hs)


def spread(positives, totals):
    """max − min of positives/totals over the entries with totals > 0 (0 with fewer than two)."""
    rates = positives[totals > 0] / totals[totals > 0]
    return float(rates.max() - rates.min()) if len(rates) >= 2 else 0.0


class HeldOut:
    """A split's held-out rows as integer codes, so that every decision vector is measured with a few bincounts."""

    def __init__(self, held):
        self.frame = held
        self.z, self.groups = pd.factorize(held["Group"])
        self.s, self.clients = pd.factorize(held["Client"])
        self.y = held["Label"].to_numpy().astype(int)
        self.nz, self.ns = len(self.groups), len(self.clients)
        self.index = pd.Index(held["Id"].astype(str))
        if not self.index.is_unique:
            raise ValueError("heldout.csv: Ids are not unique")

    def joint(self, d, third, n3):
        """counts[z, ŷ, third]"""
        return np.bincount((self.z * 2 + d) * n3 + third, minlength=self.nz * 2 * n3).reshape(self.nz, 2, n3).astype(float)

    def measure(self, d):
        m = {"accuracy": float((d == self.y).mean()), "selection_rate": float(d.mean())}
        by_client = self.joint(d, self.s, self.ns)
        by_label = self.joint(d, self.y, 2)
        m["I_g"], m["I_g_mm"] = conditional_mi(by_client.sum(axis=2, keepdims=True))
        m["I_l"], m["I_l_mm"] = conditional_mi(by_client)
        m["I_eo"], m["I_eo_mm"] = conditional_mi(by_label)
        m["I_eop"], m["I_eop_mm"] = conditional_mi(by_label[:, :, 1:2])  # I(Z;Ŷ|Y=1): the positive rows only
        zg = by_client.sum(axis=2)
        m["dp_diff"] = spread(zg[:, 1], zg.sum(axis=1))
        m["client_gap"] = max(spread(by_client[:, 1, s], by_client[:, :, s].sum(axis=1)) for s in range(self.ns))
        m["eo_diff"] = max(spread(by_label[:, 1, y], by_label[:, :, y].sum(axis=1)) for y in (0, 1))
        m["tpr_diff"] = spread(by_label[:, 1, 1], by_label[:, :, 1].sum(axis=1))
        return m


# --------------------------------------------------------------------------------------------------- reading
def collect(out):
    """Every split of the folders and seeds of study.py's last run (study.json), or all of them without one."""
    meta = json.load(open(os.path.join(out, "study.json"))) if os.path.exists(os.path.join(out, "study.json")) else {}
    rows, notes = [], []
    folders = meta.get("folders") or sorted(os.path.basename(d) for d in glob.glob(os.path.join(out, "*")) if glob.glob(os.path.join(d, "split-*")))
    for dataset in folders:
        dataset_dir = os.path.join(out, dataset)
        splits = sorted(glob.glob(os.path.join(dataset_dir, "split-*")), key=lambda p: int(p.rsplit("-", 1)[1]))
        splits = [p for p in splits if int(p.rsplit("-", 1)[1]) < meta.get("splits", len(splits) + 10**9)]
        for split_dir in splits:
            k = int(split_dir.rsplit("-", 1)[1])
            held = pd.read_csv(os.path.join(split_dir, "heldout.csv"), dtype={"Id": str, "Client": str, "Group": str})
            held["Label"] = held["Label"].astype(str).str.lower().eq("true")
            codes = HeldOut(held)
            names = {os.path.splitext(os.path.basename(f))[0] for f in glob.glob(os.path.join(split_dir, "*"))
                     if f.endswith((".csv", ".error"))} - {"fit", "heldout"}
            for name in sorted(names):
                stem = os.path.join(split_dir, name)
                info = json.load(open(stem + ".json")) if os.path.exists(stem + ".json") else {}
                if os.path.exists(stem + ".error"):
                    notes.append({"dataset": dataset, "split": k, "variant": name, "kind": "error",
                                  "message": open(stem + ".error").read().strip()})
                    continue
                for refusal in info.get("refusals", []):
                    notes.append({"dataset": dataset, "split": k, "variant": name, "kind": "client refused",
                                  "message": f"client {refusal['client']}: {refusal['message']}"})
                if info.get("unseen_rows"):
                    notes.append({"dataset": dataset, "split": k, "variant": name, "kind": "unseen cell rows",
                                  "message": f"{info['unseen_rows']} held-out rows of a cell not in the fit rows got the 0.5 threshold"})
                dec = pd.read_csv(stem + ".csv", dtype={"Id": str, "Decision": str})
                position = codes.index.get_indexer(dec["Id"])
                values = dec["Decision"].str.lower().map({"1": 1, "0": 0, "true": 1, "false": 0})
                if len(dec) != len(held) or (position < 0).any() or len(np.unique(position)) != len(held) or values.isna().any():
                    raise ValueError(f"{stem}.csv: the decisions do not cover heldout.csv's {len(held)} rows once each with 0/1")
                d = np.empty(len(held), dtype=int)
                d[position] = values.to_numpy().astype(int)
                m = codes.measure(d)
                m.update(dataset=dataset, split=k, variant=name, fit_ms=1000 * info["fit_seconds"] if "fit_seconds" in info else np.nan,
                         fallback_rows=info.get("fallback_rows", 0))
                rows.append(m)
    return pd.DataFrame(rows), pd.DataFrame(notes, columns=["dataset", "split", "variant", "kind", "message"])


# --------------------------------------------------------------------------------------------------- tables
def esc(text):
    """A markdown table cell: '|' (as in I(Z;Ŷ|S)) escaped."""
    return str(text).replace("|", "\\|")


def fmt(mean, sd, decimals):
    if np.isnan(mean):
        return "–"
    return f"{mean:.{decimals}f} ± {sd:.{decimals}f}"


def order_key(name):
    return (ORDER.index(name), name) if name in ORDER else (len(ORDER), name)


def variant_table(df):
    lines = ["| variant | n | " + " | ".join(esc(c[1]) for c in COLUMNS) + " |", "|---|---:|" + "---:|" * len(COLUMNS)]
    for name in sorted(df["variant"].unique(), key=order_key):
        g = df[df["variant"] == name]
        cells = [fmt(g[c].mean() * scale, g[c].std(ddof=1) * scale, dec) if g[c].notna().any() else "–" for c, _, scale, dec in COLUMNS]
        lines.append(f"| {name} | {len(g)} | " + " | ".join(cells) + " |")
    return lines


def common_splits(df, ours, theirs):
    """Splits where both sides decided every held-out row themselves (a Fairlearn client refusal that fell back to
    the 0.5 threshold excludes the split), and how many more both decided."""
    a, b = df[df["variant"] == ours], df[df["variant"] == theirs]
    both = set(a["split"]) & set(b["split"])
    clean = both - set(a.loc[a["fallback_rows"] > 0, "split"]) - set(b.loc[b["fallback_rows"] > 0, "split"])
    return sorted(clean), len(both) - len(clean)


def paired(df, ours, theirs, column):
    splits, _ = common_splits(df, ours, theirs)
    a = df[df["variant"] == ours].set_index("split")[column]
    b = df[df["variant"] == theirs].set_index("split")[column]
    return (a[splits] - b[splits]).to_numpy()


def ci95(diff):
    if len(diff) < 2:
        return np.nan
    return stats.t.ppf(0.975, len(diff) - 1) * diff.std(ddof=1) / math.sqrt(len(diff))


def pairing_table(df):
    lines = ["| pairing | n | Δ accuracy pt (ours − theirs), mean ± 95% CI | ours wins / ties / losses | Δ disparity (ours − theirs), mean ± 95% CI | ours no more disparity? |",
             "|---|---:|---:|:---:|---|---|"]
    for title, ours, theirs, measures in PAIRINGS:
        diff = paired(df, ours, theirs, "accuracy")
        excluded = common_splits(df, ours, theirs)[1]
        n = f"{len(diff)}" + (f" ({excluded} excl.)" if excluded else "")
        if len(diff) == 0:
            lines.append(f"| {title} (`{ours}` vs `{theirs}`) | {n} | – | – | – | – |")
            continue
        wins, ties, losses = int((diff > 1e-12).sum()), int((np.abs(diff) <= 1e-12).sum()), int((diff < -1e-12).sum())
        parts, verdicts = [], []
        for mname in measures:
            dd = paired(df, ours, theirs, mname)
            scale, unit = (1000, "mbit") if mname.startswith("I_") else (100, "pt")
            h = ci95(dd)
            parts.append(f"{esc(LABELS[mname]).rsplit(' ', 1)[0]}: {dd.mean() * scale:+.2f} ± {h * scale:.2f} {unit} (ours ≤ in {int((dd <= 1e-12).sum())}/{len(dd)})")
            verdicts.append("yes" if dd.mean() <= 0 else ("≈ (within CI)" if dd.mean() - h <= 0 else "no"))
        verdict = "yes" if all(v == "yes" for v in verdicts) else ("no" if "no" in verdicts else "≈ (within CI)")
        if ours == "ours-unconstrained":
            verdict = "n/a (no constraint)"
        lines.append(f"| {title} (`{ours}` vs `{theirs}`) | {n} | {diff.mean() * 100:+.2f} ± {ci95(diff) * 100:.2f} | "
                     f"{wins} / {ties} / {losses} | {'<br>'.join(parts)} | {verdict} |")
    return lines


def notes_lines(notes, df):
    if notes.empty and not (df["fallback_rows"] > 0).any():
        return ["No refusals or errors."]
    lines = ["| data set | variant | kind | splits | first message |", "|---|---|---|---:|---|"]
    for (dataset, variant, kind), g in notes.groupby(["dataset", "variant", "kind"], sort=True):
        lines.append(f"| {dataset} | {variant} | {kind} | {g['split'].nunique()} ({len(g)} in all) | {esc(g['message'].iloc[0])} |")
    fb = df[df["fallback_rows"] > 0].groupby(["dataset", "variant"])["fallback_rows"].agg(["count", "mean"])
    for (dataset, variant), r in fb.iterrows():
        lines.append(f"| {dataset} | {variant} | rows of refused clients kept the 0.5 threshold | {int(r['count'])} | {r['mean']:.0f} held-out rows per such split |")
    return lines


def describe_run(out):
    parts = []
    meta_path = os.path.join(out, "study.json")
    if os.path.exists(meta_path):
        meta = json.load(open(meta_path))
        parts.append(f"Fairlearn {meta.get('fairlearn')} ({meta.get('fairlearn_commit', '?')[:10]}), scikit-learn {meta.get('sklearn')}, "
                     f"base model {meta.get('models')}, {meta.get('splits')} splits (seeds 0..{int(meta.get('splits', 1)) - 1})")
    try:
        here = os.path.dirname(os.path.abspath(__file__))
        head = subprocess.run(["git", "-C", here, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", here, "status", "--porcelain", "--", "../../src"], capture_output=True, text=True).stdout.strip()
        parts.append(f"MLExtensions {head}{' + uncommitted changes under src/' if dirty else ''}")
    except OSError:
        pass
    return "; ".join(parts)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--markdown", help="where to write the tables (default <out>/results.md)")
    a = ap.parse_args()
    df, notes = collect(a.out)
    if df.empty:
        sys.exit(f"No decisions under {a.out}: run study.py and the bench mode first.")
    df.to_csv(os.path.join(a.out, "metrics.csv"), index=False)
    lines = ["# Fairness mitigator vs Fairlearn ThresholdOptimizer: held-out rows", "", describe_run(a.out), "",
             "Splits: 50 % base model / 25 % fit (mitigators) / 25 % held-out (everything below). Mean ± sd over splits; "
             "information in millibits (MM: Miller–Madow bias-corrected, may be < 0); pt: percentage points. "
             "DP diff: max − min selection rate over Z; max client gap: the largest DP diff within a client; "
             "EO diff: max of the TPR and FPR differences over Z. fit ms: fit time of the mitigator (Fairlearn: all its fits for the variant).", ""]
    for dataset in sorted(df["dataset"].unique()):
        d = df[df["dataset"] == dataset]
        lines += [f"## {dataset}", ""] + variant_table(d) + ["", "Paired over splits (n: splits where both sides decided every held-out row; excl.: splits left out because a "
                 "Fairlearn client refusal fell back to the 0.5 threshold). Verdict: yes when the mean difference of every "
                 "listed disparity is ≤ 0, ≈ when a positive one is within its 95% CI, no otherwise:", ""] + pairing_table(d) + [""]
    lines += ["## Refusals and errors", ""] + notes_lines(notes, df) + [""]
    text = "\n".join(lines)
    path = a.markdown or os.path.join(a.out, "results.md")
    with open(path, "w") as f:
        f.write(text)
    print(text)
    print(f"\n(written to {path}; per-split metrics in {os.path.join(a.out, 'metrics.csv')})")


if __name__ == "__main__":
    main()
