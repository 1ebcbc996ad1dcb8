"""Raw dataset readers against the real coding tables, with faked frame folders in temporary dirs."""

import csv
import warnings
from collections import Counter

import cv2
import numpy as np
import pytest

from frl_core.data import DatasetError, DatasetWarning
from frl_core.data.casme2 import (CASME2_5CLASS, bob_db_frame_ranges, check_against_frame_ranges, read_casme2,
                                  read_casme2_bob_db)
from frl_core.data.casme3 import CASME3_4CLASS, label4, read_casme3
from frl_core.data.raw import megc_style_flow
from frl_core.training.samples import load_raw_protocol
from frl_core.data.samm import SAMM_5CLASS, read_samm
from frl_core.data.smic import read_smic


@pytest.fixture(scope="module")
def ann(data_root):
    return data_root / "annotations"


def _quiet(fn, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DatasetWarning)
        return fn(*args)


def _composite(data_root, dataset):
    with open(data_root / "megc2019" / "labels.csv", newline="") as fh:
        return {(r["subject"], r["clip"]): int(r["label"]) for r in csv.DictReader(fh) if r["dataset"] == dataset}


def _fake_frames(folder, numbers, name="img{}.jpg"):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(len(numbers))
    for n in numbers:
        cv2.imwrite(str(folder / name.format(n)), rng.integers(0, 255, (64, 64), dtype=np.uint8))


def test_casme2_table_counts_and_megc2019_mapping(ann, data_root):
    clips = read_casme2(ann / "casme2_coding_20140508.xlsx")
    assert len(clips) == 255
    assert Counter(c.label3 for c in clips) == {None: 99, 0: 99, 1: 32, 2: 25}  # 99 'others' dropped
    five = Counter(CASME2_5CLASS[c.label5] for c in clips if c.label5 is not None)
    assert five == {"others": 99, "disgust": 63, "happiness": 32, "repression": 27, "surprise": 25}
    # Every CASME II clip of the composite is in the table with the same 3-class label; the composite also
    # leaves out the 9 fear/sadness clips and 2 disgust clips that the mapping keeps.
    ours = {(c.subject, c.clip): c.label3 for c in clips}
    comp = _composite(data_root, "casme2")
    assert all(ours[k] == v for k, v in comp.items())
    extra = {k for k, v in ours.items() if v is not None} - set(comp)
    assert len(extra) == 11 and {ours[k] for k in extra} == {0}


def test_casme2_bob_database_quirks_are_warned_not_fatal(ann):
    with pytest.warns(DatasetWarning, match="apex frame unknown") as record:
        clips = read_casme2_bob_db(ann / "casme2_bob_db.sql3")
    assert len(clips) == 257
    unknown = sorted(str(w.message).split(":")[0] for w in record if "apex frame unknown" in str(w.message))
    assert unknown == ["casme2 sub04/EP12_01f", "casme2 sub09/EP02_02f", "casme2 sub24/EP02_07"]
    by_key = {(c.subject, c.clip): c for c in clips}
    c = by_key[("sub09", "EP02_02f")]
    assert c.onset < c.apex < c.offset
    with pytest.warns(DatasetWarning, match="outside the folder's frames"):
        outside = check_against_frame_ranges(clips, bob_db_frame_ranges(ann / "casme2_bob_db.sql3"))
    assert {(c.subject, c.clip) for c in outside} >= {("sub12", "EP09_02"), ("sub07", "EP06_01")}


def test_casme2_with_faked_frame_folders(ann, tmp_path):
    _fake_frames(tmp_path / "sub01" / "EP02_01f", range(40, 90))  # coded 46/59/86: all present
    _fake_frames(tmp_path / "sub01" / "EP19_05f", range(1, 101))  # coded 396/416/446: outside the folder
    with pytest.warns(DatasetWarning) as record:
        clips = read_casme2(ann / "casme2_coding_20140508.xlsx", tmp_path)
    messages = [str(w.message) for w in record]
    assert len(clips) == 2
    assert any("sub01/EP19_05f" in m and "nearest" in m for m in messages)
    assert any("sub02/EP01_11f" in m and "folder not found" in m for m in messages)
    by = {c.clip: c for c in clips}
    assert (by["EP02_01f"].onset, by["EP02_01f"].apex) == (46, 59)
    assert by["EP19_05f"].onset == by["EP19_05f"].apex == 100


def test_casme2_slash_apex_in_an_xlsx(tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame", "Action Units", "Estimated Emotion"])
    ws.append(["04", "EP12_01f", 261, "/", 321, "4+7", "disgust"])
    ws.append(["05", "EP01_01", "/", 40, 60, "12", "happiness"])
    path = tmp_path / "coding.xlsx"
    wb.save(path)
    with pytest.warns(DatasetWarning) as record:
        clips = read_casme2(path)
    assert [(c.subject, c.apex) for c in clips] == [("sub04", 291)]
    assert any("no onset" in str(w.message) for w in record)


def test_samm_title_rows_counts_and_mapping(ann, data_root):
    with pytest.warns(DatasetWarning) as record:
        clips = read_samm(ann / "samm_micro_facs_codes_v2.xlsx")
    clamped = sorted(str(w.message).split(":")[0] for w in record)
    assert clamped == ["samm 028/028_4_1", "samm 032/032_3_1"]  # apex after the offset in the table
    assert len(clips) == 159
    assert clips[0].subject == "006" and clips[0].clip == "006_1_2"
    assert Counter(c.label3 for c in clips) == {0: 92, None: 26, 1: 26, 2: 15}
    five = Counter(SAMM_5CLASS[c.label5] for c in clips if c.label5 is not None)
    assert five == {"anger": 57, "happiness": 26, "other": 26, "surprise": 15, "contempt": 12}
    ours = {(c.subject, c.clip): c.label3 for c in clips}
    comp = _composite(data_root, "samm")
    assert {k for k, v in ours.items() if v is not None} == set(comp)
    assert all(ours[k] == v for k, v in comp.items())


def test_samm_with_faked_frames(ann, tmp_path):
    _fake_frames(tmp_path / "006" / "006_1_2", range(5550, 5640), name="006_{:05d}.jpg")
    clips = _quiet(read_samm, ann / "samm_micro_facs_codes_v2.xlsx", tmp_path)
    assert [(c.clip, c.onset, c.apex, c.offset) for c in clips] == [("006_1_2", 5562, 5588, 5632)]


def test_smic_counts_missing_offsets_and_frames(ann, data_root, tmp_path):
    with pytest.warns(DatasetWarning, match="offset frame unknown") as record:
        clips = read_smic(ann / "smic_apex.xlsx")
    assert len(clips) == 164 and len({c.subject for c in clips}) == 16
    assert Counter(c.label3 for c in clips) == {0: 70, 1: 51, 2: 43}
    assert sum("offset frame unknown" in str(w.message) for w in record) == 7
    comp = _composite(data_root, "smic")
    assert {c.subject for c in clips} == {s for s, _ in comp}
    _fake_frames(tmp_path / "HS_long" / "SMIC_HS_E" / "s20" / "s20_ne_01", range(17581030, 17581060),
                 name="image{}.jpg")
    found = _quiet(read_smic, ann / "smic_apex.xlsx", tmp_path)
    assert [(c.clip, c.apex) for c in found] == [("s20_ne_01", 17581046)]


def test_casme3_part_a_counts(ann):
    clips = _quiet(read_casme3, ann / "casme3_part_a.xlsx")
    assert len(clips) == 860
    assert Counter(c.label3 for c in clips) == {0: 457, 2: 187, None: 161, 1: 55}
    assert "Others" not in {c.emotion for c in clips}  # capitalised variant normalised
    assert Counter(CASME3_4CLASS[label4(c)] for c in clips)["others"] == 161


def test_unreadable_table_is_a_clear_error(tmp_path):
    bad = tmp_path / "x.xlsx"
    bad.write_text("not a workbook")
    with pytest.raises(DatasetError, match="cannot read the coding table"):
        read_samm(bad)
    with pytest.raises(DatasetError, match="not found"):
        read_casme2(tmp_path / "missing.xlsx")


def test_megc_style_flow_sees_a_shift():
    rng = np.random.default_rng(0)
    onset = cv2.GaussianBlur(rng.integers(0, 255, (112, 112), dtype=np.uint8), (7, 7), 2)
    apex = np.roll(onset, 2, axis=1)
    flow = megc_style_flow(onset, apex)
    assert flow.shape == (28, 28, 3) and flow.dtype == np.uint8
    assert flow[..., 2].min() == 0 and flow[..., 2].max() == 255


@pytest.mark.slow
def test_raw_protocol_loads_real_onset_and_apex(data_root, tmp_path):
    _fake_frames(tmp_path / "sub01" / "EP02_01f", range(40, 90))
    _fake_frames(tmp_path / "sub02" / "EP01_11f", range(40, 100))
    samples = _quiet(load_raw_protocol, "casme2-5class-loso", data_root, tmp_path, 32)
    assert len(samples) == 2 and not samples.semi_synthetic
    assert samples.onsets.shape == (2, 32, 32) and samples.flows.shape == (2, 28, 28, 3)
    assert [samples.class_names[i] for i in samples.labels] == ["happiness", "repression"]
