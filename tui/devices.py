"""The device picker: input devices with a live level meter for the highlighted one; Enter
starts the session on it."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from tui.widgets import LevelMeter


class LevelProbe(Protocol):
    """A running level reading of one device."""

    def level(self) -> float: ...

    def close(self) -> None: ...


@dataclass
class DeviceChoice:
    """What the picker offers: the devices, and how to listen to one of them."""

    devices: list[dict[str, Any]]
    probe: Callable[[int], LevelProbe]


class DevicePicker(Screen[int]):
    """Lists input devices (name, channels, native rate, default marked); returns the index."""

    BINDINGS: ClassVar = [("enter", "choose", "Start"), ("q", "app.quit", "Quit")]

    def __init__(self, choice: DeviceChoice) -> None:
        super().__init__()
        self.choice = choice
        self._probe: LevelProbe | None = None
        self._probing: int | None = None

    def compose(self) -> ComposeResult:
        yield Static("Choose a microphone (↑/↓, Enter to start)", id="picker-title")
        yield DataTable(id="devices", cursor_type="row")
        yield LevelMeter("level —", id="picker-level")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("", "#", "name", "channels", "rate")
        for d in self.choice.devices:
            mark = "★" if d.get("default") else ""
            rate = f"{d['default_samplerate']:.0f} Hz"
            table.add_row(mark, str(d["index"]), d["name"], str(d["channels"]), rate)
        default = next((i for i, d in enumerate(self.choice.devices) if d.get("default")), 0)
        table.move_cursor(row=default)
        table.focus()
        self.set_interval(0.1, self._show_level)

    def selected(self) -> int:
        """Device index of the highlighted row."""
        return int(self.choice.devices[self.query_one(DataTable).cursor_row]["index"])

    def _show_level(self) -> None:
        index = self.selected()
        if index != self._probing:
            self._close_probe()
            try:
                self._probe, self._probing = self.choice.probe(index), index
            except Exception as exc:
                self.query_one("#picker-level", LevelMeter).update(f"level: cannot open ({exc})")
                self._probing = index
                return
        if self._probe is not None:
            self.query_one("#picker-level", LevelMeter).show(self._probe.level())

    def _close_probe(self) -> None:
        if self._probe is not None:
            self._probe.close()
        self._probe = None

    def action_choose(self) -> None:
        self._close_probe()
        self.dismiss(self.selected())

    def on_data_table_row_selected(self) -> None:
        self.action_choose()
