# The runs behind this folder (twentieth stop), from the repository root, two at a time on 2 vCPUs.
# FaceConfig overrides go through bench_cfg.py: bench_cfg.py key=value ... -- <main.py arguments>.
R=results/labelled_bench/tracker_rerun_twentieth_stop
bench() { out=$1; shift; OMP_NUM_THREADS=1 PYTHONPATH=. python $R/bench_cfg.py "$@" > $R/$out 2>&1; }
seven() {  # seven unseen seeds of the fourteenth stop; $1 = folder, the rest = FaceConfig overrides
  d=$1; shift
  bench $d/faces10_seed5300_30fps.txt "$@" -- synth bench --labelled --codec both --faces 10 --sequences 10 --seed 5300
  bench $d/faces5_seed6100_30fps.txt "$@" -- synth bench --labelled --codec both --faces 5 --seed 6100
  bench $d/faces5_seed6700_20fps.txt "$@" -- synth bench --labelled --codec both --faces 5 --seed 6700 --fps 20
  bench $d/faces5_seed7300_30fps.txt "$@" -- synth bench --labelled --codec both --faces 5 --seed 7300
  bench $d/faces5_seed8500_60fps.txt "$@" -- synth bench --labelled --codec both --faces 5 --seed 8500 --fps 60
  bench $d/faces10_seed7900_25fps.txt "$@" -- synth bench --labelled --codec both --faces 10 --sequences 10 --seed 7900 --fps 25
  bench $d/faces10_seed9100_30fps.txt "$@" -- synth bench --labelled --codec both --faces 10 --sequences 10 --seed 9100
}
seven seven_seeds_before_prediction flow_prediction=0
seven seven_seeds_two_levels flow_prediction=0 flow_levels=2
seven seven_seeds_shipped
for s in 11300 900; do
  bench flow_levels/L1_seed$s.txt flow_prediction=0 -- synth bench --labelled --codec both --faces 5 --seed $s
  bench flow_levels/L2_seed$s.txt flow_prediction=0 flow_levels=2 -- synth bench --labelled --codec both --faces 5 --seed $s
  bench flow_levels/L1_predicted_seed$s.txt -- synth bench --labelled --codec both --faces 5 --seed $s
done
for lv in 1 2 3; do bench flow_levels/tracking_L$lv.txt flow_prediction=0 flow_levels=$lv -- bench tracking; done
PYTHONPATH=. python $R/flow_levels/shake_levels.py > $R/flow_levels/shake_levels.txt
PYTHONPATH=. python $R/flow_levels/dropped_frames.py > $R/flow_levels/dropped_frames.txt
# the encodings: before the prediction (flow_prediction=0) and as shipped
enc() { d=$1; out=$2; shift 2; bench $d/$out.txt "${over[@]}" -- synth bench --labelled --faces 5 "$@"; }
for d in encodings_before_prediction encodings_shipped; do
  over=(); [ $d = encodings_before_prediction ] && over=(flow_prediction=0)
  for s in 11300 900; do
    enc $d crf28_seed$s --seed $s --codec h264 --crf 28
    enc $d noise3_seed$s --seed $s --codec mp4v,h264 --noise 3
    enc $d scale05_seed$s --seed $s --codec mp4v,h264 --face-scale 0.5
  done
  enc $d scale05_seed100 --seed 100 --codec mp4v,h264 --face-scale 0.5
  enc $d scale035_seed11300 --seed 11300 --codec mp4v,h264 --face-scale 0.35
done
# 24 composite faces never used (the nineteenth stop's recorder and scorer), and the alignment's jitter
O=results/labelled_bench/other_faces_nineteenth_stop
for c in mp4v h264; do REC_DIR=/tmp/other PYTHONPATH=. python $O/record_other_faces.py 30000 24 $c; done
PYTHONPATH=. python $O/score_other_faces.py '/tmp/other/other_*.npz' > $R/other_faces/other_faces_shipped.txt
PYTHONPATH=. python $O/tracker_jitter.py samm/010,samm/013,smic/s04,astronaut,casme2/sub03 "" "flow_prediction=0" > $R/other_faces/tracker_jitter.txt
python $R/pool.py $R/seven_seeds_shipped/*.txt
