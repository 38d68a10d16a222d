"""The example CI workflow (docs/ci/fairness-gate.yml) runs as written and fails a pull request on a gate.

Its "Fairness audit" and "Job summary" steps run in a throwaway repository with GitHub's shell for ``run:``
steps (``bash --noprofile --norc -eo pipefail``): once with the sample GBM (every gate passes, exit 0) and
once with a model that selects by sex alone (the four-fifths gate fails, exit 1, and the summary step,
``if: !cancelled()``, still writes the comment). The gates' values are fairlearn's on the headline groups.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from fairlearn.metrics import demographic_parity_ratio
from junitparser import JUnitXml

from glasswing._paths import sample_dir
from glasswing.ingest import samples

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / "docs" / "ci" / "fairness-gate.yml"
GITHUB_SHELL = ["bash", "--noprofile", "--norc", "-eo", "pipefail"]


@pytest.fixture(scope="module")
def steps() -> dict:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    (job,) = workflow["jobs"].values()
    return {step.get("name", step.get("uses")): step for step in job["steps"]}


def run_step(step: dict, repo: Path, summary: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "GITHUB_STEP_SUMMARY": str(summary),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    script = repo / "step.sh"
    script.write_text(step["run"])
    return subprocess.run([*GITHUB_SHELL, str(script)], cwd=repo, env=env, capture_output=True, text=True,
                          timeout=300)


def biased_model(path: Path) -> None:
    """A scikit-learn pipeline that approves every man and no woman (saved with skops)."""
    import skops.io
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    frame = pd.read_csv(sample_dir() / "german_train.csv")
    pipe = make_pipeline(ColumnTransformer([("sex", OneHotEncoder(), ["sex"])]), LogisticRegression())
    pipe.fit(frame[list(samples.GERMAN_FEATURES)], (frame["sex"] == "male").astype(int))
    skops.io.dump(pipe, path)


def test_the_workflow_reports_on_failure_and_has_what_it_needs(steps):
    assert {"Fairness audit", "Job summary", "Comment on the pull request", "Gates as test results",
            "Keep the audit"} <= set(steps)
    for name in ("Job summary", "Comment on the pull request", "Gates as test results", "Keep the audit"):
        assert "!cancelled()" in steps[name]["if"], name  # they run when the gate step failed
    audit = steps["Fairness audit"]["run"]
    assert "--junit reports/fairness-junit.xml" in audit
    assert "--format markdown > reports/fairness.md" in audit
    assert steps["Gates as test results"]["with"]["report_paths"] == "reports/fairness-junit.xml"
    workflow = yaml.safe_load(WORKFLOW.read_text())
    assert workflow["permissions"]["pull-requests"] == "write"
    assert not (ROOT / ".github" / "workflows" / "fairness-gate.yml").exists()  # an example, not active here


def test_the_same_commands_pass_then_fail_a_pull_request(steps, tmp_path):
    repo = tmp_path / "repo"
    (repo / "data").mkdir(parents=True)
    (repo / "models").mkdir()
    shutil.copy(sample_dir() / "german_test_predictions.csv", repo / "data" / "validation.csv")
    shutil.copy(sample_dir() / "models" / "german_gbm.skops", repo / "models" / "credit.skops")
    summary = tmp_path / "summary.md"

    done = run_step(steps["Fairness audit"], repo, summary)
    assert done.returncode == 0, done.stderr
    assert run_step(steps["Job summary"], repo, summary).returncode == 0
    text = summary.read_text()
    assert text == (repo / "reports" / "fairness.md").read_text()
    assert "✅ All 3 fairness gates passed." in text
    (suite,) = JUnitXml.fromfile(str(repo / "reports" / "fairness-junit.xml"))
    assert (suite.tests, suite.failures) == (3, 0)
    # fairlearn on the headline groups: sex x age bands with at least 30 rows
    frame = pd.read_csv(repo / "data" / "validation.csv")
    predicted = samples.german_model("gbm").estimator.predict(frame[list(samples.GERMAN_FEATURES)])
    band = np.select([frame["age"] < 25, frame["age"] < 45], ["<25", "25-44"], "45+")
    group = frame["sex"] + "/" + band
    adequate = group.map(group.value_counts()) >= 30
    expected = demographic_parity_ratio(frame["risk"][adequate], predicted[adequate],
                                        sensitive_features=group[adequate])
    shown = re.search(r"`--fail-if demographic_parity_ratio<0.8` \| ([0-9.]+) \|", text).group(1)
    assert shown == f"{expected:.3f}"

    biased_model(repo / "models" / "credit.skops")
    summary.unlink()
    failed = run_step(steps["Fairness audit"], repo, summary)
    assert failed.returncode == 1  # the job, and so the pull request's check, fails
    assert "glasswing audit: failed: demographic_parity_ratio = 0 < 0.8" in failed.stderr
    assert run_step(steps["Job summary"], repo, summary).returncode == 0
    (suite,) = JUnitXml.fromfile(str(repo / "reports" / "fairness-junit.xml"))
    failures = {case.name: case.result[0].message for case in suite if not case.is_passed}
    assert f"❌ {len(failures)} of 3 fairness gates failed." in summary.read_text()
    assert suite.failures == len(failures) == failed.stderr.count("glasswing audit: failed: ")
    message = failures["--fail-if demographic_parity_ratio<0.8"]
    assert re.fullmatch(r"demographic_parity_ratio = 0 \(95% Katz interval 0\.00\d to 0\.\d+\) violates "
                        r"--fail-if \"demographic_parity_ratio<0\.8\"\.", message), message
