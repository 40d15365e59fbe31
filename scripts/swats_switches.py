"""Where SWATS switched in the store's runs: replay its finals and record the switch.

Trials written before optlab recorded ``switches`` (see optlab.trial.run_trial) carry
no switch step. This script replays every SWATS trial at the tuned rate of each study
(the finals, one per seed), checks with :func:`optlab.replay.compare` that the replay
reproduces what the store holds, and writes each run's switch step and Lambda to a JSON
file that chapter 7 reads. A trial that already records ``switches`` is read, not
replayed. Resumable: the file is rewritten after every trial and finished ones are
skipped on the next run.

    python scripts/swats_switches.py            # both large studies, default paths
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from optlab import profiles, protocol, replay, store  # noqa: E402
from optlab.trial import code_version  # noqa: E402

OUT = ROOT / "results" / "swats_switches.json"
NAME = "swats"


def finals(storage: str, study: str) -> list[dict]:
    """The stored SWATS trials at the lr of the study's reported row."""
    runs = [r for r in store.load_results(storage, study).values()
            if r["config"]["optimizer"] == NAME]
    if not runs:
        return []
    lr = protocol.finals_lr(runs, runs[0]["config"]["higher_is_better"])
    return sorted((r for r in runs if r["config"]["lr"] == lr), key=lambda r: r["seed"])


def switch_of(stored: dict, threads: int) -> dict:
    """The switch of one stored trial: read when recorded, else replayed and checked."""
    if stored.get("switches") is not None:
        return {"switches": stored["switches"], "source": "recorded"}
    import torch

    torch.set_num_threads(threads)
    again = replay.replay(stored)
    problems = replay.compare(stored, again)
    if problems:
        raise SystemExit(f"the replay of seed {stored['seed']} does not reproduce the "
                         f"store: {problems[:3]}")
    return {"switches": again["switches"], "source": "replayed",
            "replayed_with": code_version("cpu")}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--storage", default=profiles.COMMITTED)
    ap.add_argument("--workloads", default="mnist-cnn,char-transformer")
    ap.add_argument("--out", default=str(OUT))
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    out = Path(args.out)
    data = json.loads(out.read_text()) if out.exists() else {}
    for study in args.workloads.split(","):
        runs = finals(args.storage, study)
        entry = data.setdefault(study, {"optimizer": NAME, "runs": {}})
        if runs:
            entry["lr"] = runs[0]["config"]["lr"]
            entry["steps"] = runs[0]["config"]["steps"]
            entry["switch_tol"] = runs[0]["config"]["optimizer_hyper"].get("switch_tol")
        for stored in runs:
            seed = str(stored["seed"])
            if seed in entry["runs"] and entry["runs"][seed]["lr"] == stored["config"]["lr"]:
                continue
            found = switch_of(stored, args.threads)
            entry["runs"][seed] = {"lr": stored["config"]["lr"], **found}
            out.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
            step = found["switches"][0]["step"] if found["switches"] else None
            print(f"{study} seed {seed}: switch step {step}", flush=True)
    out.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
