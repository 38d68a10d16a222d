"""Loading a skops model does not import PyTorch, and skops trusts what it trusts on a plain import."""

from __future__ import annotations

import json
import subprocess
import sys

_TRUSTED = """
import json, sys
from skops.io import _trusted_types as t
lists = {k: sorted(map(str, v)) for k, v in vars(t).items() if k.isupper() and isinstance(v, list)}
print(json.dumps({"lists": lists, "torch": "torch" in sys.modules}))
"""


def _run(code: str) -> dict:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_skops_trusts_the_same_types_without_pytorch():
    plain = _run("import skops.io\n" + _TRUSTED)
    ours = _run("from glasswing.ingest._skops import skops_io\nskops_io()\n" + _TRUSTED)
    assert ours["lists"] == plain["lists"] and len(plain["lists"]["SKLEARN_ESTIMATOR_TYPE_NAMES"]) > 100
    assert plain["torch"] and not ours["torch"]  # what the placeholder saves: importing PyTorch


def test_a_skops_model_loads_and_predicts_without_pytorch_and_the_module_stays_real():
    done = _run("""
import json, sys
from glasswing import ingest
from glasswing.ingest import samples
model = ingest.load_model(samples.sample_dir() / "models" / "german_gbm.skops")
proba = model.predict_proba(samples.german_dataset("test").X)
loaded = "torch" in sys.modules
import sklearn.externals.array_api_compat.torch as shim  # imported for real once asked for
print(json.dumps({"torch": loaded, "rows": len(proba), "real": hasattr(shim, "asarray")}))
""")
    assert done == {"torch": False, "rows": 300, "real": True}
