"""``s4-generate``: sample from a trained model through step mode.

Two ways, as in the original repository::

    s4-generate experiment=audio/sashimi-synthetic checkpoint_path=outputs/.../last.ckpt \\
        n_samples=4 l_sample=8000 temperature=1.0
    s4-generate experiment_path=outputs/sashimi-synthetic/2026-01-01_12-00-00 n_samples=4

Every ``key=value`` naming a :class:`~s4_generate.options.GenerateOptions` field is a
generation option; the rest are training-config overrides (way 1) or updates of the run's
config (way 2). Bad options fail before anything is loaded; a bad ``l_prefix`` / ``l_sample``
fails once the dataset length is known, before the checkpoint is read.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import torch

from s4_generate.options import GenerateError, GenerateOptions, parse_options, split_argv
from s4_layers import retain_freed_memory

USAGE = __doc__.split("\n\n", 1)[1].split("Every", 1)[0].rstrip()


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise GenerateError(f"device: expected an available device, got {name!r} (no CUDA)")
    return torch.device(name)


def _prompts(data, options: GenerateOptions, generator: torch.Generator, start: int):
    """(n_samples, max(l_prefix, 1)) prompt tokens: prefixes of seeded random items of the
    split (with replacement when n_samples exceeds it), or the start token."""
    n = options.n_samples
    if options.l_prefix == 0:
        return torch.full((n, 1), start, dtype=torch.long)
    split = getattr(data, options.split)
    if len(split) == 0:
        raise GenerateError(
            f"split: expected a non-empty split for the prefix, got {options.split!r}"
        )
    if n <= len(split):
        index = torch.randperm(len(split), generator=generator)[:n]
    else:
        index = torch.randint(len(split), (n,), generator=generator)
    return torch.stack([split[int(i)][0][: options.l_prefix] for i in index]).long()


class _Progress:
    """rich progress bar over generated samples, with samples/s."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.enabled, self.total = enabled, total
        self.bar: Any = None

    def __enter__(self) -> _Progress:
        if self.enabled:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            self.bar = Progress(
                TextColumn("generating"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]:.0f} samples/s"),
                TimeRemainingColumn(),
                transient=False,
            )
            self.bar.start()
            self.task = self.bar.add_task("generate", total=self.total, rate=0.0)
            self.start = time.perf_counter()
        return self

    def advance(self, n: int) -> None:
        if self.bar is not None:
            done = self.bar.tasks[0].completed + n
            rate = done / max(time.perf_counter() - self.start, 1e-9)
            self.bar.update(self.task, advance=n, rate=rate)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


def run(options: GenerateOptions, overrides: Sequence[str] = ()) -> dict[str, Any]:
    """Generate and write the samples; returns the summary also written to generate.json."""
    from s4_generate.loading import (
        build_network,
        find_checkpoint,
        load_config,
        load_data,
        load_weights,
    )
    from s4_generate.output import resolve_decode, start_token, write_outputs
    from s4_generate.sampling import check_generative, generate

    device = _device(options.device)
    cfg = load_config(options, overrides)
    data, spec = load_data(cfg)
    if options.l_prefix > spec.l_max:
        raise GenerateError(
            f"l_prefix: expected at most the dataset's sequence length {spec.l_max} "
            f"({spec.name}), got {options.l_prefix}"
        )
    l_sample = options.l_sample if options.l_sample is not None else spec.l_max
    if l_sample <= max(options.l_prefix, 1):
        raise GenerateError(
            f"l_sample: expected a length > max(l_prefix, 1) = {max(options.l_prefix, 1)}, "
            f"got {l_sample}"
        )
    decode = resolve_decode(options.decode, data.info)
    network = build_network(cfg, spec)
    check_generative(network, spec)
    checkpoint = find_checkpoint(options)
    load_weights(network, checkpoint, cfg)
    network = network.to(device).eval()

    generator = torch.Generator().manual_seed(options.seed)
    prompts = _prompts(data, options, generator, start_token(data.info, decode))
    batch = options.batch_size or options.n_samples
    new_per_row = l_sample - prompts.shape[1]
    rows = []
    sampler = torch.Generator(device=device).manual_seed(options.seed)
    begin = time.perf_counter()
    with _Progress(options.n_samples * new_per_row, options.progress) as bar:
        for lo in range(0, options.n_samples, batch):
            prompt = prompts[lo : lo + batch].to(device)
            rows.append(
                generate(
                    network,
                    prompt,
                    l_sample,
                    options.temperature,
                    options.top_p,
                    sampler,
                    on_step=bar.advance,
                ).cpu()
            )
    seconds = time.perf_counter() - begin
    tokens = torch.cat(rows)
    out = _output_dir(options, cfg)
    files = write_outputs(tokens, decode, data.info, out)
    summary = {
        "checkpoint": str(checkpoint),
        "dataset": spec.name,
        "decode": decode,
        "n_samples": options.n_samples,
        "l_sample": l_sample,
        "l_prefix": options.l_prefix,
        "temperature": options.temperature,
        "top_p": options.top_p,
        "seed": options.seed,
        "device": str(device),
        "seconds": seconds,
        "samples_per_second": options.n_samples * new_per_row / max(seconds, 1e-9),
        "output_dir": str(out),
        "files": [str(f) for f in files],
    }
    if decode == "audio":
        summary["sample_rate"] = int(data.info["sample_rate"])
    (out / "generate.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def _output_dir(options: GenerateOptions, cfg) -> Path:
    if options.output_dir is not None:
        return Path(options.output_dir)
    stamp = datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    if options.experiment_path is not None:
        return Path(options.experiment_path) / "generated" / stamp
    return Path("generated") / str(cfg.name) / stamp


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        from s4_generate.options import GenerateOptions as Options

        print(f"usage:\n{USAGE}\n\noptions (key=value):\n{Options.__doc__}")
        return 0
    retain_freed_memory()  # as s4-train does (s4_layers.memory): no page faults per tensor
    try:
        items, overrides = split_argv(argv)
        options = parse_options(items)
        summary = run(options, overrides)
    except GenerateError as err:
        print(f"s4-generate: error: {err}", file=sys.stderr)
        return 2
    except Exception as err:  # config composition / data errors: one line, not a traceback
        from hydra.errors import HydraException

        from s4_tasks import DataFormatError

        if isinstance(err, (HydraException, DataFormatError, FileNotFoundError)):
            print(f"s4-generate: error: {err}", file=sys.stderr)
            return 2
        raise
    print(
        f"s4-generate: {summary['n_samples']} x {summary['l_sample']} samples "
        f"({summary['decode']}) at {summary['samples_per_second']:.0f} samples/s -> "
        f"{summary['output_dir']}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
