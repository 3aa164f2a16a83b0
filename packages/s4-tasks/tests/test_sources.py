import re

from s4_tasks import SOURCES, dataset_kwargs

# publishers that give no checksum: their entries say so instead of carrying a guessed digest
NO_PUBLISHED_DIGEST = {"lra", "wikitext2", "wikitext103"}


def test_entries_without_a_published_digest_say_so_and_carry_none():
    assert NO_PUBLISHED_DIGEST <= set(SOURCES)
    for name in NO_PUBLISHED_DIGEST:
        for resource in SOURCES[name].resources:
            assert resource.sha256 is None and resource.md5 is None and resource.size is None
            assert not resource.sha256_verified and "no checksum" in resource.unverified
            assert all(u.startswith("https://") for u in resource.urls)
            assert all(u.endswith(resource.filename) for u in resource.urls)
    lra = SOURCES["lra"].resources[0]
    assert lra.urls == ("https://storage.googleapis.com/long-range-arena/lra_release.gz",)
    assert SOURCES["wikitext103"].resources[0].filename == "wikitext-103-v1.zip"
    assert SOURCES["wikitext2"].resources[0].filename == "wikitext-2-v1.zip"


def test_every_official_file_has_a_verified_sha256_and_size():
    assert {"mnist", "cifar10", "speech_commands", "sc09"} <= set(SOURCES)
    for name, source in SOURCES.items():
        if name in NO_PUBLISHED_DIGEST:
            continue
        assert source.resources and source.size and source.size > 0
        for resource in source.resources:
            assert re.fullmatch(r"[0-9a-f]{64}", resource.sha256), resource.filename
            assert resource.sha256_verified, resource.filename
            assert resource.md5 is None or re.fullmatch(r"[0-9a-f]{32}", resource.md5)
            assert resource.size and resource.size > 0
            assert all(u.startswith(("https://", "http://")) for u in resource.urls)
            assert all(u.endswith(resource.filename) for u in resource.urls)


def test_published_values_of_the_archives():
    cifar = SOURCES["cifar10"].resources[0]
    assert (cifar.size, cifar.md5) == (170498071, "c58f30108f718f92721af3b95e74349a")
    assert SOURCES["speech_commands"].resources[0].size == 2428923189
    assert len(SOURCES["mnist"].resources) == 4


def test_loader_defaults_point_at_the_download_layout():
    for name, source in SOURCES.items():
        for dataset in source.serves or (name,):
            default_root = dataset_kwargs(dataset)["root"]
            # generator-backed LRA tasks default to no root (generated); their docs name it
            assert default_root in (f"data/{source.loader_root}", None), dataset
        assert source.marker == source.loader_root or source.marker.startswith(
            source.loader_root + "/"
        )
