"""``s4-train [experiment=NAME] [key=value ...]``: the Hydra entry point.

Hydra composes ``configs/`` (found by :func:`s4_train.config.find_config_dir`) against the
typed schemas, so a misspelt key or a wrong type stops here with a short message naming the key
(set ``HYDRA_FULL_ERROR=1`` for the full trace). Outputs go to ``hydra.run.dir``
(``outputs/<name>/<date>_<time>`` by default).
"""

from __future__ import annotations

import sys
from pathlib import Path

from omegaconf import DictConfig

from s4_train.config import ConfigError, find_config_dir, validate
from s4_train.schema import register_configs


def worker_error_message(err: BaseException) -> str | None:
    """The original message of an exception re-raised from a DataLoader worker (torch wraps
    it in "Caught X in DataLoader worker process N. Original Traceback ..."), else None."""
    text = str(err)
    if "DataLoader worker process" not in text:
        return None
    last = [line for line in text.strip().splitlines() if line.strip()][-1]
    # the traceback's last line is "module.ErrorType: message"
    head, sep, message = last.partition(": ")
    return message if sep and " " not in head else last


def _task(cfg: DictConfig) -> None:
    from hydra.core.hydra_config import HydraConfig

    from s4_tasks import DataFormatError

    output_dir = HydraConfig.get().runtime.output_dir
    try:
        validate(cfg)  # before importing Lightning: a config error answers in a second
        from s4_train.guards import TrainingError
        from s4_train.run import train

        try:
            results = train(cfg, output_dir, validated=True)
        except TrainingError as err:
            print(f"s4-train: training stopped: {err}", file=sys.stderr)
            raise SystemExit(3) from None
    except ConfigError as err:
        print(f"s4-train: config error: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    except (FileNotFoundError, DataFormatError) as err:
        # missing or malformed dataset files: the loader's message names the file and the fix
        print(f"s4-train: data error: {worker_error_message(err) or err}", file=sys.stderr)
        raise SystemExit(2) from None
    except Exception as err:
        message = worker_error_message(err)
        if message is None:
            raise
        print(f"s4-train: data error (in a DataLoader worker): {message}", file=sys.stderr)
        raise SystemExit(2) from None
    if results.get("interrupted") is not None:
        signum = int(results["interrupted"])
        print(
            f"s4-train: interrupted (signal {signum}) at step {results['global_step']}; "
            f"state saved to {results['last_ckpt']}; resume with train.ckpt=last "
            f"or train.ckpt={results['last_ckpt']}",
            file=sys.stderr,
        )
        raise SystemExit(128 + signum)
    if results.get("global_rank", 0) != 0:
        return
    val, test = results.get("val", {}), results.get("test", {})
    summary = ", ".join(
        f"{split}/{k.split('/')[-1]}={v:.4f}"
        for split, metrics in (("val", val), ("test", test))
        for k, v in metrics.items()
    )
    print(
        f"s4-train: {results['name']}: {results['epochs']} epochs, {results['global_step']} steps "
        f"in {results['wall_seconds']:.1f} s; {summary}; chance={results['chance']}; "
        f"outputs in {results.get('output_dir', output_dir)}"
    )


def help_text(config_dir: Path) -> str:
    """``s4-train --help``: the header and footer of ``config.yaml``'s ``hydra.help`` and every
    group with its options read from the config tree. Hydra's own help would also list the
    ``schema_*`` nodes (typed bases of the YAML files, not options to pick)."""
    from omegaconf import OmegaConf

    help_cfg = OmegaConf.load(config_dir / "config.yaml").hydra.help
    groups: dict[str, list[str]] = {}
    for path in sorted(config_dir.rglob("*.yaml")):
        rel = path.relative_to(config_dir)
        if len(rel.parts) < 2 or path.stem.startswith("schema_"):
            continue
        group, option = rel.parts[0], "/".join((*rel.parts[1:-1], path.stem))
        groups.setdefault(group, []).append(option)
    lines = [str(help_cfg.header).replace("$$", "$").rstrip(), "", "== Config groups =="]
    for group, options in groups.items():
        prefix = "+" if group == "debug" else ""  # not in the defaults list: appended
        lines.append(f"{prefix}{group}: {', '.join(options)}")
    lines += ["", str(help_cfg.footer).replace("$$", "$").rstrip()]
    lines.append("Hydra's own options: s4-train --hydra-help")
    return "\n".join(lines)


def main() -> None:
    import hydra

    try:
        config_dir = find_config_dir()
    except ConfigError as err:
        print(f"s4-train: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    if "--help" in sys.argv[1:] or "-h" in sys.argv[1:]:
        print(help_text(config_dir))
        return
    register_configs()
    hydra.main(version_base="1.3", config_path=str(config_dir), config_name="config")(_task)()


if __name__ == "__main__":
    main()
