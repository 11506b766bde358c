"""A tiny random-weight SeamlessM4T v2 speech-to-text model, built from the real transformers classes.

Real config (`SeamlessM4Tv2Config`, every size shrunk), real model class (`SeamlessM4Tv2ForSpeechToText`), real
processor (`SeamlessM4TFeatureExtractor` + `SeamlessM4TTokenizer`, a BPE over letters with the `__eng__`-style
language tokens), and the generation config's `text_decoder_lang_to_code_id`, which is how the released model
maps `tgt_lang` to its first decoder token. So `transcriber run --backend seamless --model FOLDER` runs the
real feature extraction, generate and decode path; only the words are nonsense.
"""

from __future__ import annotations

import string
from pathlib import Path

LANGUAGES = ("eng", "deu", "fra", "spa")


def build_seamless(folder: Path) -> Path:
    import torch
    from transformers import (
        GenerationConfig,
        SeamlessM4TFeatureExtractor,
        SeamlessM4TProcessor,
        SeamlessM4TTokenizer,
        SeamlessM4Tv2Config,
        SeamlessM4Tv2ForSpeechToText,
    )

    vocab = {"<pad>": 0, "<unk>": 1, "<s>": 2, "</s>": 3}
    for piece in ["▁", *(f"▁{c}" for c in string.ascii_lowercase), *string.ascii_lowercase]:
        vocab[piece] = len(vocab)
    codes = [f"__{lang}__" for lang in LANGUAGES]
    tokenizer = SeamlessM4TTokenizer(vocab=vocab, merges=[], additional_special_tokens=codes)
    SeamlessM4TProcessor(feature_extractor=SeamlessM4TFeatureExtractor(), tokenizer=tokenizer).save_pretrained(folder)
    config = SeamlessM4Tv2Config(
        vocab_size=len(tokenizer), hidden_size=32, encoder_layers=1, decoder_layers=1, encoder_ffn_dim=64,
        decoder_ffn_dim=64, encoder_attention_heads=2, decoder_attention_heads=2, speech_encoder_layers=1,
        speech_encoder_attention_heads=2, speech_encoder_intermediate_size=64, t2u_encoder_layers=1,
        t2u_decoder_layers=1, t2u_encoder_ffn_dim=32, t2u_decoder_ffn_dim=32, t2u_encoder_attention_heads=2,
        t2u_decoder_attention_heads=2, t2u_vocab_size=32, char_vocab_size=32, t2u_variance_predictor_embed_dim=32,
        t2u_variance_predictor_hidden_dim=16, unit_embed_dim=32, upsample_initial_channel=32,
        unit_hifi_gan_vocab_size=32, lang_embed_dim=8, spkr_embed_dim=8, tie_word_embeddings=False,
    )  # fmt: skip
    torch.manual_seed(0)
    model = SeamlessM4Tv2ForSpeechToText(config)
    # Untied, and never writing a language token (as the released model does not), so that the first decoder
    # token, the target language, steers the text instead of being echoed.
    with torch.no_grad():
        model.lm_head.weight[tokenizer.convert_tokens_to_ids(codes)] = 0
    model.save_pretrained(folder)
    GenerationConfig(
        bos_token_id=2, eos_token_id=3, pad_token_id=0, decoder_start_token_id=3, max_new_tokens=64,
        text_decoder_lang_to_code_id=dict(zip(LANGUAGES, tokenizer.convert_tokens_to_ids(codes), strict=True)),
    ).save_pretrained(folder)  # fmt: skip
    return folder
