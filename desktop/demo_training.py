"""The demo's real training run: a small MLP learning scikit-learn's handwritten digits.

The digits ship inside scikit-learn (no download). Each step trains on one mini-batch and logs
`train/loss` and `train/acc`; every few steps it also logs `val/acc` and `val/loss` on a held-out
split. At the end the trained weights are logged as artifact `digits-mlp` (a small .npz).
Steps are paced (`--step-delay`) so the plots move visibly for about a minute and
`val/acc` (averaged over 5 evaluations) passes 0.9 after 100–170 steps, i.e. within about 20 s. No Qt here: it runs as its own process.

    python -m desktop.demo_training [--epochs 12] [--step-delay 0.1] [--db-url URL]
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

PROJECT = "digits-demo"
MODEL_ARTIFACT = "digits-mlp"
CLASSES = np.arange(10)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m desktop.demo_training", description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=12, help="passes over the training split (default 12)")
    parser.add_argument("--step-delay", type=float, default=0.1, help="seconds to pause after each step (default 0.1)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1.5e-3, help="Adam learning rate (default 1.5e-3)")
    parser.add_argument("--hidden", type=int, default=64, help="hidden units")
    parser.add_argument("--val-every", type=int, default=5, help="evaluate on the validation split every N steps")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: a new one each time)")
    parser.add_argument("--name", default=None, help="run name (default: generated)")
    parser.add_argument("--project", default=PROJECT)
    parser.add_argument("--db-url", default=os.environ.get("RUNBELL_DB"),
                        help="database URL (default: RUNBELL_DB, else the user's Runbell database)")
    return parser


def load_split(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Train/validation split of the 8×8 digits, pixels scaled to [0, 1]."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x_train, x_val, y_train, y_val = train_test_split(
        x / 16.0, y, test_size=0.2, random_state=seed, stratify=y
    )
    return x_train, x_val, y_train, y_val


def train(args: argparse.Namespace) -> str:
    """Train and log; returns the run id."""
    from sklearn.metrics import log_loss
    from sklearn.neural_network import MLPClassifier

    from store import tracking as rb

    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "little")
    x_train, x_val, y_train, y_val = load_split(seed)
    model = MLPClassifier(hidden_layer_sizes=(args.hidden,), learning_rate_init=args.lr, alpha=1e-4,
                          random_state=seed)
    config = {
        "dataset": "sklearn digits (8x8)", "model": f"MLP {args.hidden} hidden, relu, adam",
        "lr": args.lr, "batch_size": args.batch_size, "epochs": args.epochs, "seed": seed,
        "train_size": len(x_train), "val_size": len(x_val),
    }
    run = rb.init(project=args.project, name=args.name, config=config, tags=["demo", "mlp"], db_url=args.db_url)
    rng = np.random.default_rng(seed)
    step = 0
    for _epoch in range(args.epochs):
        order = rng.permutation(len(x_train))
        for start in range(0, len(order), args.batch_size):
            batch = order[start:start + args.batch_size]
            model.partial_fit(x_train[batch], y_train[batch], classes=CLASSES)
            metrics = {
                "train/loss": float(model.loss_),
                "train/acc": float(model.score(x_train[batch], y_train[batch])),
            }
            if step % args.val_every == 0:
                metrics["val/acc"] = float(model.score(x_val, y_val))
                metrics["val/loss"] = float(log_loss(y_val, model.predict_proba(x_val), labels=CLASSES))
            run.log(metrics, step=step)
            step += 1
            if args.step_delay > 0:
                time.sleep(args.step_delay)  # pacing, so people can watch it learn
    log_model(run, model, x_val, y_val, config)
    run.finish()
    return run.id


def log_model(run: Any, model: Any, x_val: np.ndarray, y_val: np.ndarray, config: dict[str, Any]) -> Any:
    """Save the trained weights as a small .npz and log them as version vN of `digits-mlp`."""
    arrays = {f"coef_{i}": w for i, w in enumerate(model.coefs_)}
    arrays.update({f"intercept_{i}": b for i, b in enumerate(model.intercepts_)})
    metadata = {"val_acc": float(model.score(x_val, y_val)), "model": config["model"],
                "seed": config["seed"], "epochs": config["epochs"]}
    with tempfile.TemporaryDirectory(prefix="runbell-demo-") as folder:
        path = os.path.join(folder, "digits-mlp.npz")
        np.savez(path, **arrays)
        return run.log_artifact(path, name=MODEL_ARTIFACT, type="model", metadata=metadata)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.epochs < 1 or args.batch_size < 1 or args.val_every < 1:
        raise SystemExit("--epochs, --batch-size and --val-every must be at least 1")
    run_id = train(args)
    print(f"demo training finished: run {run_id} in project {args.project}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
