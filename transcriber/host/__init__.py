"""Host side: GPU discovery, env files, the container request and its runner, doctor checks.

Nothing here imports torch, ctranslate2 or transformers: the host needs only `invoke` and `docker`.
"""
