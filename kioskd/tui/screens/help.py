"""Help: every key of the console, on one panel."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

HELP = """\
[b]kioskd diag[/b] — the hall's devices, live

  d  Devices       every device: state, since, counters, last error
  Enter            open the device under the cursor
  q  Queue         waiting per category; windows, clerks, tickets
  e  Events        the live event stream;  /  filter it
  u  Uplink        the link to central: backlog, acknowledged seq
  l  Logs          the daemon's last log lines

On a device:  t test   r reconnect   (and by type)
  printer  p print a test ticket   s status bytes decoded
  reader   c the card on the reader (masked)
  board    p test pattern   w write a text   x restore
  pad      p test rating prompt   c its answer
  camera   c capture a page   s status
  Esc back

  ?  this help     Ctrl+Q quit

Personal data never reaches this console: names are masked, ID
numbers and card data are hidden by the daemon before they leave it."""


class HelpScreen(ModalScreen):
    BINDINGS = [Binding("escape,question_mark,q", "app.pop_screen", "Close")]

    def compose(self) -> ComposeResult:
        with Vertical(id="help"):
            yield Static(HELP, id="help-text")
