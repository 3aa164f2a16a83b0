"""s4-generate: autoregressive sampling from trained S4 / SaShiMi models through step mode.

``s4-generate ... checkpoint_path=CKPT`` or ``s4-generate experiment_path=RUN_DIR``; from
Python: :func:`run` with :class:`GenerateOptions`, or the pieces :func:`generate`,
:func:`warm_up`, :func:`sample_tokens`, :func:`teacher_forced_logits`.
"""

from s4_generate.__about__ import __version__
from s4_generate.cli import main, run
from s4_generate.options import GenerateError, GenerateOptions, parse_options
from s4_generate.sampling import (
    check_generative,
    generate,
    sample_tokens,
    teacher_forced_logits,
    warm_up,
)

__all__ = [
    "GenerateError",
    "GenerateOptions",
    "__version__",
    "check_generative",
    "generate",
    "main",
    "parse_options",
    "run",
    "sample_tokens",
    "teacher_forced_logits",
    "warm_up",
]
