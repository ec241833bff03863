"""Fit the refusal model once on the DEV splits of every dev corpus together; report test apart.

    python -m evals.calibrate_refusal [--max-frr 0.05] [--search] [--dump FILE | --rows FILE]
                                      [--cache DIR] [--dev-only]

For every question of the dev suites (playbook, cwe-dev, 18f-dev, npm-dev) and the test suites
(cwe-test, 18f-test, npm-test) it retrieves passages exactly as `rag.ask` does and computes the
answerability evidence (rag/answerability.py). A class-balanced logistic regression is fitted
on the dev questions only (those a rule does not already refuse: writing requests, bare
injections); the threshold is the highest one at which no dev corpus falsely refuses more than
`--max-frr` of its answerable questions. `--search` fits every subset of up to `--size`
features and ranks them by leave-one-corpus-out transfer (subsets giving a feature a negative
weight are skipped: more evidence must never lower the score; so are subsets that leave a
bundled-playbook question or a fixture-playbook test question wrong, evals/refusal_fixture.py,
and `--without` features, probe_ratio by default); the default feature set is the winner. It
prints the weights to freeze in rag/refusal.py, leave-one-corpus-out figures (fit on the other
dev corpora, judged on the held-out one: does it transfer?), and per-corpus figures for dev
and, separately and report-only, test, for the fitted and the frozen model.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from evals.suites import GROUPS
from rag.answerability import FEATURES

DEV = tuple(GROUPS["dev"])  # playbook, cwe-dev, 18f-dev, npm-dev
TEST = tuple(GROUPS["test"])
# the frozen model's features, see rag/refusal.py
CHOSEN = ("answer_type", "agreement", "typed_cos", "ask_coverage", "names_together")
Row = dict[str, Any]
Model = tuple[dict[str, float], float]  # (weights by feature, intercept)


def collect(names: Sequence[str], base: Any, progress: Callable[[str], None] | None = None,
            cache: Any = None) -> list[Row]:
    """One row per question: suite, gold, the rule that refuses it (if any), its features
    (indexes under `cache`, default the eval cache, built or refreshed first)."""
    from evals.suites import DEFAULT_CACHE, build_index, resolve, suite_settings, with_questions

    rows: list[Row] = []
    for name in names:
        suite = with_questions(resolve(name)[0])
        settings = suite_settings(suite, base, cache or DEFAULT_CACHE)
        if progress:
            progress(f"indexing {suite.corpus}")
        build_index(settings)
        for q in suite.questions:
            rows.append({"suite": name, "id": q.id, "refuse": q.refuse,
                         "topic": q.topic or ("in-scope" if not q.refuse else "general")}
                        | question_row(q.question, settings))
    return rows


def question_row(question: str, settings: Any) -> Row:
    """The rule verdict and the evidence features of one question, as `rag.ask` sees them."""
    from rag.api import clean_question, retrieve_passages
    from rag.refusal import question_evidence, rule, without_injection

    text = clean_question(question, settings)
    passages = retrieve_passages(without_injection(text) or text, settings)
    return {"rule": rule(text), "features": question_evidence(text, passages, settings).as_dict()}


def fit(rows: Sequence[Row], features: Sequence[str], l2: float = 1.0) -> Model:
    """Class-balanced, L2-regularised logistic regression (Newton steps on standardised
    features), returned on the raw feature scale. Label 1 = answerable."""
    x = np.array([[r["features"][f] for f in features] for r in rows], dtype=float)
    y = np.array([0.0 if r["refuse"] else 1.0 for r in rows])
    mu, sd = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = np.hstack([np.ones((len(x), 1)), (x - mu) / sd])
    weight = np.where(y == 1, 0.5 / max(y.sum(), 1), 0.5 / max((1 - y).sum(), 1)) * len(y)
    beta = np.zeros(z.shape[1])
    penalty = np.diag([0.0] + [l2] * len(features))
    for _ in range(50):
        p = 1 / (1 + np.exp(-z @ beta))
        grad = z.T @ (weight * (p - y)) + penalty @ beta
        hess = (z * (weight * p * (1 - p))[:, None]).T @ z + penalty
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.abs(step).max() < 1e-8:
            break
    weights = {f: float(beta[i + 1] / sd[i]) for i, f in enumerate(features)}
    intercept = float(beta[0] - sum(beta[i + 1] * mu[i] / sd[i] for i in range(len(features))))
    return weights, intercept


def predict(model: Model, row: Row) -> float:
    """Answerability of a row under a model (0 when a rule refuses it)."""
    if row["rule"]:
        return 0.0
    weights, intercept = model
    z = intercept + sum(w * row["features"][f] for f, w in weights.items())
    return 1 / (1 + math.exp(-max(min(z, 50.0), -50.0)))


def auc(scores: Sequence[float], answerable: Sequence[bool]) -> float | None:
    """Probability that an answerable question outscores an off-topic one (ties count half)."""
    pos = [s for s, a in zip(scores, answerable, strict=True) if a]
    neg = [s for s, a in zip(scores, answerable, strict=True) if not a]
    if not pos or not neg:
        return None
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def rates(rows: Sequence[Row], scores: Sequence[float], threshold: float) -> dict[str, Any]:
    """False refusals, off-topic / near-miss refused, AUC (over the rule-free questions)."""
    refused = [s < threshold for s in scores]

    def share(pick: Callable[[Row], bool]) -> tuple[float | None, int]:
        chosen = [d for r, d in zip(rows, refused, strict=True) if pick(r)]
        return (sum(chosen) / len(chosen) if chosen else None), len(chosen)

    free = [(s, not r["refuse"]) for r, s in zip(rows, scores, strict=True) if not r["rule"]]
    return {
        "false_refusal": share(lambda r: not r["refuse"]),
        "off_topic_refused": share(lambda r: r["refuse"]),
        "near_miss_refused": share(lambda r: r["refuse"] and r["topic"] == "near-miss"),
        "auc": auc([s for s, _ in free], [a for _, a in free]),
    }


def choose_threshold(rows: Sequence[Row], scores: Sequence[float], max_frr: float) -> float:
    """The highest threshold at which no suite falsely refuses more than `max_frr`."""
    candidates = sorted({s for r, s in zip(rows, scores, strict=True) if not r["refuse"]})
    best = 0.0
    for t in candidates:  # refusing below t: t itself is answered
        worst = 0.0
        for suite in {r["suite"] for r in rows}:
            picked = [s for r, s in zip(rows, scores, strict=True)
                      if r["suite"] == suite and not r["refuse"]]
            worst = max(worst, sum(s < t for s in picked) / max(len(picked), 1))
        if worst <= max_frr:
            best = t
    return best


def _fmt(value: tuple[float | None, int] | float | None) -> str:
    if isinstance(value, tuple):
        share, n = value
        return "   –  (0)" if share is None else f"{share:6.1%} ({n})"
    return "  –  " if value is None else f"{value:.3f}"


def table(rows: Sequence[Row], model: Model, threshold: float, names: Sequence[str]) -> str:
    """Per-suite figures of a model at a threshold."""
    lines = [f"{'suite':<10} {'false refusals':>15} {'off-topic refused':>18} "
             f"{'near-miss refused':>18} {'AUC':>6}"]
    for name in names:
        picked = [r for r in rows if r["suite"] == name]
        got = rates(picked, [predict(model, r) for r in picked], threshold)
        lines.append(f"{name:<10} {_fmt(got['false_refusal']):>15} "
                     f"{_fmt(got['off_topic_refused']):>18} "
                     f"{_fmt(got['near_miss_refused']):>18} {_fmt(got['auc']):>6}")
    return "\n".join(lines)


def held_out(rows: Sequence[Row], features: Sequence[str], max_frr: float
             ) -> list[tuple[str, Model, float]]:
    """For each dev corpus: the model fitted on the other dev corpora and their threshold."""
    found = []
    for held in DEV:
        others = [r for r in rows if r["suite"] in DEV and r["suite"] != held]
        model = fit([r for r in others if not r["rule"]], features)
        threshold = choose_threshold(others, [predict(model, r) for r in others], max_frr)
        found.append((held, model, threshold))
    return found


def leave_one_out(rows: Sequence[Row], features: Sequence[str], max_frr: float) -> str:
    """Fit on all dev corpora but one, choose the threshold there, judge the held-out one."""
    return "\n".join(f"held out {held} (threshold {threshold:.3f}):\n"
                     + table(rows, model, threshold, [held]).split("\n", 1)[1]
                     for held, model, threshold in held_out(rows, features, max_frr))


def transfer(rows: Sequence[Row], features: Sequence[str], max_frr: float) -> float:
    """Mean over held-out dev corpora of (off-topic refused - false refusals): how well a
    feature set fitted on the other corpora serves one it has not seen."""
    values = []
    for held, model, threshold in held_out(rows, features, max_frr):
        picked = [r for r in rows if r["suite"] == held]
        got = rates(picked, [predict(model, r) for r in picked], threshold)
        values.append((got["off_topic_refused"][0] or 0.0) - (got["false_refusal"][0] or 0.0))
    return sum(values) / len(values)


def search(rows: Sequence[Row], max_frr: float, size: int = 4,
           without: Sequence[str] = ()) -> list[tuple[float, float, tuple]]:
    """(leave-one-corpus-out transfer, mean dev off-topic refusal, features) of every feature
    subset, best transfer first. Ranked by transfer, not by the in-sample refusal rate: the
    product runs on corpora nobody fitted it on, and a subset that refuses more dev
    questions only because the threshold fits these corpora is what this guards against."""
    import itertools

    dev = [r for r in rows if r["suite"] in DEV]
    checks = [r for r in rows if r["suite"] in ("playbook", "fixture")]
    found = []
    for k in range(1, size + 1):
        for features in itertools.combinations([f for f in FEATURES if f not in without], k):
            model = fit([r for r in dev if not r["rule"]], features)
            if any(w < 0 for w in model[0].values()):
                continue
            scores = [predict(model, r) for r in dev]
            threshold = choose_threshold(dev, scores, max_frr)
            if not decided_right(checks, model, threshold):
                continue
            refused = [rates([r for r in dev if r["suite"] == n],
                             [s for r, s in zip(dev, scores, strict=True) if r["suite"] == n],
                             threshold)["off_topic_refused"][0] or 0.0 for n in DEV]
            found.append((transfer(rows, features, max_frr), sum(refused) / len(refused),
                          features))
    return sorted(found, key=lambda f: (-f[0], -f[1], len(f[2])))


def decided_right(rows: Sequence[Row], model: Model, threshold: float) -> bool:
    """True when the model refuses exactly the rows to refuse at the threshold. `search` asks it
    of the bundled playbook (the product promises that suite stays perfect) and of the fixture
    playbook's test questions (evals/refusal_fixture.py): a set that fails either is skipped."""
    return all((predict(model, r) < threshold) == bool(r["refuse"]) for r in rows)


def frozen() -> tuple[Model, float]:
    """The model and threshold frozen in rag/refusal.py."""
    from rag.refusal import INTERCEPT, REFUSAL_THRESHOLD, WEIGHTS

    return (dict(WEIGHTS), INTERCEPT), REFUSAL_THRESHOLD


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m evals.calibrate_refusal",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--max-frr", type=float, default=0.05)
    parser.add_argument("--features", nargs="+", choices=FEATURES, default=list(CHOSEN))
    parser.add_argument("--search", action="store_true", help="rank feature subsets on dev")
    parser.add_argument("--size", type=int, default=4, help="largest subset --search tries")
    parser.add_argument("--without", nargs="*", choices=FEATURES, default=["probe_ratio"],
                        help="features --search leaves out (default probe_ratio: it inflates "
                             "on a tiny index, see rag/refusal.py)")
    parser.add_argument("--dump", help="also write the per-question rows to this JSON file")
    parser.add_argument("--rows", help="read the rows from a --dump file instead of collecting")
    parser.add_argument("--dev-only", action="store_true",
                        help="collect the dev suites only (no test rows while developing)")
    parser.add_argument("--cache", type=Path,
                        help="index cache to collect from (default: .playbook-eval/, as eval)")
    return parser


def _rows(args: argparse.Namespace) -> list[Row]:
    """The rows of a --rows file, or collected now (plus the fixture rows --search needs)."""
    import json
    import sys

    from rag.settings import Settings

    say = lambda m: print(f"... {m}", file=sys.stderr, flush=True)  # noqa: E731
    if args.rows:
        with open(args.rows, encoding="utf-8") as handle:
            rows: list[Row] = json.load(handle)
    else:
        names = DEV if args.dev_only else (*DEV, *TEST)
        rows = collect(names, Settings.model_validate({}), say, args.cache)
    if args.search and not any(r["suite"] == "fixture" for r in rows):
        from evals.refusal_fixture import fixture_rows

        rows += fixture_rows(Settings.model_validate({}))
    if args.dump:
        with open(args.dump, "w", encoding="utf-8") as handle:
            json.dump(rows, handle, indent=1)
    return rows


def _report_fit(rows: Sequence[Row], features: Sequence[str], max_frr: float) -> None:
    """Fit on dev, then print the weights to freeze and the per-corpus figures."""
    import json

    dev = [r for r in rows if r["suite"] in DEV]
    model = fit([r for r in dev if not r["rule"]], features)
    threshold = choose_threshold(dev, [predict(model, r) for r in dev], max_frr)
    print(f"fitted on {sum(not r['rule'] for r in dev)} dev questions "
          f"({', '.join(DEV)}), features {', '.join(features)}")
    print("WEIGHTS = " + json.dumps({f: round(w, 3) for f, w in model[0].items()}))
    print(f"INTERCEPT = {model[1]:.3f}\nREFUSAL_THRESHOLD = {threshold:.3f} "
          f"(highest with every dev corpus's false refusals <= {max_frr:.0%})")
    print("\n== fitted model, DEV\n" + table(rows, model, threshold, DEV))
    print("\n== fitted model, TEST (report only)\n" + table(rows, model, threshold, TEST))
    print("\n== leave one dev corpus out\n" + leave_one_out(rows, features, max_frr))


def main(argv: Sequence[str] | None = None) -> int:
    """Collect, fit on dev, print weights, threshold and per-corpus dev / test figures."""
    args = _parser().parse_args(argv)
    rows = _rows(args)
    if args.search:
        print("feature subsets by leave-one-corpus-out transfer (held-out off-topic refused -"
              " false refusals), then mean dev off-topic refusal:")
        for score, share, features in search(rows, args.max_frr, args.size, args.without)[:10]:
            print(f"  {score:.3f}  {share:.3f}  {', '.join(features)}")
    _report_fit(rows, args.features, args.max_frr)
    live, live_threshold = frozen()
    print(f"\n== frozen model in rag/refusal.py (threshold {live_threshold:.3f})")
    print(table(rows, live, live_threshold, [*DEV, *TEST]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
