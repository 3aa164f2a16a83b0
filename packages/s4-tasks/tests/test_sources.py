import re

from s4_tasks import SOURCES, dataset_kwargs


def test_every_official_file_has_a_verified_sha256_and_size():
    assert {"mnist", "cifar10", "speech_commands", "sc09"} <= set(SOURCES)
    for source in SOURCES.values():
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
        default_root = dataset_kwargs(name)["root"]
        assert default_root == f"data/{source.loader_root}"
        assert source.marker.startswith(source.loader_root + "/")
