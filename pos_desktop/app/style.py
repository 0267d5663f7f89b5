"""The register's look: large type and big touch targets, readable at arm's length."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton, QSizePolicy, QWidget

OK_COLOUR = "#1b7f3b"
ERROR_COLOUR = "#b3261e"
MUTED_COLOUR = "#5f6368"

STYLESHEET = f"""
QWidget {{ font-size: 20px; color: #1f1f1f; }}
QMainWindow, QDialog, #page {{ background: #f4f5f7; }}
QPushButton {{
    min-height: 64px; padding: 6px 18px; border-radius: 10px;
    border: 1px solid #c4c7cc; background: #ffffff; font-size: 22px;
}}
QPushButton:pressed {{ background: #dfe3e8; }}
QPushButton:disabled {{ color: #a0a4a8; background: #eceef1; border-color: #dcdfe3; }}
QPushButton[role="primary"] {{
    background: {OK_COLOUR}; color: white; border: none; font-weight: bold; font-size: 28px;
}}
QPushButton[role="primary"]:disabled {{ background: #9fc5ad; color: #eef5f0; }}
QPushButton[role="danger"] {{ color: {ERROR_COLOUR}; }}
QPushButton[role="danger"]:disabled {{ color: #a0a4a8; }}
QPushButton[role="cashier"] {{ min-height: 96px; font-size: 26px; }}
QPushButton[role="cashier"]:checked {{ background: #dbeafe; border: 3px solid #1a56db; }}
QPushButton[role="key"] {{ min-height: 72px; min-width: 96px; font-size: 30px; }}
QPushButton[role="padkey"] {{ min-height: 46px; min-width: 90px; font-size: 28px; }}
QLineEdit {{
    min-height: 60px; padding: 4px 14px; border-radius: 10px; border: 2px solid #1a56db;
    background: white; font-size: 28px;
}}
QTableWidget {{ background: white; border: 1px solid #c4c7cc; border-radius: 8px; font-size: 22px; }}
QTableWidget::item {{ padding: 8px; }}
QTableWidget::item:selected {{ background: #dbeafe; color: #1f1f1f; }}
QHeaderView::section {{ background: #eceef1; border: none; padding: 8px; font-size: 18px; color: {MUTED_COLOUR}; }}
#card {{ background: white; border: 1px solid #d5d8dc; border-radius: 12px; }}
#title {{ font-size: 30px; font-weight: bold; }}
#total {{ font-size: 56px; font-weight: bold; }}
#totalLabel {{ font-size: 24px; color: {MUTED_COLOUR}; }}
#change {{ font-size: 64px; font-weight: bold; color: {OK_COLOUR}; }}
#changeShort {{ font-size: 56px; font-weight: bold; color: {ERROR_COLOUR}; }}
#pinMask {{ font-size: 44px; letter-spacing: 8px; min-height: 64px; }}
#muted {{ color: {MUTED_COLOUR}; font-size: 18px; }}
#completed {{ background: #e6f4ea; border: 2px solid {OK_COLOUR}; border-radius: 12px; }}
#weighing {{ background: #fff4d6; border: 2px solid #c58a00; border-radius: 10px; }}
#weighingText {{ font-size: 22px; font-weight: bold; color: #6b4a00; }}
QPushButton[role="weigh"] {{ min-height: 52px; font-size: 18px; padding: 4px 6px; background: #fffaf0; }}
#prompt {{ font-size: 26px; font-weight: bold; color: #1a56db; }}
#approvalQuestion {{ font-size: 22px; font-weight: bold; color: #1a56db; }}
QComboBox#managerChoice {{
    min-height: 64px; padding: 4px 14px; border-radius: 10px; border: 1px solid #c4c7cc;
    background: white; font-size: 24px;
}}
QComboBox#managerChoice::drop-down {{ width: 56px; border: none; border-left: 1px solid #c4c7cc; }}
QComboBox#managerChoice::down-arrow {{
    image: url(:/qt-project.org/styles/commonstyle/images/arrow-down-32.png); width: 24px; height: 24px;
}}
QComboBox#managerChoice QAbstractItemView {{ font-size: 24px; }}
QComboBox#managerChoice QAbstractItemView::item {{ min-height: 64px; padding: 0 14px; }}
#alert {{ background: {ERROR_COLOUR}; color: white; font-size: 24px; font-weight: bold; padding: 10px; }}
"""


def set_message(label: QLabel, text: str, *, error: bool) -> None:
    """Show a sentence for the cashier, red when something needs their attention."""
    label.setText(text)
    colour = ERROR_COLOUR if error else OK_COLOUR
    label.setStyleSheet(f"color: {colour}; font-size: 21px; font-weight: {'bold' if error else 'normal'};")


def button(text: str, role: str = "", parent: QWidget | None = None) -> QPushButton:
    """A touch button that never takes keyboard focus (so the scan field keeps it)."""

    b = QPushButton(text, parent)
    if role:
        b.setProperty("role", role)
    b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    b.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
    return b


def card(parent: QWidget | None = None) -> QWidget:
    w = QWidget(parent)
    w.setObjectName("card")

    w.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
    return w
