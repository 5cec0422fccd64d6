"""precision="auto" on CPU: bf16 where the CPU runs it natively and it agrees
with fp32 on the first batch, fp32 elsewhere.

The machines these tests run on may lack AMX / AVX512-BF16, so detection is
mocked; the bf16-vs-fp32 check runs for real on a tiny random open_clip model
(random weights: a numerical check, not tag quality). Speed on an AMX CPU is
not measured here.
"""

import pytest
import torch

import fiftyone_prime as fp
from fiftyone_prime.models import base, load_encoder
from tests.integration.planted import planted_samples_with_images
from tests.tiny_models import register_tiny_open_clip


def cpuinfo(tmp_path, flags):
    path = tmp_path / "cpuinfo"
    path.write_text(f"processor\t: 0\nflags\t\t: fpu sse2 avx2 {flags}\n\nprocessor\t: 1\n")
    return str(path)


def test_native_bf16_detection(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX2")
    assert not base.cpu_has_native_bf16(cpuinfo(tmp_path, "fma"))
    assert base.cpu_has_native_bf16(cpuinfo(tmp_path, "avx512f avx512_bf16"))
    assert base.cpu_has_native_bf16(cpuinfo(tmp_path, "amx_tile amx_bf16"))
    assert not base.cpu_has_native_bf16(str(tmp_path / "missing"))
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX512_AMX")
    assert base.cpu_has_native_bf16(str(tmp_path / "missing"))


def test_auto_resolves_by_device_and_cpu(monkeypatch):
    monkeypatch.setattr(base, "cpu_has_native_bf16", lambda: True)
    assert base.resolve_precision("auto", "cpu") == "bf16"
    assert base.resolve_precision("auto", "cuda:0") == "fp16"
    assert base.resolve_precision("fp32", "cpu") == "fp32"  # an explicit choice stands
    monkeypatch.setattr(base, "cpu_has_native_bf16", lambda: False)
    assert base.resolve_precision("auto", "cpu") == "fp32"


@pytest.fixture
def images(make_dataset, tmp_path):
    dataset = make_dataset()
    dataset.add_samples(planted_samples_with_images(tmp_path)[:40])
    return dataset


def tag(images, tmp_path, field, precision="auto"):
    name = register_tiny_open_clip(tmp_path)
    torch.manual_seed(0)
    encoder = load_encoder(f"open_clip:{name}", pretrained=None, device="cpu", precision=precision)
    return fp.compute_tags(
        images,
        model=encoder,
        vocabulary=["snow", "night", "blur", "dog"],
        tags_field=field,
        num_workers=0,
        batch_size=16,
    ), encoder


def test_auto_keeps_bf16_when_it_agrees_with_fp32(images, tmp_path, monkeypatch):
    monkeypatch.setattr(base, "cpu_has_native_bf16", lambda: True)
    monkeypatch.setattr(base, "BF16_MIN_TOP1_AGREEMENT", 0.0)
    monkeypatch.setattr(base, "BF16_MAX_SIMILARITY_DIFF", 1.0)
    summary, _encoder = tag(images, tmp_path, "t1")
    check = summary.precision_check
    assert summary.precision == "bf16" and check["chosen"] == "bf16"
    assert check["images"] == 16  # the first batch
    assert 0.0 <= check["top1_agreement"] <= 1.0 and check["max_similarity_diff"] >= 0.0
    assert summary.num_tagged == 40


def test_auto_falls_back_to_fp32_when_bf16_disagrees(images, tmp_path, monkeypatch):
    monkeypatch.setattr(base, "cpu_has_native_bf16", lambda: True)
    monkeypatch.setattr(base, "BF16_MAX_SIMILARITY_DIFF", -1.0)  # nothing can agree
    summary, _encoder = tag(images, tmp_path, "t2")
    assert summary.precision == "fp32" and summary.precision_check["chosen"] == "fp32"
    # fp32 from then on: the tags equal an fp32 run's
    fp32, _ = tag(images, tmp_path, "t3", precision="fp32")
    assert fp32.precision_check is None
    a = images.values("t2.classifications.label")
    b = images.values("t3.classifications.label")
    assert a == b


def test_no_check_without_native_bf16_or_with_an_explicit_precision(images, tmp_path, monkeypatch):
    monkeypatch.setattr(base, "cpu_has_native_bf16", lambda: False)
    summary, _ = tag(images, tmp_path, "t4")
    assert summary.precision == "fp32" and summary.precision_check is None
    monkeypatch.setattr(base, "cpu_has_native_bf16", lambda: True)
    summary, _ = tag(images, tmp_path, "t5", precision="bf16")
    assert summary.precision == "bf16" and summary.precision_check is None
