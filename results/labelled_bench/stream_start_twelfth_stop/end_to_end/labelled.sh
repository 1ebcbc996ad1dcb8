#!/usr/bin/env bash
# H.264/HEVC/VP8/AV1 need ffmpeg on the PATH (here: the ffmpeg 9.0.2 static build of the imageio-ffmpeg 0.8.1 wheel)
cd "$(git rev-parse --show-toplevel)"
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
OUT=${OUT:-out/stream_start}; mkdir -p $OUT/final $OUT/enc
.venv/bin/python main.py synth bench --labelled --faces 5 --codec both > $OUT/final/labelled_seed100.txt 2>&1
.venv/bin/python main.py synth bench --labelled --faces 5 --codec both --seed 900 > $OUT/final/labelled_seed900.txt 2>&1
# thirteenth stop, with the mirror-averaged live file (labels) and the same spotter
.venv/bin/python main.py synth bench --labelled --faces 5 --codec both --seed 1700 --fps 15 > $OUT/final/labelled_seed1700_15fps.txt 2>&1
.venv/bin/python main.py synth bench --labelled --faces 5 --codec both --seed 1500 --fps 25 > $OUT/final/labelled_seed1500_25fps.txt 2>&1
