"""LightningDataModule over an s4_tasks dataset.

The data order is seeded and set per epoch (``DistributedSampler(seed=train.seed)`` with
``set_epoch``), for one process as for DDP: epoch e sees the same permutation whether the run
was interrupted and resumed or not, which is what lets a resumed run continue the exact loss
curve. In DDP each process reads its own shard; val/test are sharded too (the sampler pads the
last shard by repeating a few items, as Lightning's own default does).

The train loader is resumable:
a checkpoint written mid-epoch records (in the datamodule's state) the epoch and the number of
batches already consumed,
and the resumed run skips exactly those indices of the same permutation, so resuming from any
checkpoint s4-train writes continues the uninterrupted run step for step.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import lightning.pytorch as pl
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from s4_train.config import ConfigError
from s4_train.spec import DataSpec


class ResumableSampler(DistributedSampler):
    """``DistributedSampler`` whose epoch ``resume_epoch`` starts ``resume_skip`` indices in
    (once): the rest of an epoch interrupted after ``resume_skip`` samples."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.resume_epoch: int | None = None
        self.resume_skip = 0

    def __iter__(self) -> Iterator[int]:
        indices = list(super().__iter__())
        if self.resume_epoch is not None and self.resume_epoch == self.epoch:
            indices = indices[self.resume_skip :]
        self.resume_epoch, self.resume_skip = None, 0
        return iter(indices)


class ResumableLoader(DataLoader):
    """The train DataLoader; it reports itself resumable to Lightning (``state_dict`` /
    ``load_state_dict``) because :class:`SequenceDataModule` saves and restores its position.

    (Lightning applies loader states only to a loader built after the checkpoint is restored;
    ours is built earlier, to count the stepping batches for the scheduler, so the position
    travels in the datamodule's state instead and ``load_state_dict`` here does nothing.)
    """

    def state_dict(self) -> dict[str, int]:
        return {}

    def load_state_dict(self, state: dict[str, int]) -> None:
        """The position is restored by :meth:`SequenceDataModule.load_state_dict`."""


class SequenceDataModule(pl.LightningDataModule):
    """``dataset``: the ``dataset`` config section (``name`` + s4_tasks.get_dataset kwargs);
    ``loader``: the ``loader`` section; ``seed``: the data-order seed."""

    def __init__(
        self,
        dataset: dict[str, Any],
        loader: dict[str, Any],
        seed: int = 0,
        state: dict[str, Any] | None = None,
    ) -> None:
        """``state``: the ``train.state`` section; a mode other than ``reset`` reads the
        dataset's token streams as consecutive chunks (:mod:`s4_train.stateful`)."""
        super().__init__()
        self.state_config = dict(state or {"mode": "reset"})
        self.dataset_config = dict(dataset)
        self.loader_config = dict(loader)
        self.seed = int(seed)
        self.data: Any = None
        self._train_sampler: ResumableSampler | None = None
        self._resume: dict[str, int] | None = None

    def state_dict(self) -> dict[str, int]:
        """The train data position: sampler epoch and batches of it already processed."""
        if self._train_sampler is None:
            return {}
        return {"epoch": int(self._train_sampler.epoch), "batches_done": self._batches_done()}

    def load_state_dict(self, state: dict[str, int]) -> None:
        if state:
            self._resume = dict(state)
            self._apply_resume()

    def _apply_resume(self) -> None:
        if self._resume is None or self._train_sampler is None:
            return
        batch_size = int(self.loader_config["batch_size"])
        self._train_sampler.resume_epoch = int(self._resume["epoch"])
        self._train_sampler.resume_skip = int(self._resume["batches_done"]) * batch_size
        self._resume = None

    def load(self) -> DataSpec:
        """Build the s4_tasks dataset once (idempotent) and return its spec."""
        if self.data is None:
            from s4_tasks import get_dataset

            kwargs = dict(self.dataset_config)
            name = kwargs.pop("name")
            self.data = get_dataset(name, **kwargs)
            empty = [s for s in ("train", "val", "test") if len(getattr(self.data, s)) == 0]
            if empty:
                # refuse rather than report metrics of nothing: an empty val split would also
                # leave the checkpoint monitor without a value
                sizes = {s: len(getattr(self.data, s)) for s in ("train", "val", "test")}
                raise ConfigError(
                    f"dataset: expected non-empty train/val/test splits, got sizes {sizes} "
                    f"(empty: {', '.join(empty)}); use more rows or larger "
                    "dataset.val_split / dataset.test_split"
                )
        return DataSpec.from_dataset(self.data)

    @property
    def spec(self) -> DataSpec:
        return self.load()

    def setup(self, stage: str | None = None) -> None:
        self.load()

    def _split(self, name: str) -> Dataset:
        self.load()
        return getattr(self.data, name)

    def _world(self) -> tuple[int, int]:
        trainer = self.trainer
        if trainer is None:
            return 1, 0
        return int(trainer.world_size), int(trainer.global_rank)

    def _loader(self, dataset: Dataset, train: bool) -> DataLoader:
        world_size, rank = self._world()
        cfg = self.loader_config
        batch_size = (
            cfg["batch_size"] if train else (cfg.get("eval_batch_size") or cfg["batch_size"])
        )
        workers = int(cfg.get("num_workers", 0))
        common = dict(
            batch_size=batch_size,
            shuffle=False,
            num_workers=workers,
            pin_memory=bool(cfg.get("pin_memory", False)),
            persistent_workers=workers > 0,
        )
        if train:
            sampler = ResumableSampler(
                dataset, num_replicas=world_size, rank=rank, shuffle=True, seed=self.seed
            )
            self._train_sampler = sampler
            self._apply_resume()
            return ResumableLoader(
                dataset, sampler=sampler, drop_last=bool(cfg.get("drop_last", False)), **common
            )
        sampler = None
        if world_size > 1:
            sampler = DistributedSampler(
                dataset,
                num_replicas=world_size,
                rank=rank,
                shuffle=False,
                seed=self.seed,
                drop_last=False,
            )
        return DataLoader(dataset, sampler=sampler, **common)

    def _batches_done(self) -> int:
        """Training batches of this epoch whose optimizer step is done (the trainer's count)."""
        trainer = self.trainer
        if trainer is None:
            return 0
        return int(trainer.fit_loop.epoch_loop.batch_progress.current.processed)

    @property
    def stateful(self) -> bool:
        return str(getattr(self.state_config["mode"], "name", self.state_config["mode"])) != "reset"

    def _stream_loader(self, split: str, train: bool) -> DataLoader:
        from s4_train.stateful import StreamChunks

        streams = (self.data.info or {}).get("streams") if self.load() else None
        if not streams or split not in streams:
            raise ConfigError(
                f"train.state.mode: expected a dataset with token streams "
                f"(data.info['streams'][{split!r}]), got dataset {self.dataset_config['name']!r} "
                "without them (use train.state.mode=reset)"
            )
        cfg = self.loader_config
        batch_size = (
            cfg["batch_size"] if train else (cfg.get("eval_batch_size") or cfg["batch_size"])
        )
        mode = str(getattr(self.state_config["mode"], "name", self.state_config["mode"]))
        # bptt: one training item is bptt_batches consecutive chunks (backpropagated together);
        # evaluation reads the stream chunk by chunk with the state carried in every mode
        group = int(self.state_config.get("bptt_batches", 1)) if train and mode == "bptt" else 1
        chunks = StreamChunks(
            streams[split], int(batch_size), int(self.state_config["seq_len"]), group=group
        )
        if len(chunks) == 0:
            raise ConfigError(
                f"train.state: expected at least one chunk of {chunks.seq_len * group} tokens "
                f"per row in the {split!r} stream ({streams[split].numel()} tokens, "
                f"batch_size={batch_size}), got none; lower train.state.seq_len, "
                "bptt_batches or the batch size"
            )
        # stream order matters (row b of batch i+1 continues row b of batch i): no shuffling
        return DataLoader(chunks, batch_size=None, shuffle=False)

    def train_dataloader(self) -> DataLoader:
        if self.stateful:
            return self._stream_loader("train", train=True)
        return self._loader(self._split("train"), train=True)

    def val_dataloader(self) -> DataLoader:
        if self.stateful:
            return self._stream_loader("val", train=False)
        return self._loader(self._split("val"), train=False)

    def test_dataloader(self) -> DataLoader:
        if self.stateful:
            return self._stream_loader("test", train=False)
        return self._loader(self._split("test"), train=False)
