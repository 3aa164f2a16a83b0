"""``s4_bench.original_layers``: loading the original from a folder (here the stand-in
tests/fake_original), its CPU adapters, the layer builder, and the errors."""

import sys
from pathlib import Path

import pytest

from s4_bench import original_layers

FAKE = Path(__file__).parent / "fake_original"


@pytest.fixture(autouse=True)
def _clean_modules(clean_original_modules):
    """Every test here loads the original (conftest's clean_original_modules)."""


def test_the_originals_gpu_reductions_run_on_the_cpu_backend(monkeypatch):
    monkeypatch.setattr(original_layers.torch.cuda, "is_available", lambda: False)
    s4, s4d = original_layers.load_original(FAKE)
    s4.Genred.backends_called.clear()
    assert s4.keops_reduction(backend="GPU") == "CPU"
    assert s4.Genred.backends_called == ["CPU"]
    # s4d.py's `from src.models.nn import DropoutNd` was served from s4.py
    assert sys.modules["src.models.nn"].DropoutNd is s4.DropoutNd
    assert s4d.S4D is not None


def test_the_dplr_layer_gets_its_cauchy_backend_attribute():
    s4, s4d = original_layers.load_original(FAKE)
    layer = original_layers.Layers(s4, s4d).build("original", "dplr", 4, 4, backend="naive")
    assert layer.layer.kernel.kernel == "naive"


def test_a_folder_without_the_original_is_a_clear_error(tmp_path):
    (tmp_path / "s4.py").write_text("")
    with pytest.raises(SystemExit, match="expected a folder with the original's standalone"):
        original_layers.load_original(tmp_path)
    (tmp_path / "s4d.py").write_text("")
    with pytest.raises(SystemExit, match="lacks S4Block, DropoutNd, cauchy_naive"):
        original_layers.load_original(tmp_path)


def test_a_missing_dependency_of_the_original_is_named(tmp_path):
    (tmp_path / "s4.py").write_text("import a_package_nobody_has\n")
    (tmp_path / "s4d.py").write_text("")
    with pytest.raises(SystemExit, match="needs a_package_nobody_has"):
        original_layers.load_original(tmp_path)
