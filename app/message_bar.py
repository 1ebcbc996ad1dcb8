"""The message bar above the views: bad input and failures are reported there, never in a blocking dialog,
so the window stays usable."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QWidget


class MessageBar(QFrame):
    """A dismissable line above the views for errors, warnings and hints (never a blocking dialog)."""

    STYLES = {
        "error": ("#3a1d22", "#ffa8a8", "#c92a2a"),
        "warning": ("#382f1a", "#ffd43b", "#e67700"),
        "info": ("#1b2c3d", "#a5d8ff", "#1c7ed6"),
    }

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.level = ""
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.action_button = QPushButton()
        self.action_button.hide()
        self._action = None
        self.action_button.clicked.connect(self._run_action)
        close = QToolButton()
        close.setText("✕")
        close.setAutoRaise(True)
        close.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 4, 4, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.action_button)
        layout.addWidget(close)
        self.hide()

    def show_message(self, text: str, level: str = "error", action: tuple[str, object] | None = None) -> None:
        bg, fg, border = self.STYLES.get(level, self.STYLES["info"])
        self.level = level
        self.setStyleSheet(f"MessageBar {{ background: {bg}; border: 1px solid {border}; border-radius: 4px; }}"
                           f"QLabel {{ color: {fg}; }}")
        self.label.setText(text)
        if action is not None:
            self.action_button.setText(action[0])
            self._action = action[1]
            self.action_button.show()
        else:
            self._action = None
            self.action_button.hide()
        self.show()

    def text(self) -> str:
        return self.label.text() if self.isVisible() else ""

    def _run_action(self) -> None:
        action = self._action
        self.hide()
        if action is not None:
            action()
