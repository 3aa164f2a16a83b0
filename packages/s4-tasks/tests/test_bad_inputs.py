"""Bad input at the public boundary -> a ValueError (or subclass) that names the argument."""

import numpy as np
import pytest
import torch

from s4_tasks import get_dataset
from s4_tasks.audio import decode, encode
from s4_tasks.decoders import AdaptiveSoftmax, build_decoder
from s4_tasks.encoders import AdaptiveInput, adaptive_clusters
from s4_tasks.lm import Vocab

CASES = [
    # (call, error type, text the message must contain)
    (lambda: get_dataset("nope"), ValueError, "unknown dataset 'nope'"),
    (lambda: get_dataset("char", seq_lenn=3), ValueError, "seq_lenn"),
    (lambda: get_dataset("char", seq_len=0), ValueError, "seq_len"),
    (lambda: get_dataset("char", level="word"), ValueError, "level"),
    (lambda: get_dataset("char", val_fraction=1.5), ValueError, "val_fraction"),
    (lambda: get_dataset("char", val_fraction=0.6, test_fraction=0.5), ValueError, "test_fraction"),
    (lambda: get_dataset("char", seq_len=10**7), ValueError, "seq_len"),
    (lambda: get_dataset("wikitext2", seq_len=-1), ValueError, "seq_len"),
    (lambda: get_dataset("audio_synthetic", bits=True), ValueError, "bits"),
    (lambda: get_dataset("audio_synthetic", quantization="alaw"), ValueError, "quantization"),
    (lambda: get_dataset("audio_synthetic", clip_seconds=0), ValueError, "clip_seconds"),
    (lambda: get_dataset("audio_synthetic", sample_rate=10), ValueError, "sample_rate"),
    (lambda: get_dataset("audio_synthetic", n_train=0), ValueError, "n_train"),
    (lambda: get_dataset("audio_folder", bits=17), ValueError, "bits"),
    (lambda: get_dataset("audio_folder", test_fraction=-0.1), ValueError, "test_fraction"),
    (lambda: get_dataset("sc09", quantization="ulaw"), ValueError, "quantization"),
    (lambda: get_dataset("copying", seq_len="long"), ValueError, "seq_len"),
    (lambda: encode(np.zeros(2), "mu-law", 0), ValueError, "bits"),
    (lambda: decode(torch.tensor([300]), "mu-law", 8), ValueError, "tokens"),
    (lambda: Vocab(["a", "a"], "char"), ValueError, "itos"),
    (lambda: Vocab(["a"], "morpheme"), ValueError, "level"),
    (lambda: Vocab(["a"], "char").decode([3]), ValueError, "ids"),
    (lambda: adaptive_clusters(10, [20], 8, 4), ValueError, "cutoffs"),
    (lambda: adaptive_clusters(10, [5], 8, 0.5), ValueError, "div_val"),
    (lambda: AdaptiveInput(10, 4, [5])(torch.tensor([1.0])), ValueError, "x"),
    (lambda: AdaptiveSoftmax(4, 10, [5])(torch.zeros(2, 3)), ValueError, "h"),
    (lambda: build_decoder("ranking", 4, 2), ValueError, "output_kind"),
]


@pytest.mark.parametrize("call, error, text", CASES, ids=[c[2] for c in CASES])
def test_bad_input_names_the_argument(call, error, text):
    with pytest.raises(error) as info:
        call()
    assert text in str(info.value)
