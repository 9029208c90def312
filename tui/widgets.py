"""Live-screen widgets: emotion lanes (a heat map of the stream), the now panel, the change log,
the session panel and a level meter. Each draws only what fits its size."""

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Static

from streaming.events import WindowEvent
from streaming.summary import SILENCE
from tui.history import WindowHistory, WindowMark
from tui.palette import SILENCE_COLOUR, blend, colour

SPANS = (30.0, 60.0, 120.0, 300.0, 600.0)  # zoom steps of the visible span, seconds
TICKS = (5, 10, 15, 30, 60, 120, 300)
LABEL_WIDTH = 9


def clock(seconds: float) -> str:
    """Stream time as m:ss (h:mm:ss past an hour)."""
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


class EmotionLanes(Widget):
    """One lane per class plus silence, time running left to right; each cell's colour is that
    class's probability in that window, dotted where the window is uncertain. The smoothed label
    runs as a band above the lanes ("?" over uncertain windows)."""

    span: reactive[float] = reactive(SPANS[1])
    view_end: reactive[float | None] = reactive(None)  # None: follow the live end

    def __init__(self, history: WindowHistory, labels: tuple[str, ...], **kw: object) -> None:
        super().__init__(**kw)
        self.history, self.labels = history, labels

    def visible(self) -> tuple[float, float]:
        """[start, end) stream seconds on screen."""
        end = self.history.last if self.view_end is None else self.view_end
        end = max(end, self.span)
        return end - self.span, end

    def zoom(self, step: int) -> None:
        """Widen (+1) or narrow (-1) the visible span along SPANS."""
        index = min(range(len(SPANS)), key=lambda i: abs(SPANS[i] - self.span))
        self.span = SPANS[max(0, min(len(SPANS) - 1, index + step))]

    def scroll(self, fraction: float) -> None:
        """Move the view by `fraction` of the span (back is negative); stays in the history."""
        end = self.visible()[1]
        latest, earliest = max(self.history.last, self.span), self.history.first + self.span
        target = end + fraction * self.span
        self.view_end = None if target >= latest else max(earliest, target)

    def render(self) -> Text:
        width, height = self.size.width, self.size.height
        cols = max(1, width - LABEL_WIDTH)
        start, end = self.visible()
        cells = self._cells(start, end, cols)
        lane_rows = max(1, (height - 2) // (len(self.labels) + 1))
        rows = [self._band(cells)]
        for i, name in enumerate((*self.labels, SILENCE)):
            lane = self._lane(cells, i)  # coloured once, repeated for a taller lane
            for r in range(lane_rows):
                label = name if r == lane_rows // 2 else ""
                rows.append(Text(label.ljust(LABEL_WIDTH)[:LABEL_WIDTH], style="bold") + lane)
        rows.append(self._axis(start, end, cols))
        return Text("\n").join(rows[:height])

    def _cells(self, start: float, end: float, cols: int) -> list[WindowMark | None]:
        per = (end - start) / cols
        cells: list[WindowMark | None] = [None] * cols
        for mark in self.history.between(start, end):
            first = max(0, int((mark.span_start - start) / per))
            last = min(cols - 1, int((mark.end - start) / per - 1e-9))
            for c in range(first, last + 1):
                cells[c] = mark
        return cells

    def _band(self, cells: list[WindowMark | None]) -> Text:
        text = Text("smoothed".ljust(LABEL_WIDTH), style="dim")
        for mark in cells:
            style = "" if mark is None else f"black on {colour(mark.smoothed)}"
            text.append("?" if mark is not None and mark.uncertain else " ", style=style)
        return text

    def _lane(self, cells: list[WindowMark | None], index: int) -> Text:
        text = Text()
        for mark in cells:
            if mark is None:
                text.append(" ")
                continue
            if index == len(self.labels):  # the silence lane
                strength, hue = (0.0 if mark.speech else 1.0), "#9aa0a6"
            else:
                strength = mark.probs[index] if mark.speech else 0.0
                hue = colour(self.labels[index])
            glyph = "·" if mark.uncertain and index < len(self.labels) else " "
            text.append(glyph, style=f"grey70 on {blend(SILENCE_COLOUR, hue, strength)}")
        return text

    def _axis(self, start: float, end: float, cols: int) -> Text:
        per = (end - start) / cols
        step = next((t for t in TICKS if t / per >= 12), TICKS[-1])
        line = [" "] * cols
        first = int(start // step + 1) * step
        for t in range(first, int(end) + 1, step):
            label = "|" + clock(t)
            c = int((t - start) / per)
            if c + len(label) <= cols:
                line[c : c + len(label)] = label
        mode = "live" if self.view_end is None else "scrolled"
        return Text(f"{int(self.span)}s {mode}".ljust(LABEL_WIDTH)[:LABEL_WIDTH] + "".join(line),
                    style="dim")  # fmt: skip


class NowPanel(Static):
    """This window's label and probability (marked unsure below the model's threshold), then
    the smoothed label on a line of its own, so the two never read as one claim; speaking now,
    the level, and this window's class bars (none for a silent window: it claims no emotion)."""

    def show(self, event: WindowEvent) -> None:
        text = Text(no_wrap=True, overflow="crop")
        if event.speech and event.probs:
            top = max(event.probs, key=event.probs.get)
            if event.uncertain:
                text.append(f" {top.upper()}? ", style=f"black on {colour(top)}")
                text.append(f" unsure: this window {event.probs[top]:.0%}\n", style="italic")
            else:
                text.append(f" {top.upper()} ", style=f"bold black on {colour(top)}")
                text.append(f" this window {event.probs[top]:.0%}\n")
        else:
            text.append(" SILENCE ", style="bold white on grey30")
            text.append(" this window: no emotion\n", style="dim")
        text.append("smoothed ", style="dim")
        text.append(f"{event.smoothed or 'silence'}\n", style=f"bold {colour(event.smoothed)}")
        speaking = "● speaking" if event.speaking else "○ silent now"
        text.append(speaking, style="green" if event.speaking else "dim")
        text.append(f" · {event.level_db:5.1f} dBFS\n", style="dim")
        if event.speech and event.probs:
            width = max(6, self.size.width - 18)
            for name, p in event.probs.items():
                filled = round(p * width)
                text.append(f"{name:<8}", style="bold" if name == top else "")
                text.append("█" * filled, style=colour(name))
                text.append("░" * (width - filled) + f" {p:4.2f}\n", style="dim")
        text.rstrip()
        self.update(text)


class ChangeLog(Static):
    """The latest changes of the smoothed label with their stream times, newest first."""

    def show(self, history: WindowHistory) -> None:
        rows = max(1, self.size.height)
        text = Text(no_wrap=True, overflow="crop")
        for change in list(history.changes)[:rows]:
            text.append(f"{clock(change.time)}  ", style="dim")
            text.append(change.previous or "silence", style=colour(change.previous))
            text.append(" → ")
            text.append(change.label or "silence", style=colour(change.label))
            text.append("\n")
        text.rstrip()
        self.update(text if history.changes else Text("no changes yet", style="dim"))


class SessionPanel(Static):
    """Share of time per emotion and silence so far, windows, drops, latency, model."""

    def show(self, summary: dict, status: dict) -> None:
        shares = list(summary["share"].items())
        half = (len(shares) + 1) // 2
        bar = max(2, (self.size.width - 2 - 26) // 2)  # two cells of name, bar, share
        text = Text(no_wrap=True, overflow="crop")
        for row in range(half):
            for name, share in shares[row::half][:2]:
                filled = round(share * bar)
                text.append(f"{name[:7]:<7} ")
                text.append("▇" * filled, style=colour(None if name == SILENCE else name))
                text.append("░" * (bar - filled), style="grey23")
                text.append(f"{share:>4.0%} ")
            text.append("\n")
        lat = summary["latency_ms"]
        text.append(
            f"windows {summary['windows']}  dropped {status['dropped']}  "
            f"overflows {status['overflows']}\n"
            f"latency p50 {lat['p50'] if lat['p50'] is not None else '—'} ms  "
            f"p95 {lat['p95'] if lat['p95'] is not None else '—'} ms\n",
            style="dim",
        )
        text.append(f"{status['model']} · {status['device']}", style="dim")
        self.update(text)


class LevelMeter(Static):
    """Input level in dBFS, -60..0, for the device picker."""

    def show(self, level_db: float) -> None:
        width = max(10, self.size.width - 20)
        filled = max(0, min(width, round((level_db + 60) / 60 * width)))
        text = Text("level ")
        text.append("▮" * filled, style="green" if level_db > -45 else "grey50")
        text.append("▯" * (width - filled), style="dim")
        text.append(f" {level_db:6.1f} dBFS")
        self.update(text)
