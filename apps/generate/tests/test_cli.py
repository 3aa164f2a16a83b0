"""s4-generate end to end on a tiny trained SaShiMi: both ways (training flags + checkpoint,
run folder), Lightning .ckpt and plain .pt, valid WAV files, and clear errors before work."""

from __future__ import annotations

import json
import wave

import pytest
import torch
from s4_generate import GenerateError, main, parse_options, run


@pytest.fixture(scope="module")
def trained(audio_env, tiny_sashimi, tmp_path_factory):
    """One tiny training run (2 batches) -> its folder and Lightning checkpoint."""
    from s4_train.run import run_experiment

    out = tmp_path_factory.mktemp("run")
    results = run_experiment(tiny_sashimi, output_dir=out)
    ckpt = results["last_ckpt"] or results["best_ckpt"]
    assert ckpt
    return out, ckpt


def _wav(path):
    with wave.open(str(path), "rb") as f:
        return f.getnframes(), f.getframerate(), f.getnchannels(), f.getsampwidth()


def test_training_flags_plus_checkpoint_writes_wavs(trained, tiny_sashimi, tmp_path):
    _, ckpt = trained
    options = parse_options(
        [
            f"checkpoint_path={ckpt}",
            "n_samples=3",
            "l_sample=40",
            "l_prefix=9",
            "seed=1",
            f"output_dir={tmp_path}",
            "progress=false",
        ]
    )
    summary = run(options, tiny_sashimi)
    assert summary["decode"] == "audio" and summary["sample_rate"] == 8000
    assert len(summary["files"]) == 3
    for path in summary["files"]:
        assert _wav(path) == (40, 8000, 1, 2)
    tokens = torch.as_tensor(__import__("numpy").load(tmp_path / "tokens.npy"))
    assert tokens.shape == (3, 40) and int(tokens.max()) < 256
    assert json.loads((tmp_path / "generate.json").read_text())["samples_per_second"] > 0


def test_run_folder_way_and_plain_state_dict(trained, tiny_sashimi, tmp_path):
    run_dir, ckpt = trained
    out = tmp_path / "a"
    code = main([f"experiment_path={run_dir}", "n_samples=2", "l_sample=16", f"output_dir={out}"])
    assert code == 0
    assert [_wav(out / f"sample_00{i}.wav")[0] for i in range(2)] == [16, 16]
    # a plain state dict of the network (no Lightning) loads the same way
    state = torch.load(ckpt, map_location="cpu", weights_only=True)["state_dict"]
    plain = {k.removeprefix("network."): v for k, v in state.items()}
    torch.save(plain, tmp_path / "weights.pt")
    out = tmp_path / "b"
    args = [f"checkpoint_path={tmp_path / 'weights.pt'}", "n_samples=1", "l_sample=8"]
    assert main([*args, f"output_dir={out}", "progress=false", *tiny_sashimi]) == 0
    assert _wav(out / "sample_000.wav")[0] == 8


def test_checkpoint_of_another_config_names_the_mismatched_keys(trained, tiny_sashimi, tmp_path):
    _, ckpt = trained
    options = parse_options([f"checkpoint_path={ckpt}", "l_sample=8", f"output_dir={tmp_path}"])
    with pytest.raises(GenerateError) as err:
        run(options, [*tiny_sashimi, "model.d_model=12"])
    message = str(err.value)
    assert "model.d_model (checkpoint 8, config 12)" in message
    assert (
        "shape mismatches" in message and "A_imag: checkpoint (32, 2), network (48, 2)" in message
    )
    assert not (tmp_path / "tokens.npy").exists()


def test_bad_options_fail_before_any_work(audio_env, tiny_sashimi, tmp_path, capsys):
    missing = tmp_path / "never-read.ckpt"  # the errors come before the checkpoint is looked up
    for bad, needle in (
        ("temperature=0", "temperature: expected a finite value > 0, got 0.0"),
        ("temperature=-1", "temperature: expected"),
        ("top_p=0", "top_p: expected a value in (0, 1]"),
        ("l_prefix=65", "l_prefix: expected at most the dataset's sequence length 64"),
        ("l_sample=3", "l_sample: expected a length > max(l_prefix, 1) = 4"),
    ):
        extra = ["l_prefix=4"] if bad.startswith("l_sample") else []
        code = main(
            [f"checkpoint_path={missing}", bad, *extra, f"output_dir={tmp_path}", *tiny_sashimi]
        )
        assert code == 2
        assert needle in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(GenerateError, match="checkpoint_path: expected checkpoint_path=CKPT"):
        parse_options(["n_samples=2"])
    with pytest.raises(GenerateError, match="n_samples"):
        parse_options(["checkpoint_path=x", "n_samples=many"])


def test_corrupt_checkpoint_is_named(audio_env, tiny_sashimi, tmp_path, capsys):
    bad = tmp_path / "bad.ckpt"
    bad.write_bytes(b"not a checkpoint")
    assert main([f"checkpoint_path={bad}", "l_sample=8", *tiny_sashimi]) == 2
    assert f"checkpoint_path: '{bad}' is not a readable torch checkpoint" in capsys.readouterr().err
