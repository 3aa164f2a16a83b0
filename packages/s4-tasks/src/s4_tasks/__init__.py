"""Sequence tasks for the S4 toolkit: datasets, encoders, decoders, metrics.

``get_dataset(name, **kwargs) -> SequenceDataset`` builds a task by name (``DATASETS`` lists
them); ``encoders.build_encoder`` / ``decoders.build_decoder`` map inputs to and from a
model's (B, L, d_model) features; ``metrics`` holds accuracy, cross-entropy, bits per dim,
perplexity and MSE. Nothing here knows about models, Lightning or Hydra.
"""

from s4_tasks import audio, decoders, encoders, fixtures, lm, metrics
from s4_tasks.__about__ import __version__
from s4_tasks.arrays import npz
from s4_tasks.base import DataFormatError, MissingDataError, SequenceDataset
from s4_tasks.cifar import cifar10, read_cifar_batch
from s4_tasks.decoders import AdaptiveSoftmax, build_decoder
from s4_tasks.download import ChecksumError, DownloadError, UnverifiedDownloadWarning, download
from s4_tasks.encoders import AdaptiveInput, build_encoder
from s4_tasks.metrics import METRICS, METRICS_FOR, loss_for
from s4_tasks.mnist import mnist, read_idx
from s4_tasks.registry import DATASETS, dataset_kwargs, get_dataset
from s4_tasks.sources import SOURCES
from s4_tasks.speech_commands import speech_commands
from s4_tasks.synthetic import adding, copying

__all__ = [
    "DATASETS",
    "METRICS",
    "METRICS_FOR",
    "SOURCES",
    "AdaptiveInput",
    "AdaptiveSoftmax",
    "ChecksumError",
    "DataFormatError",
    "DownloadError",
    "MissingDataError",
    "SequenceDataset",
    "UnverifiedDownloadWarning",
    "__version__",
    "adding",
    "audio",
    "build_decoder",
    "build_encoder",
    "cifar10",
    "copying",
    "dataset_kwargs",
    "decoders",
    "download",
    "encoders",
    "fixtures",
    "get_dataset",
    "lm",
    "loss_for",
    "metrics",
    "mnist",
    "npz",
    "read_cifar_batch",
    "read_idx",
    "speech_commands",
]
