"""The app's views on their own: displacement view, events table, drag and drop, screenshot, settings dialog."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QMimeData, QPoint, QPointF, QSettings, Qt, QUrl  # noqa: E402
from PySide6.QtWidgets import QLabel  # noqa: E402
from PySide6.QtGui import QDropEvent  # noqa: E402

from app.displacement_view import DisplacementView  # noqa: E402
from app.main_window import MainWindow  # noqa: E402
from app.results import EventsTableModel, SessionResults  # noqa: E402
from app.settings import AppSettings, SettingsDialog, engine_config  # noqa: E402
from frl_core.spotting.config import SpotterConfig  # noqa: E402
from frl_core.types import Event  # noqa: E402


def smile_event(event_id: int = 1) -> Event:
    """An event whose displacement moves the mouth corners up and out."""
    disp = np.zeros((2, 224, 224), np.float32)
    disp[0, 150:190, 40:90], disp[1, 150:190, 40:90] = -0.8, -0.6
    disp[0, 150:190, 134:184], disp[1, 150:190, 134:184] = 0.8, -0.6
    face = np.full((224, 224), 120, np.uint8)
    return Event(event_id, 30, 36, 44, 1.0, 1.2, 1.47, "micro", 2.4, "positive",
                 {"negative": 0.1, "positive": 0.8, "surprise": 0.1}, disp, face, face.copy())


def test_displacement_view_shows_maps_and_the_moving_regions(qtbot):
    view = DisplacementView()
    qtbot.addWidget(view)
    view.resize(600, 480)
    view.show()
    assert not view.has_image()
    view.show_event(smile_event())
    assert view.has_image() and view.arrow_tile.image is not None and view.onset_tile.image is not None
    assert "positive (80%)" in view.header.text()
    widths = view.region_values()
    assert widths["right mouth corner"] > widths["right brow & eye"]
    assert widths["left mouth corner"] > widths["left brow & eye"]
    centre = view.map_tile.image.pixelColor(112, 20)
    mouth = view.map_tile.image.pixelColor(60, 170)
    assert centre.saturation() < 30 < mouth.saturation()


def test_an_uncertain_event_says_so_and_keeps_its_probabilities(qtbot):
    event = smile_event()
    event.label = "uncertain"
    event.probabilities = {"negative": 0.3, "positive": 0.45, "surprise": 0.25}
    view = DisplacementView()
    qtbot.addWidget(view)
    view.show_event(event)
    assert "uncertain (most likely positive, 45%)" in view.header.text()
    model = EventsTableModel(SessionResults())
    model.append([event])
    assert [model.data(model.index(0, c)) for c in (6, 7)] == ["uncertain (positive?)", "45%"]


def test_a_movement_made_while_talking_says_which_frame_its_apex_was_compared_with(qtbot):
    event = smile_event()
    view = DisplacementView()
    qtbot.addWidget(view)
    view.show_event(event)
    assert "talking" not in view.header.text()
    event.reference_index = 22
    view.show_event(event)
    assert "made while talking: the apex is compared with frame 22" in view.header.text()


def test_maps_of_different_events_share_one_colour_scale(qtbot):
    """Colour saturation is the displacement against one absolute range (2 px): a 0.5 px mouth is a quarter
    saturated, a 1 px mouth half, whatever else moved in the event."""
    weak, strong = smile_event(1), smile_event(2)
    weak.displacement = weak.displacement * 0.5
    strong.displacement = strong.displacement.copy()
    strong.displacement[:, 20:60, 40:90] = 3.0  # a far stronger movement elsewhere
    view = DisplacementView()
    qtbot.addWidget(view)
    view.show_event(weak)
    quarter = view.map_tile.image.pixelColor(60, 170).saturation()
    view.show_event(strong)
    half = view.map_tile.image.pixelColor(60, 170).saturation()
    assert abs(quarter - 64) <= 8 and abs(half - 128) <= 8


def test_events_table_lists_time_frames_label_and_confidence(qtbot):
    results = SessionResults()
    model = EventsTableModel(results)
    model.append([smile_event(1), smile_event(2)])
    assert model.rowCount() == 2
    row = [model.data(model.index(0, c)) for c in range(model.columnCount())]
    assert row == ["1", "0:01.20", "30", "36", "44", "micro", "positive", "80%", "", ""]
    talked = replace(smile_event(3), while_talking=True)
    model.append([talked])
    assert model.data(model.index(2, model.COLUMNS.index("talking"))) == "while talking"


def test_dropping_a_folder_opens_it(qtbot, tmp_path):
    settings = AppSettings.load(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    window = MainWindow(settings, probe_cameras=False)
    qtbot.addWidget(window)
    window.show()
    (tmp_path / "frames").mkdir()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(tmp_path / "frames"))])
    drop = QDropEvent(QPointF(QPoint(100, 100)), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                      Qt.KeyboardModifier.NoModifier)
    window.dropEvent(drop)
    qtbot.waitUntil(lambda: "holds no images" in window.banner.text(), timeout=10_000)


def test_screenshot_and_settings_dialog_round_trip(qtbot, tmp_path):
    settings = AppSettings.load(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    window = MainWindow(settings, probe_cameras=False)
    qtbot.addWidget(window)
    window.resize(900, 600)
    window.show()
    shot = window.save_screenshot(tmp_path / "shot")
    assert shot.suffix == ".png" and shot.stat().st_size > 5000
    dialog = SettingsDialog(settings, window)
    qtbot.addWidget(dialog)
    dialog.device.setCurrentIndex(dialog.device.findData("cpu"))
    dialog.threshold.setValue(4.5)
    dialog.show_regions.setChecked(False)
    assert dialog.rotate.currentData() == 0 and dialog.rotate.count() == 4
    dialog.rotate.setCurrentIndex(dialog.rotate.findData(270))
    assert dialog.follow.currentData() == "largest"
    dialog.follow.setCurrentIndex(dialog.follow.findData("right"))
    chosen = dialog.result_settings()
    assert (chosen.device, chosen.threshold, chosen.show_regions, chosen.rotate) == ("cpu", 4.5, False, 270)
    assert chosen.follow == "right" and engine_config(chosen, 30.0).face.follow == "right"
    assert dialog.leave_out_speech.isChecked() and engine_config(chosen, 30.0).spotter.speech_train == 3
    dialog.leave_out_speech.setChecked(False)
    assert engine_config(dialog.result_settings(), 30.0).spotter.speech_train == 0
    assert dialog.head_turns.isChecked() and engine_config(chosen, 30.0).spotter.head_turn
    dialog.head_turns.setChecked(False)
    assert not engine_config(dialog.result_settings(), 30.0).spotter.head_turn
    assert settings.device == "auto"


def test_a_stored_turn_that_is_not_a_quarter_turn_is_dropped(tmp_path):
    store = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    store.setValue("rotate", 45)
    store.setValue("follow", "middle")
    loaded = AppSettings.load(store)
    assert (loaded.rotate, loaded.follow) == (0, "largest")


def test_settings_show_the_spotters_real_values_with_units(qtbot, tmp_path):
    """A user must see 0.6 s and the real k (not "default"), step from there, and read what the numbers mean;
    a 0 stored by an older version means those defaults."""
    store = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    store.setValue("window_s", 0.0)
    store.setValue("threshold", 0.0)
    settings = AppSettings.load(store)
    dialog = SettingsDialog(settings)
    qtbot.addWidget(dialog)
    assert dialog.window_s.text() == "0.60 s"
    assert dialog.threshold.text() == f"median + {SpotterConfig.threshold_k:.1f} × robust SD"
    assert dialog.landmark_every_n.text() == "every frame"
    dialog.window_s.stepUp()
    dialog.threshold.setValue(3.0)
    chosen = dialog.result_settings()
    assert (round(chosen.window_s, 2), chosen.threshold) == (0.7, 3.0)
    qtbot.mouseClick(dialog.spotting_defaults, Qt.MouseButton.LeftButton)
    assert (dialog.window_s.value(), dialog.threshold.value()) == (0.6, SpotterConfig.threshold_k)


def test_a_threshold_stored_for_the_older_spotting_score_is_dropped(tmp_path):
    """k = 8 was the default of the first spotting score; on the current score it would hide most small
    movements. A factor saved with the current score stays."""
    store = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    store.setValue("threshold", 8.0)
    assert AppSettings.load(store).threshold == SpotterConfig.threshold_k
    settings = AppSettings.load(store)
    settings.threshold = 6.5
    settings.save()
    assert AppSettings.load(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)).threshold == 6.5


def laptop_window(qtbot, tmp_path) -> MainWindow:
    """The main window shown at a laptop's 1280x720, with its own settings file."""
    settings = AppSettings.load(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    window = MainWindow(settings, probe_cameras=False)
    qtbot.addWidget(window)
    window.resize(1280, 720)
    window.show()
    qtbot.waitExposed(window)
    return window


def test_main_window_at_1280x720_shows_rows_pictures_and_charts_that_fit(qtbot, tmp_path):
    """A laptop screen: the events table shows several rows, the displacement pictures are not thumbnails,
    a picture opens large on double-click, and no legend box sits inside the spotting chart."""
    from PySide6.QtWidgets import QApplication

    from app.displacement_view import ENLARGED_PX
    from app.theme import apply_theme

    apply_theme(QApplication.instance())
    window = laptop_window(qtbot, tmp_path)
    events = [smile_event(i) for i in range(1, 4)]
    window._on_events(events)
    window.displacement.show_event(events[0])
    qtbot.wait(50)
    table = window.table
    assert table.viewport().height() / table.rowHeight(0) >= 5
    assert window.displacement.map_tile.image_side() >= 110
    dialog = window.displacement.map_tile.show_enlarged()
    qtbot.addWidget(dialog)
    assert dialog.isVisible() and dialog.findChild(QLabel).pixmap().width() == ENLARGED_PX
    assert window.score_chart.widget.getPlotItem().legend is None
    assert window.score_chart.widget.getAxis("bottom").autoSIPrefix is False


def test_a_coder_accepts_rejects_relabels_and_moves_events_and_the_review_round_trips(qtbot, tmp_path):
    settings = AppSettings.load(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    window = MainWindow(settings, probe_cameras=False)
    qtbot.addWidget(window)
    window.show()
    events = [smile_event(1), smile_event(2), smile_event(3)]
    window._on_events(events)
    model = window.events_model
    window.table.selectRow(0)
    window.accept_action.trigger()
    window.table.selectRow(1)
    window.reject_action.trigger()
    assert model.setData(model.index(2, 6), "surprise") and model.setData(model.index(2, 3), "40")
    assert not model.setData(model.index(2, 3), "90")  # an apex after the offset is refused, with a message
    assert "onset <= apex <= offset" in window.banner.text()
    assert [model.data(model.index(r, 8)) for r in range(3)] == ["✓ accepted", "✗ rejected", ""]
    assert model.data(model.index(2, 6)) == "surprise" and model.data(model.index(2, 3)) == "40"
    assert model.data(model.index(2, 6), Qt.ItemDataRole.FontRole).italic()
    assert [e.label for e in events] == ["positive"] * 3 and events[2].apex_index == 36  # machine results kept
    path = window.export_coding_table(tmp_path / "coding.csv")
    import csv

    machine = list(csv.DictReader(open(window.export_events_csv(tmp_path / "events.csv"))))
    assert path is not None and [r["label"] for r in machine] == ["positive"] * 3
    window.table.selectRow(0)
    window.reset_review_action.trigger()
    window.events_model.replace_review({})
    assert window.import_coding_table(path) == 3
    assert [model.data(model.index(r, 8)) for r in range(3)] == ["✓ accepted", "✗ rejected", ""]
    assert model.data(model.index(2, 6)) == "surprise" and model.data(model.index(2, 3)) == "40"
    bad = tmp_path / "bad.csv"
    bad.write_text("not,a,table\n")
    assert window.import_coding_table(bad) is None and "not a coding table" in window.banner.text()


def test_the_old_default_factor_stored_with_score_2_gives_way_to_the_current_default(tmp_path):
    """Settings saved before the threshold default moved from 5 to 4 hold 5 as if the user chose it; once
    loaded by this version the spotter runs at the current default, and what the user saves then stays."""
    store = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    store.setValue("threshold", 5.0)
    store.setValue("spotter_score", 2)
    assert SpotterConfig.threshold_k == 4.0
    assert AppSettings.load(store).threshold == 4.0
    settings = AppSettings.load(store)
    settings.threshold = 5.0
    settings.save()
    assert AppSettings.load(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)).threshold == 5.0


def test_the_events_table_columns_fit_what_they_show(qtbot, tmp_path):
    """Kind and review are wider in their cells than in their headers: once events arrive, or a coder
    accepts one, the column grows so 'macro' and '✓ accepted' are not cut to 'm…'."""
    window = laptop_window(qtbot, tmp_path)
    events = [smile_event(1), smile_event(2)]
    events[1].kind = "macro"
    for event in events:  # as analysis delivers them, one at a time
        window._on_events([event])
        qtbot.wait(20)
    header, table = window.table.horizontalHeader(), window.table
    for column in (5, 7):
        assert header.sectionSize(column) >= table.sizeHintForColumn(column), window.events_model.COLUMNS[column]
    window.table.selectRow(0)
    window.accept_action.trigger()
    qtbot.wait(50)
    assert header.sectionSize(8) >= table.sizeHintForColumn(8)


def test_the_charts_fit_their_panes_at_1280x720_with_the_ground_truth_loaded(qtbot, tmp_path):
    """The spotting chart's title is its legend, and the AU-region chart's tick labels are long: at a laptop's
    1280x720 they once widened their plots past the panes, cutting off the chart's right end (the time axis,
    the title's last entry, the bars' scale)."""
    window = laptop_window(qtbot, tmp_path)
    window._on_events([smile_event(1)])
    window.displacement.show_event(smile_event(1))
    window.score_chart.set_truth([(1.0, 1.5, "positive")])
    regions = window.displacement.regions_plot
    qtbot.waitUntil(lambda: regions.getAxis("left").width() > 80, timeout=5000)  # tick labels measured
    qtbot.wait(100)
    for plot in (window.score_chart.widget, regions):
        item = plot.getPlotItem()
        assert item.geometry().width() <= plot.width() + 0.5
        assert item.titleLabel.item.boundingRect().width() <= item.vb.width() + 0.5
    assert "ground truth" in window.score_chart.widget.getPlotItem().titleLabel.text
    assert window.displacement.map_tile.image_side() >= 110


def test_head_turns_stored_while_they_were_left_in_by_default_give_way_to_taking_them_out(tmp_path):
    """The last version stored head_turns False for everyone who saved settings, while leaving turns in was the
    default: that False was nobody's choice, and this version takes turns out. What the user saves now stays."""
    store = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    store.setValue("head_turns", False)
    settings = AppSettings.load(store)
    assert settings.take_out_head_turns and engine_config(settings, 30.0).spotter.head_turn
    settings.take_out_head_turns = False
    settings.save()
    again = AppSettings.load(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    assert not again.take_out_head_turns and not engine_config(again, 30.0).spotter.head_turn
    assert not again.qsettings.contains("head_turns")
