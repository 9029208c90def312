"""Timeline band, probability bars and level meter widgets."""

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Static

from streaming.events import WindowEvent
from tui.palette import COLOURS, colour


class EmotionTimeline(Widget):
    """The smoothed emotion over the last `span_seconds` as a coloured band, newest right."""

    DEFAULT_CSS = "EmotionTimeline { height: 4; }"
    span_seconds: reactive[float] = reactive(180.0)

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.segments: list[tuple[float, float, str | None]] = []

    def add(self, event: WindowEvent) -> None:
        self.segments.append((event.span_start, event.end, event.smoothed))
        self.refresh()

    def render(self) -> Text:
        width = max(10, self.size.width)
        now = self.segments[-1][1] if self.segments else 0.0
        start = max(0.0, now - self.span_seconds)
        per_cell = self.span_seconds / width
        cells: list[str | bool | None] = [False] * width  # False: no audio yet
        for seg_start, seg_end, label in self.segments:
            if seg_end <= start:
                continue
            first = int((max(seg_start, start) - start) / per_cell)
            last = int((seg_end - start) / per_cell - 1e-9)
            for i in range(max(0, first), min(width, last + 1)):
                cells[i] = label
        band = Text()
        for cell in cells:
            band.append(" " if cell is False else "█", style="" if cell is False else colour(cell))
        minutes = self.span_seconds / 60
        axis = Text(f"{_clock(start)}".ljust(width - 8) + f"{_clock(start + self.span_seconds)}")
        caption = Text(f"last {minutes:.0f} min  ", style="dim")
        for name in COLOURS:
            caption.append("█ ", style=COLOURS[name]).append(f"{name}  ", style="dim")
        caption.append("█ ", style=colour(None)).append("silence", style="dim")
        return Text("\n").join([band, band, axis, caption])


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes:02d}:{secs:02d}"


class ProbabilityBars(Static):
    """Current class probabilities as horizontal bars; the top class highlighted."""

    def show(self, event: WindowEvent) -> None:
        width = 28
        top = max(event.probs, key=event.probs.get)
        text = Text()
        for name, p in event.probs.items():
            filled = round(p * width)
            style = f"bold {colour(name)}" if name == top and event.speech else colour(name)
            text.append(f"{name:<8} ", style="bold" if name == top else "")
            text.append("█" * filled, style=style)
            text.append("░" * (width - filled) + f" {p:5.2f}\n", style="dim")
        state = f"now: {event.smoothed}" if event.speech else "now: silence (no emotion claimed)"
        text.append(state, style=f"bold {colour(event.smoothed)}" if event.speech else "dim")
        self.update(text)


class LevelMeter(Static):
    """Input level of the newest audio in dBFS, -60..0."""

    def show(self, level_db: float, speech: bool) -> None:
        width = 30
        filled = max(0, min(width, round((level_db + 60) / 60 * width)))
        text = Text("level ")
        text.append("▮" * filled, style="green" if speech else "grey50")
        text.append("▯" * (width - filled), style="dim")
        text.append(f" {level_db:6.1f} dBFS  {'speech' if speech else 'silence'}")
        self.update(text)
