"""The two small controls the parameters pane is built from: `Slider` and `FieldError`.

Styles live in `ui/styles/params.tcss` (component classes `slider--*`, `.field-error`).
"""

from __future__ import annotations

import math
from decimal import Decimal

from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Static

BAR_ROW = 1  # the bar is the second line; the first holds the label and the value


def _decimals(*numbers: float) -> int:
    return max(max(0, -int(Decimal(str(n)).normalize().as_tuple().exponent)) for n in numbers)


def _plain(number: float) -> str:
    """1.0 → "1", 0.25 → "0.25"."""
    return str(int(number)) if float(number).is_integer() else repr(float(number))


class Slider(Widget, can_focus=True):
    """A labelled horizontal bar for one number, or `None` (= the default, not sent).

    Keys: Left/Right a fine step, Shift+Left/Right and PageDown/PageUp a coarse step, Home/End
    the minimum/maximum, Delete, Backspace or `r` back to the default. The mouse: a click on the
    bar sets the value under the pointer, dragging moves it. Every change the user makes posts
    `Slider.Changed`; `set_value()` from code does not.

    Stepping from the default starts at `default`, or at `maximum` when the default is "no value"
    (an unset limit behaves like the largest one). Values are snapped to the fine step and rounded
    to its decimals, so 0.7 + 0.05 is exactly 0.75.
    """

    BINDINGS = [
        Binding("right", "step(1)", "Increase", id="slider.fine_up", show=False),
        Binding("left", "step(-1)", "Decrease", id="slider.fine_down", show=False),
        Binding("shift+right,pageup", "coarse(1)", "Increase more", id="slider.coarse_up", show=False),
        Binding("shift+left,pagedown", "coarse(-1)", "Decrease more", id="slider.coarse_down", show=False),
        Binding("home", "to_min", "Minimum", id="slider.min", show=False),
        Binding("end", "to_max", "Maximum", id="slider.max", show=False),
        Binding("delete,backspace,r", "reset", "Default", id="slider.reset", show=False),
    ]

    COMPONENT_CLASSES = {
        "slider--label",
        "slider--value",
        "slider--default",
        "slider--filled",
        "slider--empty",
        "slider--knob",
    }

    class Changed(Message):
        """The user changed the value (`None`: back to the default)."""

        def __init__(self, slider: "Slider", value: float | int | None) -> None:
            super().__init__()
            self.slider = slider
            self.value = value

        @property
        def control(self) -> "Slider":
            return self.slider

    def __init__(
        self,
        label: str,
        *,
        minimum: float,
        maximum: float,
        fine: float,
        coarse: float,
        value: float | int | None = None,
        default: float | int | None = None,
        integer: bool = False,
        default_text: str | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self.label = label
        self.default = default
        self.integer = integer
        self.default_text = default_text
        self._value = value
        self._dragging = False
        self.set_range(minimum, maximum, fine=fine, coarse=coarse)

    # -- state ------------------------------------------------------------------------------

    @property
    def value(self) -> float | int | None:
        return self._value

    def set_value(self, value: float | int | None) -> None:
        """Show `value` as it is (no message, no snapping)."""
        self._value = value
        self.refresh()

    def set_range(self, minimum: float, maximum: float, *, fine: float | None = None, coarse: float | None = None) -> None:
        """Change the range (the value is left alone: the owner decides whether to clamp)."""
        self.minimum, self.maximum = minimum, maximum
        if fine is not None:
            self.fine = fine
        if coarse is not None:
            self.coarse = coarse
        self._places = 0 if self.integer else _decimals(self.fine, self.minimum)
        self.refresh()

    def snap(self, value: float, *, direction: int = 0) -> float | int:
        """`value` clamped and put on the fine-step grid: nearest point, or the next one in
        `direction` (so a step from an off-grid value never moves backwards or stays put)."""
        steps = (value - self.minimum) / self.fine
        if direction > 0:
            steps = math.floor(steps + 1e-6)
        elif direction < 0:
            steps = math.ceil(steps - 1e-6)
        else:
            steps = round(steps)
        snapped = min(max(self.minimum + steps * self.fine, self.minimum), self.maximum)
        return int(round(snapped)) if self.integer else round(snapped, self._places)

    def _origin(self) -> float:
        return self.default if self.default is not None else self.maximum

    def _user_set(self, value: float | int | None) -> None:
        if value == self._value:
            return
        self._value = value
        self.refresh()
        self.post_message(self.Changed(self, value))

    # -- actions ----------------------------------------------------------------------------

    def _nudge(self, delta: float) -> None:
        start = self._origin() if self._value is None else self._value
        self._user_set(self.snap(start + delta, direction=1 if delta > 0 else -1))

    def action_step(self, direction: int) -> None:
        self._nudge(direction * self.fine)

    def action_coarse(self, direction: int) -> None:
        self._nudge(direction * self.coarse)

    def action_to_min(self) -> None:
        self._user_set(self.snap(self.minimum))

    def action_to_max(self) -> None:
        self._user_set(self.snap(self.maximum))

    def action_reset(self) -> None:
        self._user_set(None)

    # -- mouse ------------------------------------------------------------------------------

    def _value_at(self, x: int) -> float | int:
        span = max(self.content_size.width - 1, 1)
        fraction = min(max(x / span, 0.0), 1.0)
        return self.snap(self.minimum + fraction * (self.maximum - self.minimum))

    def on_mouse_down(self, event: events.MouseDown) -> None:
        offset = event.get_content_offset(self)
        if event.button != 1 or offset is None or offset.y != BAR_ROW:
            return
        self.focus()
        self._dragging = True
        self.capture_mouse()
        self._user_set(self._value_at(offset.x))
        event.stop()

    def on_mouse_move(self, event: events.MouseMove) -> None:
        if self._dragging:
            self._user_set(self._value_at(event.get_content_offset_capture(self).x))

    def on_mouse_up(self, event: events.MouseUp) -> None:
        if self._dragging:
            self._dragging = False
            self.release_mouse()
            event.stop()

    def on_mouse_release(self, event: events.MouseRelease) -> None:
        self._dragging = False

    # -- rendering --------------------------------------------------------------------------

    def value_text(self) -> str:
        """The exact value as shown: "0.70", "512", or "default (1)" when unset."""
        value = self._value
        if value is None:
            if self.default_text is not None:
                return self.default_text
            return "default" if self.default is None else f"default ({_plain(self.default)})"
        if self.integer or isinstance(value, int):
            return str(int(value)) if float(value).is_integer() else repr(value)
        text = f"{value:.{self._places}f}"
        return text if float(text) == value else repr(float(value))  # never hide digits

    def _style(self, name: str) -> Style:
        style = self.get_component_rich_style(name, partial=True)
        styles = self.get_component_styles(name)
        if styles.auto_color:
            # A partial style makes an "auto" colour ($text-muted) white whatever the background,
            # unreadable on a light theme: pick it against our own background.
            background = self.background_colors[1]
            style += Style(color=(background + background.get_contrast_text(styles.color.a)).rich_color)
        return style

    def render(self) -> Text:
        width = max(self.content_size.width, 3)
        label = Text(self.label, style=self._style("slider--label"), no_wrap=True)
        value = Text(
            self.value_text(),
            style=self._style("slider--default" if self._value is None else "slider--value"),
        )
        gap = max(1, width - label.cell_len - value.cell_len)
        top = Text.assemble(label, " " * gap, value, no_wrap=True)

        shown = self._origin() if self._value is None else self._value
        span = self.maximum - self.minimum
        fraction = 0.0 if span <= 0 else min(max((shown - self.minimum) / span, 0.0), 1.0)
        knob = round(fraction * (width - 1))
        bar = Text.assemble(
            ("━" * knob, self._style("slider--filled")),
            ("●", self._style("slider--knob")),
            ("─" * (width - 1 - knob), self._style("slider--empty")),
            no_wrap=True,
        )
        return Text("\n").join([top, bar])


class FieldError(Static):
    """The one-line message under a field: a ParamError text, shown literally, or nothing."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__("", id=id, classes=f"field-error {classes or ''}".strip(), markup=False)
        self.message: str | None = None

    def show(self, message: str | None) -> None:
        self.message = message or None
        self.update(Text(message or ""))
        self.set_class(bool(message), "-shown")
