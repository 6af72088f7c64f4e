"""One synthetic run, and writers that lay it out as each tool does: the CSV, a Hugging Face
trainer state, TensorBoard event files (tensorboardX's writer), Lightning's CSVLogger, MLflow's
file store, W&B history and panel exports, a TensorBoard scalar CSV.

The layouts follow the tools' documentation and files they wrote (keys, column order, the rows
a logger writes apart); the MLflow store in ``fixtures/logs/mlruns`` was written by MLflow itself
(``fixtures/make_mlflow_store.py``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "logs"
SPEC = "cosine:peak=3e-4,steps=2000,warmup=100,final=3e-5"
EVERY = 10
REAL = Path(__file__).resolve().parents[1] / "data" / "multipower-law" / "25M" / "cosine_24000.csv"


def real_run() -> pd.DataFrame:
    """A real run to lay out in each format: the bundled 25M cosine run (171 rows, every 128
    steps from the end of its 2,160-step warm-up)."""
    return pd.read_csv(REAL)[["step", "lr", "loss"]]


def synthetic_run(spec: str = SPEC, every: int = EVERY) -> pd.DataFrame:
    """``step, lr, loss`` every ``every`` steps of ``spec``, losses from the annealing law
    (L0 2.5, A 1.2, alpha 0.35, C 250, warm-up at the peak, decay 0.999) times a fixed ripple."""
    from scipy.signal import lfilter

    from scalefit.schedules import parse_schedule

    schedule = parse_schedule(spec)
    lr = schedule.lr()
    counted = np.where(np.arange(lr.size) < schedule.warmup, lr.max(), lr)
    drops = np.concatenate([[0.0], lr[:-1] - lr[1:]])
    s2 = np.cumsum(lfilter([1.0], [1.0, -0.999], drops))
    loss = 2.5 + 1.2 * np.cumsum(counted) ** -0.35 - 250.0 * s2
    loss *= 1 + 0.002 * np.sin(np.arange(lr.size) / 7.0)
    steps = np.arange(every, lr.size, every)
    return pd.DataFrame({"step": steps, "lr": lr[steps], "loss": loss[steps]})


def write_csv(run: pd.DataFrame, path: Path) -> Path:
    run.to_csv(path, index=False)
    return path


def write_trainer_state(run: pd.DataFrame, folder: Path, eval_every: int = 50) -> Path:
    """``<folder>/checkpoint-<last>/trainer_state.json`` as transformers' Trainer writes it."""
    last = int(run["step"].iloc[-1])
    history: list[dict] = []
    for i, (step, lr, loss) in enumerate(run.itertuples(index=False)):
        history.append(
            {
                "epoch": round(step / last, 4),
                "grad_norm": 1.0 / (1 + step / 100),
                "learning_rate": lr,
                "loss": loss,
                "step": int(step),
            }
        )
        if i % eval_every == eval_every - 1:
            history.append(
                {
                    "epoch": round(step / last, 4),
                    "eval_loss": loss * 1.02,
                    "eval_runtime": 1.5,
                    "eval_samples_per_second": 200.0,
                    "eval_steps_per_second": 25.0,
                    "step": int(step),
                }
            )
    history.append(
        {
            "epoch": 1.0,
            "step": last,
            "total_flos": 1.2e15,
            "train_loss": float(run["loss"].mean()),
            "train_runtime": 300.0,
            "train_samples_per_second": 50.0,
            "train_steps_per_second": 6.7,
        }
    )
    state = {
        "best_global_step": None,
        "best_metric": None,
        "best_model_checkpoint": None,
        "epoch": 1.0,
        "eval_steps": eval_every,
        "global_step": last,
        "is_hyper_param_search": False,
        "is_local_process_zero": True,
        "is_world_process_zero": True,
        "log_history": history,
        "logging_steps": EVERY,
        "max_steps": last,
        "num_input_tokens_seen": 0,
        "num_train_epochs": 1,
        "save_steps": last,
        "total_flos": 1.2e15,
        "train_batch_size": 8,
        "trial_name": None,
        "trial_params": None,
    }
    path = folder / f"checkpoint-{last}" / "trainer_state.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")
    return path


def write_tensorboard(
    run: pd.DataFrame, folder: Path, loss_tag: str = "train/loss", lr_tag: str = "train/lr"
) -> Path:
    """Event files written by tensorboardX's ``SummaryWriter`` (the loss, the LR, a grad norm)."""
    from tensorboardX import SummaryWriter

    with SummaryWriter(str(folder), flush_secs=3600) as writer:
        for step, lr, loss in run.itertuples(index=False):
            writer.add_scalar(loss_tag, loss, int(step))
            writer.add_scalar(lr_tag, lr, int(step))
            writer.add_scalar("train/grad_norm", 1.0, int(step))
    return folder


def write_lightning(run: pd.DataFrame, folder: Path) -> Path:
    """``<folder>/version_0/metrics.csv`` as CSVLogger writes it with a LearningRateMonitor: the
    LR and the loss on rows of their own, the union of keys as columns, epoch on the loss rows."""
    rows = []
    for step, lr, loss in run.itertuples(index=False):
        rows.append({"lr-AdamW": lr, "step": int(step)})
        rows.append({"epoch": 0, "step": int(step), "train_loss": loss})
    frame = pd.DataFrame(rows, columns=["epoch", "lr-AdamW", "step", "train_loss"])
    path = folder / "version_0" / "metrics.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    (path.parent / "hparams.yaml").write_text("lr: 0.0003\n")
    return path


def write_mlflow(run: pd.DataFrame, folder: Path, name: str = "cosine-run") -> Path:
    """A run folder of MLflow's file store, in its layout (as ``fixtures/logs/mlruns`` is)."""
    run_folder = folder / "123" / "0123456789abcdef0123456789abcdef"
    (run_folder / "metrics" / "train").mkdir(parents=True)
    (run_folder / "tags").mkdir()
    (folder / "123" / "meta.yaml").write_text("experiment_id: '123'\nname: exp\n")
    (run_folder / "meta.yaml").write_text(
        f"run_id: {run_folder.name}\nrun_name: {name}\nlifecycle_stage: active\n"
    )
    (run_folder / "tags" / "mlflow.runName").write_text(name)
    for key, column in (("train/loss", "loss"), ("lr", "lr")):
        lines = [
            f"{1796519261941 + i} {value!r} {int(step)}"
            for i, (step, value) in enumerate(zip(run["step"], run[column].astype(float)))
        ]
        (run_folder / "metrics" / key).write_text("\n".join(lines) + "\n")
    return run_folder


def write_wandb_history(run: pd.DataFrame, path: Path) -> Path:
    """A run's history as W&B's API exports it: ``_step`` counts log calls (an eval call
    between), the trainer's step is ``train/global_step``; CSV or JSON by the suffix."""
    records = []
    for i, (step, lr, loss) in enumerate(run.itertuples(index=False)):
        records.append(
            {
                "_step": 2 * i,
                "_runtime": 1.5 * i,
                "_timestamp": 1.7e9 + 1.5 * i,
                "train/global_step": int(step),
                "train/learning_rate": lr,
                "train/loss": loss,
            }
        )
        records.append({"_step": 2 * i + 1, "train/global_step": int(step), "eval/loss": loss})
    if path.suffix == ".csv":
        pd.DataFrame(records).to_csv(path, index=False)
    elif path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in records))
    else:
        path.write_text(json.dumps(records))
    return path


def write_panel(runs: dict[str, pd.DataFrame], column: str, key: str, path: Path) -> Path:
    """A W&B chart of ``key`` exported as CSV: ``Step``, then per run its series with __MIN and
    __MAX, empty where a run has no point."""
    frame = None
    for name, run in runs.items():
        series = run[["step", column]].rename(columns={"step": "Step", column: f"{name} - {key}"})
        series[f"{name} - {key}__MIN"] = series[f"{name} - {key}"]
        series[f"{name} - {key}__MAX"] = series[f"{name} - {key}"]
        frame = series if frame is None else frame.merge(series, on="Step", how="outer")
    frame.to_csv(path, index=False)
    return path


def write_tensorboard_csv(run: pd.DataFrame, column: str, path: Path) -> Path:
    """A scalar downloaded from TensorBoard: ``Wall time,Step,Value``."""
    frame = pd.DataFrame(
        {
            "Wall time": 1.7e9 + np.arange(len(run)) * 1.5,
            "Step": run["step"].to_numpy(),
            "Value": run[column].to_numpy(),
        }
    )
    frame.to_csv(path, index=False)
    return path
