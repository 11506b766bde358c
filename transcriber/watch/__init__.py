"""`transcriber watch`: a folder that transcribes itself (settle, events, status, the loop)."""
