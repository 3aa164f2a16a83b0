"""Where the public datasets come from, with their published sizes and checksums.

Provenance of the digests (no file was hashed here: this machine has no internet):

- MNIST: MD5s as published with torchvision's MNIST mirror; SHA-256s and sizes as listed by
  TensorFlow Datasets / Keras for the same four files. Both cross-checked in several
  independent public listings that agree byte for byte.
- CIFAR-10: MD5 ``c58f3010...`` is the one the authors publish on
  https://www.cs.toronto.edu/~kriz/cifar.html; the SHA-256 and the size (170,498,071 bytes)
  are the ones Keras / TensorFlow Datasets verify against.
- Speech Commands v0.02: SHA-256 as published by torchaudio and the TensorFlow Datasets
  checksum list; size 2,428,923,189 bytes (TFDS).

- LRA release (``lra_release.gz``, Tay et al. 2021) and WikiText-2 / WikiText-103 (the
  ``-v1.zip`` archives of Merity et al. 2016): their publishers give NO checksum and no size,
  and none could be computed here (no network), so ``sha256`` and ``size`` are None and
  ``s4-data download`` warns that the file is NOT verified (``UnverifiedDownloadWarning``). A
  digest is never guessed; fill one in once it is known from a trusted copy.

``sha256_verified`` records whether a digest was confirmed by at least two independent
published sources. A digest that could not be confirmed is left as None (``unverified`` says
why) rather than guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

SHA256_PROVENANCE = "published digests (TFDS / Keras / torchaudio), cross-checked"


@dataclass(frozen=True)
class Resource:
    """One file to fetch: mirrors in order of preference, and what it must hash to."""

    filename: str
    urls: tuple[str, ...]
    sha256: str | None
    size: int | None = None
    md5: str | None = None
    sha256_verified: bool = False
    unverified: str | None = None  # why there is no digest to check (sha256 None)


@dataclass(frozen=True)
class Source:
    """A downloadable dataset.

    Files go to ``root/download_dir``; tar archives are extracted into ``root/extract_to``;
    the dataset counts as present when ``root/marker`` exists; ``root/loader_root`` is what to
    pass as the loader's ``root``.
    """

    name: str
    description: str
    resources: tuple[Resource, ...]
    download_dir: str
    loader_root: str
    marker: str
    extract_to: str | None = None
    serves: tuple[str, ...] = ()  # dataset names read from this download, when not ``name``

    @property
    def size(self) -> int | None:
        sizes = [r.size for r in self.resources]
        return None if any(s is None for s in sizes) else sum(s for s in sizes if s)


_MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)


def _mnist(filename: str, size: int, sha256: str, md5: str) -> Resource:
    return Resource(
        filename=filename,
        urls=tuple(m + filename for m in _MNIST_MIRRORS),
        sha256=sha256,
        size=size,
        md5=md5,
        sha256_verified=True,
    )


SOURCES: dict[str, Source] = {
    "mnist": Source(
        name="mnist",
        description="MNIST handwritten digits, idx files (gz), 60k train + 10k test",
        resources=(
            _mnist(
                "train-images-idx3-ubyte.gz",
                9912422,
                "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
                "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            ),
            _mnist(
                "train-labels-idx1-ubyte.gz",
                28881,
                "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
                "d53e105ee54ea40749a09fcbcd1e9432",
            ),
            _mnist(
                "t10k-images-idx3-ubyte.gz",
                1648877,
                "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
                "9fb629c4189551a2d022fa330f9573f3",
            ),
            _mnist(
                "t10k-labels-idx1-ubyte.gz",
                4542,
                "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
                "ec29112dd5afa0611ce80d1b7f02629c",
            ),
        ),
        download_dir="mnist",
        loader_root="mnist",
        marker="mnist/t10k-labels-idx1-ubyte.gz",
    ),
    "cifar10": Source(
        name="cifar10",
        description="CIFAR-10 python pickle batches, 50k train + 10k test 32x32 RGB",
        resources=(
            Resource(
                filename="cifar-10-python.tar.gz",
                urls=("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",),
                sha256="6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
                size=170498071,
                md5="c58f30108f718f92721af3b95e74349a",
                sha256_verified=True,
            ),
        ),
        download_dir="",
        extract_to="",  # the archive holds the folder cifar-10-batches-py/
        loader_root="cifar-10-batches-py",
        marker="cifar-10-batches-py/test_batch",
    ),
    "speech_commands": Source(
        name="speech_commands",
        description="Speech Commands v0.02, 105k one-second 16 kHz wav clips of 35 words",
        resources=(
            Resource(
                filename="speech_commands_v0.02.tar.gz",
                urls=(
                    "https://storage.googleapis.com/download.tensorflow.org/data/"
                    "speech_commands_v0.02.tar.gz",
                    "http://download.tensorflow.org/data/speech_commands_v0.02.tar.gz",
                ),
                sha256="af14739ee7dc311471de98f5f9d2c9191b18aedfe957f4a6ff791c709868ff58",
                size=2428923189,
                sha256_verified=True,
            ),
        ),
        download_dir="",
        extract_to="speech_commands_v0.02",  # the archive has no top-level folder
        loader_root="speech_commands_v0.02",
        marker="speech_commands_v0.02/testing_list.txt",
    ),
}

# SC09 (the digits zero..nine, SaShiMi) is read from the Speech Commands archive itself:
# `s4-data download sc09` fetches and verifies the same file into the same layout.
SOURCES["sc09"] = replace(
    SOURCES["speech_commands"],
    name="sc09",
    description="SC09: the spoken digits of Speech Commands v0.02 (same archive), audio LM",
)

_NO_PUBLISHED_DIGEST = "the publisher gives no checksum or size; the download is not verified"

# The LRA release (Tay et al. 2021, github.com/google-research/long-range-arena): one
# gzipped tar (~7.7 GB as the LRA README describes it; size not published exactly) holding
# lra_release/{listops-1000, tsv_data, pathfinder32, pathfinder64, pathfinder128, ...}.
# The readers accept root=data/lra_release or the folder inside it of the same name.
SOURCES["lra"] = Source(
    name="lra",
    description="Long Range Arena release: ListOps TSVs, AAN retrieval TSVs, Pathfinder/Path-X "
    "images (IMDB Text comes from aclImdb instead)",
    resources=(
        Resource(
            filename="lra_release.gz",
            urls=("https://storage.googleapis.com/long-range-arena/lra_release.gz",),
            sha256=None,
            unverified=_NO_PUBLISHED_DIGEST,
        ),
    ),
    download_dir="",
    extract_to="",  # the archive holds the folder lra_release/
    loader_root="lra_release",
    marker="lra_release",
    serves=("listops", "aan", "pathfinder"),
)


def _wikitext(name: str, folder: str, description: str) -> Source:
    archive = f"{folder}-v1.zip"
    return Source(
        name=name,
        description=description,
        resources=(
            Resource(
                filename=archive,
                urls=(
                    f"https://wikitext.smerity.com/{archive}",
                    f"https://s3.amazonaws.com/research.metamind.io/wikitext/{archive}",
                ),
                sha256=None,
                unverified=_NO_PUBLISHED_DIGEST,
            ),
        ),
        download_dir="",
        extract_to="",  # the zip holds the folder wikitext-2/ or wikitext-103/
        loader_root=folder,
        marker=f"{folder}/wiki.test.tokens",
    )


SOURCES["wikitext2"] = _wikitext(
    "wikitext2", "wikitext-2", "WikiText-2 word-level LM (v1, tokenised, <unk>), 2M train tokens"
)
SOURCES["wikitext103"] = _wikitext(
    "wikitext103",
    "wikitext-103",
    "WikiText-103 word-level LM (v1, tokenised, <unk>), 103M train tokens, 267k words",
)
