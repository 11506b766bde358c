"""ASR and audio-LLM engines behind one small protocol (`transcriber.engines.base.Engine`)."""
