"""LightningDataModule over an s4_tasks dataset.

The data order is seeded and set per epoch (``DistributedSampler(seed=train.seed)`` with
``set_epoch``), for one process as for DDP: epoch e sees the same permutation whether the run
was interrupted and resumed or not, which is what lets a resumed run continue the exact loss
curve. In DDP each process reads its own shard; val/test are sharded too (the sampler pads the
last shard by repeating a few items, as Lightning's own default does).
"""

from __future__ import annotations

from typing import Any

import lightning.pytorch as pl
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from s4_train.network import DataSpec


class SequenceDataModule(pl.LightningDataModule):
    """``dataset``: the ``dataset`` config section (``name`` + s4_tasks.get_dataset kwargs);
    ``loader``: the ``loader`` section; ``seed``: the data-order seed."""

    def __init__(self, dataset: dict[str, Any], loader: dict[str, Any], seed: int = 0) -> None:
        super().__init__()
        self.dataset_config = dict(dataset)
        self.loader_config = dict(loader)
        self.seed = int(seed)
        self.data: Any = None

    def load(self) -> DataSpec:
        """Build the s4_tasks dataset once (idempotent) and return its spec."""
        if self.data is None:
            from s4_tasks import get_dataset

            kwargs = dict(self.dataset_config)
            name = kwargs.pop("name")
            self.data = get_dataset(name, **kwargs)
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
        sampler = None
        if train or world_size > 1:
            sampler = DistributedSampler(
                dataset,
                num_replicas=world_size,
                rank=rank,
                shuffle=train,
                seed=self.seed,
                drop_last=False,
            )
        workers = int(cfg.get("num_workers", 0))
        return DataLoader(
            dataset,
            batch_size=batch_size,
            sampler=sampler,
            shuffle=False,
            num_workers=workers,
            pin_memory=bool(cfg.get("pin_memory", False)),
            drop_last=bool(cfg.get("drop_last", False)) and train,
            persistent_workers=workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader(self._split("train"), train=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self._split("val"), train=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader(self._split("test"), train=False)
