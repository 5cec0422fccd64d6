"""Tiny CLIP architectures with random weights, for testing model mechanics.

No pretrained CLIP weights can be had on the machines these tests run on, so
the tests build real open_clip and transformers architectures at a tiny size
with random weights. They check mechanics (shapes, batching, dtypes, devices,
writes, loading from files), never tag quality.
"""

import json
from pathlib import Path

TINY_OPEN_CLIP = "prime-tiny-ViT"

_OPEN_CLIP_CONFIG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "patch_size": 8, "head_width": 32},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}


def register_tiny_open_clip(folder: Path) -> str:
    """Registers the tiny open_clip config under :data:`TINY_OPEN_CLIP`; returns its name."""
    import open_clip

    if TINY_OPEN_CLIP not in open_clip.list_models():
        path = Path(folder) / f"{TINY_OPEN_CLIP}.json"
        path.write_text(json.dumps(_OPEN_CLIP_CONFIG))
        open_clip.add_model_config(str(path))
    return TINY_OPEN_CLIP


def save_tiny_transformers_clip(folder: Path, words) -> str:
    """Writes a tiny random CLIPModel with a word-level tokenizer and an image
    processor to ``folder`` (as ``save_pretrained`` does); returns the path."""
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel

    torch.manual_seed(0)
    tokenizer, size = _word_tokenizer(words, 32)
    text_config, vision_config = _tiny_configs(size + 8, 32)
    config = CLIPConfig(text_config=text_config, vision_config=vision_config, projection_dim=16)
    folder = Path(folder)
    CLIPModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    CLIPImageProcessor(
        size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}
    ).save_pretrained(folder)
    return str(folder)


def _tiny_configs(vocab_size, max_positions):
    """The text and vision configs of the tiny transformers models."""
    text = dict(
        vocab_size=vocab_size,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        max_position_embeddings=max_positions,
        eos_token_id=2,
        pad_token_id=0,
    )
    vision = dict(
        image_size=32,
        patch_size=8,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
    )
    return text, vision


TINY_OPEN_CLIP_SIGLIP = (
    "prime-tiny-ViT-sigmoid"  # no "siglip" in the name: open_clip would fetch the SigLIP tokenizer
)


def register_tiny_open_clip_siglip(folder: Path) -> str:
    """The tiny open_clip config with a learned logit bias, as open_clip's
    SigLIP configs have (``init_logit_bias``): a sigmoid-trained model."""
    import open_clip

    if TINY_OPEN_CLIP_SIGLIP not in open_clip.list_models():
        config = {**_OPEN_CLIP_CONFIG, "init_logit_bias": -10.0}
        path = Path(folder) / f"{TINY_OPEN_CLIP_SIGLIP}.json"
        path.write_text(json.dumps(config))
        open_clip.add_model_config(str(path))
    return TINY_OPEN_CLIP_SIGLIP


def _word_tokenizer(words, max_length):
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {"[PAD]": 0, "[UNK]": 1, "[EOS]": 2}
    for w in sorted({w for text in words for w in text.lower().replace(".", " ").split()}):
        vocab.setdefault(w, len(vocab))
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        eos_token="[EOS]",
        model_max_length=max_length,
    ), len(vocab)


def save_tiny_transformers_siglip(folder: Path, words) -> str:
    """Writes a tiny random SiglipModel (a logit scale and a logit bias), a
    word-level tokenizer and an image processor to ``folder``."""
    import torch
    from transformers import SiglipConfig, SiglipImageProcessor, SiglipModel

    torch.manual_seed(0)
    tokenizer, size = _word_tokenizer(words, 16)
    text_config, vision_config = _tiny_configs(size + 8, 16)
    config = SiglipConfig(text_config=text_config, vision_config=vision_config)
    model = SiglipModel(config)
    with torch.no_grad():  # a scale and bias like trained SigLIPs (random init: 1 and 0)
        model.logit_scale.fill_(2.3)  # exp: about 10
        model.logit_bias.fill_(-2.0)
    folder = Path(folder)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    SiglipImageProcessor(size={"height": 32, "width": 32}).save_pretrained(folder)
    return str(folder)
