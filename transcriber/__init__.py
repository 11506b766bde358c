"""transcriber: folders of recordings in, clean and verbatim transcripts out."""

__version__ = "0.1.0"
