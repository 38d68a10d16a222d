"""Hostile TorchScript: code that maps, writes or reads files is refused before it is loaded (nothing
runs, not even ``__setstate__``) and before any forward pass; ordinary exports load without trust."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from glasswing import ingest
from glasswing.ingest import _errors as E
from glasswing.ingest import _torchscript
from glasswing.ingest import samples as gw_samples
from tests.ingest.conftest import TinyCNN, legacy_torch_export
from tests.security.conftest import assert_one_sentence_exit_2, run_cli, snapshot

PRE = {"size": [8, 8], "mean": [0.5] * 3, "std": [0.5] * 3}


def _save(module) -> bytes:
    buffer = io.BytesIO()
    legacy_torch_export(lambda: torch.jit.save(torch.jit.script(module), buffer))
    return buffer.getvalue()


def _refused(data: bytes, calls: str, name: str = "evil.pt") -> None:
    with pytest.raises(ingest.UntrustedFileError) as info:
        ingest.load_model(data, name=name, preprocess=PRE)
    assert str(info.value) == E.TORCHSCRIPT_REFUSED.format(name=name, calls=calls)


@pytest.fixture
def no_jit_load(monkeypatch):
    """Fail the test if ``torch.jit.load`` is reached: the refusal must come before anything loads."""
    calls = []
    real = torch.jit.load
    monkeypatch.setattr(torch.jit, "load", lambda *a, **k: calls.append(a) or real(*a, **k))
    return calls


class _Writer(torch.nn.Module):
    def __init__(self, path: str):
        super().__init__()
        self.path = path

    def forward(self, x):
        mapped = torch.from_file(self.path, True, 64, dtype=torch.uint8)  # creates / overwrites the file
        return x.mean(dim=(2, 3)) + mapped[:3].float().sum() * 0


class _Reader(torch.nn.Module):
    def __init__(self, path: str):
        super().__init__()
        self.path = path

    def forward(self, x):
        secret = torch.from_file(self.path, False, 8, dtype=torch.uint8)
        return x.mean(dim=(2, 3))[:, :1] * 0 + secret.float().unsqueeze(0)


def _writer(path):
    return _Writer(path)


def _reader(path):
    return _Reader(path)


def test_a_forward_that_writes_files_is_refused_before_loading(tmp_path, no_jit_load):
    target = tmp_path / "created.bin"
    data = _save(_writer(str(target)))
    before = snapshot(tmp_path)
    _refused(data, "aten::from_file")
    assert no_jit_load == [] and snapshot(tmp_path) == before and not target.exists()
    # trusted, the probe forward pass creates the file: the attack is real
    ingest.load_model(data, name="evil.pt", preprocess=PRE, trusted=True)
    assert target.stat().st_size == 64


def test_a_forward_that_reads_files_is_refused_and_reads_nothing(tmp_path, no_jit_load):
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"hunter2!")
    data = _save(_reader(str(secret)))
    _refused(data, "aten::from_file")
    assert no_jit_load == []
    model = ingest.load_model(data, name="evil.pt", preprocess=PRE, trusted=True)
    out = model.module(torch.zeros(1, 3, 8, 8))  # trusted, the secret's bytes come back as outputs
    assert bytes(out[0].to(torch.uint8).tolist()) == b"hunter2!"


def test_etc_passwd_is_refused():
    _refused(_save(_reader("/etc/passwd")), "aten::from_file")


def test_a_submodule_a_scripted_function_a_loop_and_an_if_are_all_checked(tmp_path, no_jit_load):
    _refused(_save(_Outer(str(tmp_path / "created.bin"))), "aten::from_file")
    assert no_jit_load == [] and not (tmp_path / "created.bin").exists()


def _leak(path: str, n: int) -> torch.Tensor:  # compiled as a scripted function called from forward
    return torch.from_file(path, True, n, dtype=torch.uint8).float()


class _Inner(torch.nn.Module):
    def __init__(self, path: str):
        super().__init__()
        self.path = path

    def forward(self, x):
        for _ in range(2):
            if bool(x.sum() > 1e9):
                x = x + _leak(self.path, 16).sum()
        return x.mean(dim=(2, 3))


class _Outer(torch.nn.Module):
    def __init__(self, path: str):
        super().__init__()
        self.inner = _Inner(path)

    def forward(self, x):
        return self.inner(x)


class _SetState(torch.nn.Module):
    def __init__(self, path: str):
        super().__init__()
        self.w = torch.nn.Parameter(torch.ones(1))
        self.path = path

    def forward(self, x):
        return x.mean(dim=(2, 3)) * self.w

    @torch.jit.export
    def __getstate__(self):
        return (self.w, self.path, self.training)

    @torch.jit.export
    def __setstate__(self, state: tuple[torch.Tensor, str, bool]):
        self.path = state[1]
        self.training = state[2]
        self.w = state[0] + torch.from_file(self.path, True, 8, dtype=torch.uint8)[:1].float() * 0


def test_setstate_runs_at_load_so_it_is_refused_before_loading(tmp_path, no_jit_load):
    target = tmp_path / "created_at_load.bin"
    data = _save(_SetState(str(target)))
    _refused(data, "aten::from_file")
    assert no_jit_load == [] and not target.exists()
    # plain torch.jit.load runs __setstate__: the file appears before anything is called
    legacy_torch_export(lambda: torch.jit.load(io.BytesIO(data)))
    assert target.exists()


def _edited(replacement: str) -> bytes:
    """A TorchScript file whose forward source was edited by hand (archives are just zips).

    ``replacement`` takes the place of ``torch.relu(x)``; a ``;``-separated prefix is put in as
    statements before the ``return``.
    """
    class Plain(torch.nn.Module):
        def forward(self, x):
            return torch.relu(x).mean(dim=(2, 3))
    data = _save(Plain())
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        items = [(i.filename, archive.read(i.filename)) for i in archive.infolist()]
    code = next(n for n, _ in items if n.endswith(".py") and "/code/" in n)
    statements, _, expression = replacement.rpartition(";")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, content in items:
            if name == code:
                text = content.decode()
                line = next(t for t in text.splitlines() if "torch.relu(x)" in t)
                indent = line[: len(line) - len(line.lstrip())]
                extra = "".join(f"{indent}{st.strip()}\n" for st in statements.split(";") if st.strip())
                text = text.replace(line, extra + line.replace("torch.relu(x)", expression.strip() or "x"))
                content = text.encode()
            archive.writestr(name, content)
    return out.getvalue()


@pytest.mark.parametrize("replacement, calls", [
    ('ops.aten.from_file("/tmp/x", True, 3)', "aten::from_file"),
    ('torch.ops.aten.save(x, "/tmp/x")', "aten::save"),
    ('_f = getattr(torch, "from_file"); x', "getattr(torch, ...), torch as a value"),
    ("t = torch; t.relu(x)", "torch as a value"),
    ('(x).from_file("/tmp/x", True, 3)', "the method from_file"),
    ("print(x); x", "print"),
    ("_s = torch.manual_seed(0); x", "aten::manual_seed"),
    ("import os; x", "import"),
])
def test_hand_edited_archives_are_refused(replacement, calls, no_jit_load):
    _refused(_edited(replacement), calls)
    assert no_jit_load == []


def test_the_graph_check_walks_every_method_of_a_loaded_module(tmp_path):
    module = legacy_torch_export(lambda: torch.jit.script(_writer(str(tmp_path / "x.bin"))))
    with pytest.raises(ingest.UntrustedFileError) as info:
        _torchscript.check_graphs(module, "m.pt")
    assert str(info.value) == E.TORCHSCRIPT_REFUSED.format(name="m.pt", calls="aten::from_file")
    assert not (tmp_path / "x.bin").exists()


def test_explain_on_a_hostile_torchscript_exits_2_with_one_sentence(tmp_path, capsys):
    target = tmp_path / "created.bin"
    (tmp_path / "evil.pt").write_bytes(_save(_writer(str(target))))
    Image.new("RGB", (8, 8)).save(tmp_path / "x.png")
    code, _, err = run_cli(["explain", "--model", tmp_path / "evil.pt", "--image", tmp_path / "x.png",
                            "--method", "integrated_gradients", "--out", tmp_path / "map.npy"], capsys)
    refused = E.TORCHSCRIPT_REFUSED.format(name="evil.pt", calls="aten::from_file")
    assert_one_sentence_exit_2(code, err, refused)
    assert not target.exists() and not (tmp_path / "map.npy").exists()


# ------------------------------------------------------------------ the opposite: ordinary exports load
@pytest.mark.parametrize("how", ["script", "trace"])
def test_resnet18_scripted_and_traced_load_without_trust(how):
    import torchvision

    torch.manual_seed(0)
    net = torchvision.models.resnet18(weights=None, num_classes=3).eval()
    x = torch.randn(1, 3, 64, 64)
    exported = legacy_torch_export(
        lambda: torch.jit.script(net) if how == "script" else torch.jit.trace(net, x))
    buffer = io.BytesIO()
    legacy_torch_export(lambda: torch.jit.save(exported, buffer))
    assert ingest.untrusted_parts(buffer.getvalue(), name="r.pt") == ()
    model = ingest.load_model(buffer.getvalue(), name="r.pt", preprocess={"size": [64, 64]})
    assert model.kind == "torchscript" and len(model.classes_) == 3
    with torch.no_grad():
        np.testing.assert_allclose(model.module(x).numpy(), net(x).numpy(), rtol=1e-4, atol=1e-5)


def test_the_sample_cnn_and_a_small_cnn_load_through_the_check():
    model = gw_samples.digits_model("torchscript")
    assert model.kind == "torchscript" and list(model.classes_) == [str(d) for d in range(10)]
    torch.manual_seed(0)
    assert ingest.load_model(_save(TinyCNN().eval()), name="t.pt", preprocess=PRE).kind == "torchscript"
