#!/usr/bin/env bash
# H.264/HEVC/VP8/AV1 need ffmpeg on the PATH (here: the ffmpeg 9.0.2 static build of the imageio-ffmpeg 0.8.1 wheel)
cd "$(git rev-parse --show-toplevel)"
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
OUT=${OUT:-out/stream_start}; mkdir -p $OUT/final $OUT/enc
D=assets/demo/demo.mp4; E=$OUT/enc
.venv/bin/python main.py analyze $D --truth assets/demo/demo_ground_truth.json --out $OUT/demo_out > $OUT/final/demo.txt 2>&1
ffmpeg -loglevel error -y -i $D -c:v libx265 $E/hevc.mp4
ffmpeg -loglevel error -y -i $D -c:v libvpx -b:v 1M $E/vp8.webm
ffmpeg -loglevel error -y -i $D -c:v libx264 -crf 32 $E/crf32.mp4
ffmpeg -loglevel error -y -i $D -c:v mjpeg -q:v 5 $E/mjpeg.avi
ffmpeg -loglevel error -y -i $D -r 24 -c:v libx264 $E/fps24.mp4
ffmpeg -loglevel error -y -i $D -c:v libaom-av1 -crf 35 -cpu-used 8 $E/av1.mkv
for f in $E/*; do echo "== $f"; .venv/bin/python main.py analyze $f --truth assets/demo/demo_ground_truth.json --out $OUT/enc_out/$(basename $f) 2>&1 | tail -25; done > $OUT/final/encodings.txt
.venv/bin/python main.py synth bench > $OUT/final/clean_sets.txt 2>&1
.venv/bin/python main.py synth bench --fps 100 --seed 500 >> $OUT/final/clean_sets.txt 2>&1
for flags in "--macro 2 --seed 200" "--seed 300" "--macro 1 --seed 400"; do
    .venv/bin/python main.py synth bench $flags
done > $OUT/final/clean_sets2.txt 2>&1
# after the --truth frame-rate fix: the 24 fps file against the 30 fps truth, mapped by time
.venv/bin/python main.py analyze $E/fps24.mp4 --truth assets/demo/demo_ground_truth.json --out $OUT/enc_out/fps24_mapped \
    --no-progress > $OUT/final/fps24_mapped.txt 2>&1
