"""What a batch did: counts, times, who worked (Ray), what was left out; its closing lines and its exit code."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from transcriber.errors import EXIT_FILES_FAILED, EXIT_INTERRUPTED, EXIT_OK

if TYPE_CHECKING:
    from transcriber.cleanup.llm import LlmStats

#: Files left out named in the closing lines; past that, a count.
_LEFT_OUT_SHOWN = 20


@dataclass
class Summary:
    """Counts and times for the closing lines and the exit code."""

    done: int = 0
    skipped: int = 0
    failed: list[str] = field(default_factory=list)
    audio_seconds: float = 0.0
    wall_seconds: float = 0.0
    interrupted: bool = False
    stopped: bool = False
    llm: LlmStats | None = None
    #: One line per Ray worker (`--cluster ray`): where it ran, its files, audio seconds and throughput.
    workers: list[str] = field(default_factory=list)
    #: Files under the input that are not transcribed, each "name: reason" (not recordings, inside --output).
    left_out: list[str] = field(default_factory=list)
    #: Files transcribed to no words although the VAD hears speech in them (`transcriber.lost_speech`): written,
    #: so they do not change the exit code, but counted in the closing lines, where a quiet run shows them too.
    lost_speech: list[str] = field(default_factory=list)

    @property
    def real_time_factor(self) -> float:
        """Processing seconds per second of audio transcribed in this run (lower is faster)."""
        return self.wall_seconds / self.audio_seconds if self.audio_seconds else 0.0

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return EXIT_INTERRUPTED
        return EXIT_FILES_FAILED if self.failed or self.stopped else EXIT_OK

    def render(self) -> str:
        state = "interrupted" if self.interrupted else "stopped" if self.stopped else "finished"
        speed = f", real-time factor {self.real_time_factor:.3f}" if self.audio_seconds else ""
        line = (
            f"{state}: {self.done} done, {self.skipped} skipped, {len(self.failed)} failed; "
            f"{self.audio_seconds / 3600:.3f} h audio in {self.wall_seconds:.1f} s{speed}"
        )
        if self.llm is not None:
            line += (
                f"\nllm cleanup: {self.llm.chunks} chunks, {self.llm.fallbacks} fell back to the rules output, "
                f"{self.llm.tokens_per_second:.1f} tokens/s"
            )
        shown = [f"not transcribed: {item}" for item in self.left_out[:_LEFT_OUT_SHOWN]]
        if len(self.left_out) > _LEFT_OUT_SHOWN:
            shown.append(f"not transcribed: {len(self.left_out) - _LEFT_OUT_SHOWN} more files")
        return "\n".join([line, *self.workers, *self._warnings(), *shown])

    def _warnings(self) -> list[str]:
        """The closing line that counts the files with speech but no words, naming them (the first 20)."""
        if not self.lost_speech:
            return []
        count = len(self.lost_speech)
        names = ", ".join(self.lost_speech[:_LEFT_OUT_SHOWN])
        more = f" and {count - _LEFT_OUT_SHOWN} more" if count > _LEFT_OUT_SHOWN else ""
        return [f"{count} warning{'s' if count > 1 else ''}: speech heard but no words in {names}{more}"]
