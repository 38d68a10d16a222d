"""``glasswing explain --method shap`` on 100 rows, as a fresh process, against the same work done by hand.

Most of a command's time is its start (imports), not the explanation. Both sides run as new processes on the
sample gradient-boosting pipeline (``models/german_gbm.skops``) and the first 100 rows of ``german.csv``:

- ``ours_s``: ``glasswing explain --model german_gbm.skops --data german.csv --rows 0:100 --method shap
  --out FILE.csv`` (safe skops loading with Glasswing's checks, the data read and fitted to the model,
  TreeSHAP, one-hot columns summed back into features, the CSV written);
- ``reference_s``: a script that does the same with the libraries alone: ``skops.io.load`` trusting the
  file's own types, ``pandas.read_csv``, ``shap.TreeExplainer(final).shap_values(preprocess.transform(X))``
  and ``DataFrame.to_csv``;
- ``ratio`` = ours / reference; ``ours_imports_torch`` says whether the command imported PyTorch (it
  needs it only for image models).

Best of ``REPEATS`` runs each, ours and the reference alternating, so that both see the same machine load.
Run: ``.venv/bin/python bench/cli_startup.py``.
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from glasswing._paths import sample_dir  # noqa: E402

REPEATS = 3
ROWS = 100

REFERENCE = """
import sys
import pandas as pd
import shap
import skops.io
path, data, out = sys.argv[1:4]
pipe = skops.io.load(path, trusted=skops.io.get_untrusted_types(file=path))
X = pd.read_csv(data).drop(columns="risk").iloc[:{rows}]
values = shap.TreeExplainer(pipe[-1]).shap_values(pipe[:-1].transform(X))
pd.DataFrame(values).to_csv(out)
"""

OURS = """
import sys
sys.argv = ["glasswing", *sys.argv[1:]]
try:
    from glasswing.cli import main
    code = main(sys.argv[1:])
finally:
    print("TORCH", "torch" in sys.modules, file=sys.stderr)
sys.exit(code)
"""


def timed(args: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, check=True)
    return time.perf_counter() - start, done.stderr


def main() -> None:
    model, data = sample_dir() / "models" / "german_gbm.skops", sample_dir() / "german.csv"
    ours, ref, torch_loaded = [], [], None
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, "-c", OURS, "explain", "--model", str(model), "--data", str(data),
                   "--rows", f"0:{ROWS}", "--method", "shap", "--out", str(Path(tmp) / "ours.csv")]
        reference = [sys.executable, "-c", REFERENCE.format(rows=ROWS), str(model), str(data),
                     str(Path(tmp) / "ref.csv")]
        for _ in range(REPEATS):
            seconds, err = timed(command)
            ours.append(seconds)
            torch_loaded = "TORCH True" in err
            ref.append(timed(reference)[0])
    print(json.dumps({"bench": "cli_startup", "rows": ROWS, "ours_s": round(min(ours), 2),
                      "reference_s": round(min(ref), 2), "ratio": round(min(ours) / min(ref), 2),
                      "ours_imports_torch": torch_loaded, "repeats": REPEATS,
                      "python": platform.python_version()}))


if __name__ == "__main__":
    main()
